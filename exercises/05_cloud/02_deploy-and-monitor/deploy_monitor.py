"""Deploy a registered model to a SageMaker-style endpoint, then watch it: drift, metrics, alarms.

Every function that talks to AWS gets ``conn``: the keyword arguments for a boto3 client
(``endpoint_url``, ``region_name``, ``aws_access_key_id``, ``aws_secret_access_key``). Make
clients with ``boto3.client("sagemaker", **conn)`` (or "s3", "cloudwatch"); never read
credentials from anywhere else.
"""

from __future__ import annotations

# What the reference solution uses; delete what you do not need.
import re
from typing import Any

import boto3  # noqa: F401
import numpy as np
import pandas as pd
from botocore.exceptions import ClientError  # noqa: F401
from scipy.stats import ks_2samp  # noqa: F401

ALLOWED_INSTANCE_TYPES = ("ml.t2.medium", "ml.m5.large", "ml.m5.xlarge", "ml.c5.large",
                          "ml.c5.xlarge")
REQUIRED_TAGS = ("project", "owner", "cost-center")
NAMESPACE = "MLLab/Inference"
PSI_BINS = 10
PSI_FLOOR = 1e-4
PSI_THRESHOLD = 0.2
KS_ALPHA = 0.01
VERSION_PATTERN = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def artifact_url(bucket: str, model_name: str, version: str) -> str:
    """Where the registry (exercise s3-model-registry) keeps one version's artifact."""
    return f"s3://{bucket}/models/{model_name}/{version}/model.bin"


def deploy_model(conn: dict[str, str], request: dict[str, Any]) -> dict[str, str]:
    """Tasks 1 and 2 (`deploy`, `guardrails`): model -> endpoint configuration -> endpoint.

    ``request`` has endpoint_name, model_name, version, registry_bucket, image_uri, role_arn,
    instance_type, instance_count and tags (a dict). First refuse a bad request with
    ``ValueError``, before creating anything: an instance type outside
    ``ALLOWED_INSTANCE_TYPES``, an instance_count that is not a whole number >= 1, a missing or
    empty ``REQUIRED_TAGS`` tag, or a version whose artifact is not in the registry. Then create
    the model (its container's ModelDataUrl is the registry's artifact), an endpoint
    configuration with one variant ("AllTraffic"), and the endpoint, each tagged with the
    request's tags plus ``model-version``. Return
    ``{"model_arn": ..., "endpoint_config_arn": ..., "endpoint_arn": ...}``.
    """
    raise NotImplementedError


def psi(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """Task 3 (`psi`): the population stability index of ``current`` against ``reference``.

    Bins: the ``bins``-quantiles of the reference (``np.quantile(reference, np.linspace(0, 1,
    bins + 1))``, inner edges only, so the outer bins are open-ended); a value equal to an edge
    goes to the bin above it (``np.searchsorted(edges, x, side="right")``). p and q are the
    shares of reference and current values per bin, each floored at ``PSI_FLOOR``.
    PSI = sum((q - p) * ln(q / p)).
    """
    raise NotImplementedError


def drift_report(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Task 4 (`drift`): per column (features and the prediction), how far current moved.

    ``{column: {"psi": float, "ks_statistic": float, "ks_pvalue": float, "drift": bool}}``
    with the KS test from ``scipy.stats.ks_2samp(reference, current)`` and
    ``drift = psi > PSI_THRESHOLD or ks_pvalue < KS_ALPHA``.
    """
    raise NotImplementedError


def publish_metrics(conn: dict[str, str], endpoint_name: str, log: pd.DataFrame,
                    drift: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Task 5 (`metrics`): publish one datapoint per metric to CloudWatch; return the values.

    In namespace ``NAMESPACE``, each with the single dimension ``EndpointName=endpoint_name``:
    ``Invocations`` (rows of the log, Unit "Count"), ``ErrorRate`` (percent, 0-100, of rows
    with a status_code of 500 or more, Unit "Percent"), ``LatencyP95`` (``np.percentile`` of
    latency_ms at 95, Unit "Milliseconds") and ``MaxFeaturePSI`` (the largest psi in ``drift``,
    Unit "None").
    """
    raise NotImplementedError


def create_alarms(conn: dict[str, str], endpoint_name: str, topic_arn: str,
                  max_error_rate: float) -> list[str]:
    """Task 6 (`alarms`): two CloudWatch alarms that notify ``topic_arn``; return their names.

    ``<endpoint_name>-error-rate``: Average of ErrorRate over 300 s periods, above
    ``max_error_rate``. ``<endpoint_name>-drift``: Maximum of MaxFeaturePSI, above
    ``PSI_THRESHOLD``. Both watch the metric in ``NAMESPACE`` with dimension
    ``EndpointName=endpoint_name`` and use ``ComparisonOperator="GreaterThanThreshold"``.
    """
    raise NotImplementedError
