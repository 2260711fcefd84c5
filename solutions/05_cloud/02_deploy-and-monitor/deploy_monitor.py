"""Deploy a registered model to a SageMaker-style endpoint, then watch it: drift, metrics, alarms.

Every function that talks to AWS gets ``conn``: the keyword arguments for a boto3 client
(``endpoint_url``, ``region_name``, ``aws_access_key_id``, ``aws_secret_access_key``). Make
clients with ``boto3.client("sagemaker", **conn)`` (or "s3", "cloudwatch"); never read
credentials from anywhere else.
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import numpy as np
import pandas as pd
from botocore.exceptions import ClientError
from scipy.stats import ks_2samp

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


def _check_request(conn: dict[str, str], request: dict[str, Any]) -> None:
    """Raise ValueError for anything that must never reach SageMaker."""
    if request["instance_type"] not in ALLOWED_INSTANCE_TYPES:
        raise ValueError(f"instance type {request['instance_type']!r} is not allowed; use one "
                         f"of {', '.join(ALLOWED_INSTANCE_TYPES)}")
    count = request["instance_count"]
    if type(count) is not int or count < 1:
        raise ValueError(f"instance_count must be a whole number >= 1, not {count!r}")
    tags = request["tags"]
    missing = [key for key in REQUIRED_TAGS if not str(tags.get(key, "")).strip()]
    if missing:
        raise ValueError(f"required tags missing or empty: {', '.join(missing)}")
    if not VERSION_PATTERN.match(request["version"]):
        raise ValueError(f"version {request['version']!r} is not MAJOR.MINOR.PATCH")
    key = f"models/{request['model_name']}/{request['version']}/model.bin"
    try:
        boto3.client("s3", **conn).head_object(Bucket=request["registry_bucket"], Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            raise ValueError(f"{request['model_name']} {request['version']} is not in the "
                             "registry") from None
        raise


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
    _check_request(conn, request)
    sm = boto3.client("sagemaker", **conn)
    endpoint = request["endpoint_name"]
    # SageMaker names allow letters, digits and hyphens only: 1.2.0 becomes 1-2-0.
    name = f"{endpoint}-{request['version'].replace('.', '-')}"
    tags = [{"Key": k, "Value": str(v)} for k, v in request["tags"].items()]
    tags.append({"Key": "model-version", "Value": request["version"]})
    model = sm.create_model(
        ModelName=name, ExecutionRoleArn=request["role_arn"], Tags=tags,
        PrimaryContainer={"Image": request["image_uri"], "ModelDataUrl": artifact_url(
            request["registry_bucket"], request["model_name"], request["version"])})
    config = sm.create_endpoint_config(
        EndpointConfigName=name, Tags=tags,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name,
                             "InstanceType": request["instance_type"],
                             "InitialInstanceCount": request["instance_count"],
                             "InitialVariantWeight": 1.0}])
    created = sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=name, Tags=tags)
    return {"model_arn": model["ModelArn"], "endpoint_config_arn": config["EndpointConfigArn"],
            "endpoint_arn": created["EndpointArn"]}


def psi(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """Task 3 (`psi`): the population stability index of ``current`` against ``reference``.

    Bins: the ``bins``-quantiles of the reference (``np.quantile(reference, np.linspace(0, 1,
    bins + 1))``, inner edges only, so the outer bins are open-ended); a value equal to an edge
    goes to the bin above it (``np.searchsorted(edges, x, side="right")``). p and q are the
    shares of reference and current values per bin, each floored at ``PSI_FLOOR``.
    PSI = sum((q - p) * ln(q / p)).
    """
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    edges = np.quantile(reference, np.linspace(0.0, 1.0, bins + 1))[1:-1]
    p = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins)
    q = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins)
    p = np.maximum(p / len(reference), PSI_FLOOR)
    q = np.maximum(q / len(current), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def drift_report(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Task 4 (`drift`): per column (features and the prediction), how far current moved.

    ``{column: {"psi": float, "ks_statistic": float, "ks_pvalue": float, "drift": bool}}``
    with the KS test from ``scipy.stats.ks_2samp(reference, current)`` and
    ``drift = psi > PSI_THRESHOLD or ks_pvalue < KS_ALPHA``.
    """
    report = {}
    for column in reference.columns:
        ref = reference[column].to_numpy(dtype=float)
        cur = current[column].to_numpy(dtype=float)
        value = psi(ref, cur)
        ks = ks_2samp(ref, cur)
        report[str(column)] = {"psi": value, "ks_statistic": float(ks.statistic),
                               "ks_pvalue": float(ks.pvalue),
                               "drift": bool(value > PSI_THRESHOLD or ks.pvalue < KS_ALPHA)}
    return report


def publish_metrics(conn: dict[str, str], endpoint_name: str, log: pd.DataFrame,
                    drift: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Task 5 (`metrics`): publish one datapoint per metric to CloudWatch; return the values.

    In namespace ``NAMESPACE``, each with the single dimension ``EndpointName=endpoint_name``:
    ``Invocations`` (rows of the log, Unit "Count"), ``ErrorRate`` (percent, 0-100, of rows
    with a status_code of 500 or more, Unit "Percent"), ``LatencyP95`` (``np.percentile`` of
    latency_ms at 95, Unit "Milliseconds") and ``MaxFeaturePSI`` (the largest psi in ``drift``,
    Unit "None").
    """
    values = {"Invocations": float(len(log)),
              "ErrorRate": float(100.0 * (log["status_code"] >= 500).mean()),
              "LatencyP95": float(np.percentile(log["latency_ms"], 95)),
              "MaxFeaturePSI": float(max(entry["psi"] for entry in drift.values()))}
    units = {"Invocations": "Count", "ErrorRate": "Percent", "LatencyP95": "Milliseconds",
             "MaxFeaturePSI": "None"}
    dimensions = [{"Name": "EndpointName", "Value": endpoint_name}]
    boto3.client("cloudwatch", **conn).put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[{"MetricName": name, "Dimensions": dimensions, "Value": value,
                     "Unit": units[name]} for name, value in values.items()])
    return values


def create_alarms(conn: dict[str, str], endpoint_name: str, topic_arn: str,
                  max_error_rate: float) -> list[str]:
    """Task 6 (`alarms`): two CloudWatch alarms that notify ``topic_arn``; return their names.

    ``<endpoint_name>-error-rate``: Average of ErrorRate over 300 s periods, above
    ``max_error_rate``. ``<endpoint_name>-drift``: Maximum of MaxFeaturePSI, above
    ``PSI_THRESHOLD``. Both watch the metric in ``NAMESPACE`` with dimension
    ``EndpointName=endpoint_name`` and use ``ComparisonOperator="GreaterThanThreshold"``.
    """
    cw = boto3.client("cloudwatch", **conn)
    dimensions = [{"Name": "EndpointName", "Value": endpoint_name}]
    alarms = [(f"{endpoint_name}-error-rate", "ErrorRate", "Average", max_error_rate, 3),
              (f"{endpoint_name}-drift", "MaxFeaturePSI", "Maximum", PSI_THRESHOLD, 1)]
    for name, metric, statistic, threshold, periods in alarms:
        cw.put_metric_alarm(
            AlarmName=name, Namespace=NAMESPACE, MetricName=metric, Dimensions=dimensions,
            Statistic=statistic, Period=300, EvaluationPeriods=periods, Threshold=threshold,
            ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
            AlarmActions=[topic_arn], ActionsEnabled=True)
    return [name for name, *_ in alarms]
