"""Trusted helpers for deploy-and-monitor: the emulator, seeded data and the grader's checks.

Everything here runs in the grader's process. The learner's functions receive a ``conn`` dict
(endpoint, region, dummy credentials) and plain values; deployments, metrics and alarms are
judged from the emulator's state, read with the grader's own boto3 client, and drift from the
grader's own PSI and KS computed on the same batches.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grader.engine import cloud_emulator

PREFIX = "models"
ARTIFACT_NAME = "model.bin"
ALLOWED_INSTANCE_TYPES = ("ml.t2.medium", "ml.m5.large", "ml.m5.xlarge", "ml.c5.large",
                          "ml.c5.xlarge")
REQUIRED_TAGS = ("project", "owner", "cost-center")
NAMESPACE = "MLLab/Inference"
PSI_BINS = 10
PSI_FLOOR = 1e-4
PSI_THRESHOLD = 0.2
KS_ALPHA = 0.01
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
FEATURES = ("age", "income", "tenure_months", "sessions_per_week")
COLUMNS = (*FEATURES, "prediction")

# -- the emulator and the grader's downloads (grader/engine/cloud_emulator.py) ---------------------

# Names the tests use as support.X: one emulator and one bounded download for both cloud
# exercises.
Emulator = cloud_emulator.Emulator
EmulatorError = cloud_emulator.EmulatorError
FetchRefused = cloud_emulator.FetchRefused
Fetched = cloud_emulator.Fetched
fetch = cloud_emulator.fetch
shared_emulator = cloud_emulator.shared_emulator
ADMIN_HEADER = cloud_emulator.ADMIN_HEADER
FETCH_SECONDS = cloud_emulator.FETCH_SECONDS
FETCH_BYTES = cloud_emulator.FETCH_BYTES
URL_CHARS = cloud_emulator.URL_CHARS


def warm_up(submission: Any, function: str,
            modules: tuple[str, ...] = ("boto3", "scipy.stats")) -> None:
    """Start the learner's worker while the emulator boots and the grader imports its libraries."""
    cloud_emulator.warm_up(submission, function, modules)


# -- the registry the deployment points at ---------------------------------------------------------


def artifact_key(name: str, version: str) -> str:
    """Where the registry keeps one version's artifact (the layout of s3-model-registry)."""
    return f"{PREFIX}/{name}/{version}/{ARTIFACT_NAME}"


def seed_artifact(aws: Emulator, region: str, bucket: str, name: str, version: str) -> str:
    """Put a (fake) artifact into the registry the way the registry exercise stores it."""
    key = artifact_key(name, version)
    aws.client("s3", region).put_object(Bucket=bucket, Key=key, Body=secrets.token_bytes(2048),
                                        ServerSideEncryption="AES256")
    return f"s3://{bucket}/{key}"


def make_request(aws: Emulator, region: str, bucket: str, rng: np.random.Generator,
                 model_name: str) -> dict[str, Any]:
    """A valid deployment request whose artifact is in the registry."""
    version = f"{rng.integers(1, 4)}.{rng.integers(0, 12)}.{rng.integers(0, 9)}"
    seed_artifact(aws, region, bucket, model_name, version)
    return {
        "endpoint_name": aws.name(f"{model_name}-ep"),
        "model_name": model_name,
        "version": version,
        "registry_bucket": bucket,
        "image_uri": f"123456789012.dkr.ecr.{region}.amazonaws.com/{model_name}-serving:"
                     f"{rng.integers(1, 30)}",
        "role_arn": f"arn:aws:iam::123456789012:role/sagemaker-{model_name}-{rng.integers(100)}",
        "instance_type": str(rng.choice(ALLOWED_INSTANCE_TYPES)),
        "instance_count": int(rng.integers(1, 4)),
        "tags": {"project": model_name, "owner": f"team-{rng.integers(1, 9)}",
                 "cost-center": f"cc-{rng.integers(1000, 9999)}", "environment": "staging"},
    }


def resource_names(aws: Emulator, region: str) -> dict[str, set[str]]:
    """Every SageMaker model, endpoint configuration and endpoint in the emulator."""
    sm = aws.client("sagemaker", region)
    found: dict[str, set[str]] = {}
    for kind, op, key, field in (("models", "list_models", "Models", "ModelName"),
                                 ("endpoint configs", "list_endpoint_configs", "EndpointConfigs",
                                  "EndpointConfigName"),
                                 ("endpoints", "list_endpoints", "Endpoints", "EndpointName")):
        names: set[str] = set()
        for page in sm.get_paginator(op).paginate():
            names |= {item[field] for item in page.get(key, [])}
        found[kind] = names
    return found


def _tags(sm: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn).get("Tags", [])}


def flawed(aws: Emulator, request: dict[str, Any], field: str, value: object) -> dict[str, Any]:
    """A copy of a valid request with one flaw and an endpoint name of its own.

    ``value`` "drop:<tag>" removes that tag; anything else replaces ``request[field]``.
    """
    bad = dict(request, endpoint_name=aws.name("refused"), tags=dict(request["tags"]))
    if isinstance(value, str) and value.startswith("drop:"):
        bad["tags"].pop(value[5:])
    elif field == "tags":
        assert isinstance(value, dict)
        bad["tags"].update(value)
    else:
        bad[field] = value
    return bad


def check_refused(submission: Any, aws: Emulator, region: str, deployed: tuple[Any, Any],
                  bad: dict[str, Any], described: str) -> None:
    """deploy_model(bad) must raise ValueError and create nothing (fails the test otherwise)."""
    from grader.testing import SubmissionRaised, expect

    _, report = deployed
    expect(not report["endpoint"], "deploy_model() must deploy a valid request before its "
                                   "guardrails can be checked: " + "; ".join(report["endpoint"]))
    before = resource_names(aws, region)
    try:
        submission.deploy_model(aws.conn(region), bad)
    except SubmissionRaised as exc:
        raised = exc.exc_type
    else:
        raised = ""
    after = resource_names(aws, region)
    made = [f"{kind}: {sorted(after[kind] - before[kind])}" for kind in after
            if after[kind] - before[kind]]
    expect(not made, f"deploy_model() with {described} created resources before refusing "
                     f"({'; '.join(made)}). Validate the whole request first, then create")
    expect(raised == "ValueError", f"deploy_model() with {described} "
                                   f"{'raised ' + raised if raised else 'returned normally'}; "
                                   "raise ValueError before calling SageMaker")


def deployment_report(aws: Emulator, region: str, request: dict[str, Any],
                      returned: object) -> dict[str, list[str]]:
    """Problems per part (endpoint, config, model, tags), following the endpoint's chain."""
    from botocore.exceptions import ClientError

    sm = aws.client("sagemaker", region)
    report: dict[str, list[str]] = {"endpoint": [], "config": [], "model": [], "tags": []}
    name = request["endpoint_name"]
    try:
        endpoint = sm.describe_endpoint(EndpointName=name)
    except ClientError:
        made = resource_names(aws, region)["endpoints"]
        missing = (f"there is no endpoint named {name!r} in the emulator after deploy_model() "
                   f"returned ({len(made)} endpoint(s) exist). Call create_endpoint with "
                   "EndpointName=request['endpoint_name']")
        return {part: [missing] for part in report}
    if endpoint.get("EndpointStatus") not in ("InService", "Creating"):
        report["endpoint"].append(f"the endpoint's status is {endpoint.get('EndpointStatus')}")
    if type(returned) is not dict or returned.get("endpoint_arn") != endpoint["EndpointArn"]:
        report["endpoint"].append("deploy_model() must return a dict whose 'endpoint_arn' is the "
                                  "new endpoint's ARN (and 'model_arn', 'endpoint_config_arn')")
    try:
        config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    except ClientError:
        report["config"].append("the endpoint's configuration does not exist")
        report["model"].append("no configuration, so no model to check")
        return report
    variants = config.get("ProductionVariants", [])
    if len(variants) != 1:
        report["config"].append(f"the configuration has {len(variants)} production variants, "
                                "not 1")
    variant = variants[0] if variants else {}
    if variant.get("InstanceType") != request["instance_type"]:
        report["config"].append(f"the variant runs on {variant.get('InstanceType')!r}, not on the "
                                "requested instance type")
    if variant.get("InitialInstanceCount") != request["instance_count"]:
        report["config"].append(f"the variant starts {variant.get('InitialInstanceCount')} "
                                f"instance(s), not the {request['instance_count']} requested")
    if not SAGEMAKER_NAME.match(config["EndpointConfigName"]):
        report["config"].append(f"{config['EndpointConfigName']!r} is not a valid SageMaker name "
                                "(letters, digits and hyphens, at most 63; no dots: write the "
                                "version 1.2.0 as 1-2-0). The emulator accepts it; AWS does not")
    try:
        model = sm.describe_model(ModelName=variant.get("ModelName", ""))
    except ClientError:
        report["model"].append(f"the variant names model {variant.get('ModelName')!r}, which "
                               "does not exist")
        model = None
    if model is not None:
        container = model.get("PrimaryContainer", {})
        key = artifact_key(request["model_name"], request["version"])
        url = f"s3://{request['registry_bucket']}/{key}"
        if container.get("ModelDataUrl") != url:
            report["model"].append(f"the model's ModelDataUrl is {container.get('ModelDataUrl')!r}"
                                   f", not the registry's artifact for version "
                                   f"{request['version']} (s3://<bucket>/models/<name>/"
                                   "<version>/model.bin)")
        if container.get("Image") != request["image_uri"]:
            report["model"].append("the model's container Image is not the requested image_uri")
        if model.get("ExecutionRoleArn") != request["role_arn"]:
            report["model"].append("the model's ExecutionRoleArn is not the requested role_arn")
        if not SAGEMAKER_NAME.match(model["ModelName"]):
            report["model"].append(f"{model['ModelName']!r} is not a valid SageMaker name "
                                   "(letters, digits and hyphens; no dots). The emulator "
                                   "accepts it; AWS does not")
    wanted = dict(request["tags"], **{"model-version": request["version"]})
    arns = {"endpoint": endpoint["EndpointArn"], "endpoint configuration": config[
        "EndpointConfigArn"]}
    if model is not None:
        arns["model"] = model["ModelArn"]
    for kind, arn in arns.items():
        tags = _tags(sm, arn)
        wrong = sorted(k for k, v in wanted.items() if tags.get(k) != v)
        if wrong:
            report["tags"].append(f"the {kind} lacks the tag(s) {wrong} (every resource carries "
                                  "the request's tags plus model-version)")
    return report


# -- drift -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batches:
    """A reference (training-time) batch and a current (production) batch."""

    reference: pd.DataFrame
    current: pd.DataFrame
    drifted: tuple[str, ...]  # the input features whose distribution was shifted


def _population(rng: np.random.Generator, n: int, shift: dict[str, float]) -> pd.DataFrame:
    age = np.clip(rng.normal(42.0 + shift.get("age", 0.0), 12.0, n), 18.0, 90.0)
    income = rng.lognormal(math.log(52_000) + shift.get("income", 0.0), 0.45, n)
    tenure = rng.gamma(2.0, 12.0 * (1.0 + shift.get("tenure_months", 0.0)), n)
    sessions = rng.gamma(3.0, 1.5, n) + shift.get("sessions_per_week", 0.0)
    logit = (-0.8 + 0.035 * (age - 42.0) - 0.9 * np.log(income / 52_000)
             - 0.03 * (tenure - 24.0) - 0.25 * (sessions - 4.5))
    prediction = 1.0 / (1.0 + np.exp(-logit))
    frame = pd.DataFrame({"age": age, "income": income, "tenure_months": tenure,
                          "sessions_per_week": sessions, "prediction": prediction})
    return frame.round(6)


def make_batches(seed: int) -> Batches:
    """Reference and current batches; one to three input features drift, clearly."""
    rng = np.random.default_rng(seed)
    drifted = tuple(str(f) for f in rng.choice(FEATURES, size=int(rng.integers(1, 4)),
                                               replace=False))
    sizes = {"age": rng.uniform(5.0, 9.0), "income": rng.uniform(0.25, 0.40),
             "tenure_months": -rng.uniform(0.30, 0.45), "sessions_per_week": rng.uniform(1.5, 2.5)}
    reference = _population(rng, int(rng.integers(1800, 2400)), {})
    current = _population(rng, int(rng.integers(1200, 1700)), {f: sizes[f] for f in drifted})
    return Batches(reference, current, drifted)


def make_log(seed: int) -> pd.DataFrame:
    """An inference log: one row per request, latency in ms and the HTTP status returned."""
    rng = np.random.default_rng(seed + 1_000_003)
    n = int(rng.integers(1200, 2000))
    latency = rng.lognormal(math.log(45.0), 0.35, n)
    slow = rng.random(n) < rng.uniform(0.02, 0.06)
    latency[slow] *= rng.uniform(4.0, 8.0, slow.sum())
    status = np.full(n, 200, dtype=np.int64)
    roll = rng.random(n)
    client_errors = roll < rng.uniform(0.02, 0.05)
    server_errors = (roll > 1 - rng.uniform(0.005, 0.04))
    status[client_errors] = rng.choice([400, 404, 422], client_errors.sum())
    status[server_errors] = rng.choice([500, 503], server_errors.sum())
    return pd.DataFrame({"latency_ms": latency.round(3), "status_code": status})


DATA_FILES = {"reference": "reference.csv", "current": "current.csv",
              "log": "inference_log.csv"}


def write_visible(data_dir: Path, seed: int = 0) -> None:
    """(Re)write the data files the learner sees: ``python -c 'import support;
    support.write_visible(Path("../data"))'`` from this folder."""
    batches = make_batches(seed)
    batches.reference.to_csv(data_dir / DATA_FILES["reference"], index=False)
    batches.current.to_csv(data_dir / DATA_FILES["current"], index=False)
    make_log(seed).to_csv(data_dir / DATA_FILES["log"], index=False)


def visible(exercise_dir: Path) -> tuple[Batches, pd.DataFrame]:
    """The learner-visible batches (seed 0) and inference log, read as the notebook reads them."""
    data = exercise_dir / "data"
    reference = pd.read_csv(data / DATA_FILES["reference"])
    current = pd.read_csv(data / DATA_FILES["current"])
    return Batches(reference, current, ()), pd.read_csv(data / DATA_FILES["log"])


def psi(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """The grader's PSI: reference-quantile bins, open outer bins, floored proportions."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    edges = np.quantile(reference, np.linspace(0.0, 1.0, bins + 1))[1:-1]
    p = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins)
    q = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins)
    p = np.maximum(p / len(reference), PSI_FLOOR)
    q = np.maximum(q / len(current), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def drift_report(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The grader's own per-column report, the yardstick for the learner's."""
    from scipy.stats import ks_2samp

    report = {}
    for column in reference.columns:
        value = psi(reference[column].to_numpy(), current[column].to_numpy())
        ks = ks_2samp(reference[column].to_numpy(), current[column].to_numpy())
        report[str(column)] = {"psi": value, "ks_statistic": float(ks.statistic),
                               "ks_pvalue": float(ks.pvalue),
                               "drift": bool(value > PSI_THRESHOLD or ks.pvalue < KS_ALPHA)}
    return report


def psi_close(got: object, expected: float) -> bool:
    """Equal within what a different but correct binning of ties could change."""
    return isinstance(got, (int, float)) and not isinstance(got, bool) and \
        math.isfinite(got) and abs(got - expected) <= max(1e-3, 0.01 * abs(expected))


def _ambiguous(entry: dict[str, Any]) -> bool:
    """A flag so close to a threshold that a correct implementation could land either side."""
    near_psi = abs(entry["psi"] - PSI_THRESHOLD) <= 0.005
    near_ks = KS_ALPHA * 0.8 <= entry["ks_pvalue"] <= KS_ALPHA * 1.25
    clear_yes = entry["psi"] > PSI_THRESHOLD + 0.005 or entry["ks_pvalue"] < KS_ALPHA * 0.8
    return (near_psi or near_ks) and not clear_yes


def drift_problems(got: object, reference: pd.DataFrame, current: pd.DataFrame,
                   part: str) -> list[str]:
    """What is wrong with a learner's drift report: its shape, its numbers ("values") or its
    drift flags ("flags"), judged against the grader's report on the same batches."""
    expected = drift_report(reference, current)
    if type(got) is not dict:
        return [f"drift_report() returned {type(got).__name__}; return a dict keyed by column"]
    if set(got) != set(expected):
        return [f"drift_report() has entries for {sorted(map(str, got))}; it needs one per "
                f"column of the batches: {sorted(expected)} (the prediction is a column too)"]
    problems = []
    for column in expected:
        entry = got[column]
        if type(entry) is not dict or not {"psi", "ks_statistic", "ks_pvalue", "drift"} <= set(
                entry):
            return [f"drift_report()[{column!r}] must be a dict with 'psi', 'ks_statistic', "
                    "'ks_pvalue' and 'drift'"]
    numbers = [(got[c]["psi"], got[c]["ks_statistic"]) for c in expected]
    if all(isinstance(v, (int, float)) and abs(v) < 1e-9 for pair in numbers for v in pair) and \
            any(e["ks_statistic"] > 0 for e in expected.values()):
        return ["every column has PSI 0 and KS statistic 0, as if a batch were compared with "
                "itself: the report must compare the reference batch with the *current* one "
                "(check which arguments reach psi() and ks_2samp())"]
    for column, want in expected.items():
        entry = got[column]
        if part == "values":
            if not psi_close(entry["psi"], want["psi"]):
                problems.append(f"{column}: your psi {show(entry['psi'])} is not the PSI of "
                                "these batches (deciles of the reference, open outer bins, "
                                f"proportions floored at {PSI_FLOOR:g}, natural log)")
            if not isinstance(entry["ks_statistic"], (int, float)) or \
                    abs(entry["ks_statistic"] - want["ks_statistic"]) > 1e-6:
                problems.append(f"{column}: your ks_statistic {show(entry['ks_statistic'])} is "
                                "not the two-sample KS statistic of the reference and current "
                                "values (scipy.stats.ks_2samp)")
            pvalue = entry["ks_pvalue"]
            if not isinstance(pvalue, (int, float)) or not (
                    abs(pvalue - want["ks_pvalue"]) <= max(1e-4, 0.05 * want["ks_pvalue"])):
                problems.append(f"{column}: your ks_pvalue {show(pvalue)} is not the KS "
                                "test's p-value for these batches")
        elif type(entry["drift"]) is not bool:
            problems.append(f"{column}: 'drift' is {type(entry['drift']).__name__}, not bool")
        elif entry["drift"] != want["drift"] and not _ambiguous(want):
            said = "drift" if entry["drift"] else "no drift"
            problems.append(f"{column}: you report {said}, but by the rule (psi > "
                            f"{PSI_THRESHOLD} or ks_pvalue < {KS_ALPHA}) applied to the correct "
                            "numbers it is the other way round")
    return problems


def show(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else repr(value)[:40]


# -- inference metrics -----------------------------------------------------------------------------

METRIC_UNITS = {"Invocations": "Count", "ErrorRate": "Percent", "LatencyP95": "Milliseconds",
                "MaxFeaturePSI": "None"}


def inference_metrics(log: pd.DataFrame, drift: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The grader's own numbers for one inference log and drift report."""
    return {"Invocations": float(len(log)),
            "ErrorRate": float(100.0 * (log["status_code"] >= 500).mean()),
            "LatencyP95": float(np.percentile(log["latency_ms"], 95)),
            "MaxFeaturePSI": float(max(entry["psi"] for entry in drift.values()))}


def metrics_report(aws: Emulator, region: str, endpoint: str,
                   expected: dict[str, float]) -> dict[str, list[str]]:
    """Problems per metric: the datapoint the emulator holds under the endpoint's dimension."""
    cw = aws.client("cloudwatch", region)
    now = dt.datetime.now(dt.UTC)
    dims = [{"Name": "EndpointName", "Value": endpoint}]
    report: dict[str, list[str]] = {}
    for name, value in expected.items():
        problems = report.setdefault(name, [])
        stats = cw.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=name, Dimensions=dims,
            StartTime=now - dt.timedelta(days=14), EndTime=now + dt.timedelta(days=1),
            Period=86400, Statistics=["SampleCount", "Maximum", "Minimum"])
        points = stats.get("Datapoints", [])
        count = sum(p.get("SampleCount", 0) for p in points)
        if not points:
            problems.append(f"no {name} datapoint in namespace {NAMESPACE!r} with dimension "
                            f"EndpointName={endpoint!r} from the last two weeks. "
                            f"{_published(cw, endpoint)}")
            continue
        if count != 1:
            problems.append(f"{name} has {count:g} datapoints; publish one value per metric per "
                            "call (the number for the whole log)")
        got = max(p["Maximum"] for p in points)
        if not math.isclose(got, value, rel_tol=1e-6, abs_tol=1e-9):
            problems.append(f"the published {name} ({got:.6g}) is not {_meaning(name)} of this "
                            "log")
        units = {p.get("Unit") for p in points}
        if units != {METRIC_UNITS[name]}:
            problems.append(f"{name} is published with Unit {sorted(map(str, units))}, not "
                            f"{METRIC_UNITS[name]!r}")
    return report


def _meaning(name: str) -> str:
    return {"Invocations": "the number of requests (rows)",
            "ErrorRate": "the percentage (0-100) of requests answered with a 5xx status",
            "LatencyP95": "the 95th percentile of latency_ms (np.percentile, linear)",
            "MaxFeaturePSI": "the largest psi in the drift report"}[name]


def _published(cw: Any, endpoint: str) -> str:
    seen = []
    for page in cw.get_paginator("list_metrics").paginate():
        for metric in page.get("Metrics", []):
            dims = ",".join(f"{d['Name']}={d['Value']}" for d in metric.get("Dimensions", []))
            if endpoint in dims or not dims:
                seen.append(f"{metric.get('Namespace')}/{metric.get('MetricName')}[{dims}]")
    return (f"What the emulator holds for this endpoint: {', '.join(sorted(seen)[:8])}" if seen
            else "Nothing was published for this endpoint")


# -- alarms ----------------------------------------------------------------------------------------


def alarm_report(aws: Emulator, region: str, endpoint: str, topic_arn: str,
                 max_error_rate: float) -> dict[str, list[str]]:
    """Problems per part of the two alarms create_alarms() must make."""
    cw = aws.client("cloudwatch", region)
    names = {"error-rate": f"{endpoint}-error-rate", "drift": f"{endpoint}-drift"}
    found = {a["AlarmName"]: a for a in cw.describe_alarms(
        AlarmNames=list(names.values())).get("MetricAlarms", [])}
    wanted = {"error-rate": ("ErrorRate", "Average", max_error_rate),
              "drift": ("MaxFeaturePSI", "Maximum", PSI_THRESHOLD)}
    report: dict[str, list[str]] = {}
    for alarm_id, alarm_name in names.items():
        metric, statistic, threshold = wanted[alarm_id]
        watch, limit = (report.setdefault(f"{alarm_id}-metric", []),
                        report.setdefault(f"{alarm_id}-threshold", []))
        alarm = found.get(alarm_name)
        if alarm is None:
            missing = f"there is no alarm named {alarm_name!r}"
            watch.append(missing)
            limit.append(missing)
            continue
        if alarm.get("MetricName") != metric or alarm.get("Namespace") != NAMESPACE:
            watch.append(f"{alarm_name!r} watches {alarm.get('Namespace')}/"
                         f"{alarm.get('MetricName')}, not {NAMESPACE}/{metric}: an alarm on the "
                         "wrong metric stays quiet while the thing it is named for goes wrong")
        if alarm.get("Dimensions") != [{"Name": "EndpointName", "Value": endpoint}]:
            watch.append(f"{alarm_name!r} has dimensions {alarm.get('Dimensions')}, not exactly "
                         "EndpointName=<endpoint>: a metric is only found with the dimensions "
                         "it was published with")
        if alarm.get("Statistic") != statistic:
            limit.append(f"{alarm_name!r} uses the statistic {alarm.get('Statistic')!r}, not "
                         f"{statistic!r}")
        if alarm.get("Threshold") != threshold:
            meant = "max_error_rate you were given" if alarm_id == "error-rate" else \
                "PSI_THRESHOLD"
            limit.append(f"{alarm_name!r} has threshold {alarm.get('Threshold')}, not the "
                         f"{meant}")
        if alarm.get("ComparisonOperator") != "GreaterThanThreshold":
            limit.append(f"{alarm_name!r} compares with {alarm.get('ComparisonOperator')}; it must "
                         "fire when the value is above the threshold (GreaterThanThreshold)")
        if not alarm.get("Period") or alarm["Period"] % 60 or alarm.get(
                "EvaluationPeriods", 0) < 1:
            limit.append(f"{alarm_name!r} needs a Period that is a multiple of 60 s and at least "
                         "one evaluation period")
    actions = report.setdefault("actions", [])
    for alarm_name in names.values():
        alarm = found.get(alarm_name)
        if alarm is None:
            actions.append(f"there is no alarm named {alarm_name!r}")
        elif topic_arn not in alarm.get("AlarmActions", []) or not alarm.get("ActionsEnabled",
                                                                               True):
            actions.append(f"{alarm_name!r} does not notify the SNS topic you were given "
                           "(AlarmActions=[topic_arn])")
    return report
