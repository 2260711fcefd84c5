"""Public tests for deploy-and-monitor: your functions against the grader's own emulator.

A fresh moto server starts on 127.0.0.1 for each grading run; your functions receive its
address, a region and dummy credentials as ``conn``. The grader then reads what they made with
its own client (describe_endpoint -> describe_endpoint_config -> describe_model, tags, metric
datapoints, alarm definitions) and recomputes PSI and KS itself on the same batches.
"""

import numpy as np
import pytest

from grader.testing import expect

REGION = "eu-central-1"


@pytest.fixture(scope="session")
def aws(support, request, submission):
    """This grading's emulator (one per run, stopped when the run ends)."""
    emulator = support.shared_emulator(request)
    support.warm_up(submission, "deploy_model")  # your worker starts while the emulator boots
    return emulator


@pytest.fixture(scope="module")
def registry(aws):
    return aws.grader_bucket(REGION, "registry")


@pytest.fixture(scope="module")
def deployed(submission, support, aws, registry, grading_seed):
    request = support.make_request(aws, REGION, registry, np.random.default_rng(grading_seed),
                                   "churn")
    returned = submission.deploy_model(aws.conn(REGION), request)
    return request, support.deployment_report(aws, REGION, request, returned)


# fails for: lazy-constants
@pytest.mark.task("deploy")
@pytest.mark.points(1)
@pytest.mark.parametrize("part", ["endpoint", "config", "model", "tags"])
def test_deploy_model(deployed, part):
    request, report = deployed
    expect(not report[part], f"deploy_model(conn, <request for {request['model_name']} "
                             f"{request['version']} on {request['instance_count']} x "
                             f"{request['instance_type']}>) ({part}): {'; '.join(report[part])}")


FLAWS = {
    "instance-type": ("instance_type", "ml.p4d.24xlarge", "an instance type outside "
                      "ALLOWED_INSTANCE_TYPES (ml.p4d.24xlarge)"),
    "instance-count": ("instance_count", 0, "instance_count 0"),
    "missing-tag": ("tags", "drop:cost-center", "no 'cost-center' tag"),
    "missing-artifact": ("version", "9.9.9", "a version that is not in the registry (9.9.9)"),
}


# fails for: lazy-constants, no-guardrails, admin-api-cover-up
@pytest.mark.task("guardrails")
@pytest.mark.points(1)
@pytest.mark.parametrize("flaw", list(FLAWS))
def test_deploy_model_refuses_a_bad_request(submission, support, aws, deployed, flaw):
    field, value, described = FLAWS[flaw]
    bad = support.flawed(aws, deployed[0], field, value)
    support.check_refused(submission, aws, REGION, deployed, bad, described)


@pytest.fixture(scope="module")
def visible(support, exercise_dir):
    return support.visible(exercise_dir)


# fails for: lazy-constants
@pytest.mark.task("psi")
@pytest.mark.points(1)
def test_psi_on_the_visible_batches(submission, support, visible):
    batches, _ = visible
    problems = []
    for column in batches.reference.columns:
        ref, cur = batches.reference[column].to_numpy(), batches.current[column].to_numpy()
        got = submission.psi(ref, cur)
        if not support.psi_close(got, support.psi(ref, cur)):
            problems.append(f"{column}: {support.show(got)}")
    expect(not problems, f"psi(reference[col], current[col]) on the visible batches is not the "
                         f"PSI for {', '.join(problems)}. Bins are the deciles of the reference "
                         "(inner edges only, so values beyond its range land in the outer bins), "
                         "proportions are floored at 1e-4, and the log is natural")


# fails for: lazy-constants
@pytest.mark.task("psi")
@pytest.mark.points(1)
def test_psi_of_identical_and_out_of_range_batches(submission, support, grading_seed):
    rng = np.random.default_rng(grading_seed)
    same = rng.normal(0.0, 1.0, 1500)
    got = submission.psi(same, same.copy())
    expect(isinstance(got, float) and abs(got) < 1e-12,
           f"psi(x, x) returned {support.show(got)}; a batch compared with itself has PSI 0")
    reference = rng.normal(0.0, 1.0, 2000)
    current = rng.normal(3.0, 1.0, 1500)  # most values beyond the reference's largest
    got = submission.psi(reference, current)
    expect(support.psi_close(got, support.psi(reference, current)),
           f"psi() of a current batch that lies mostly beyond the reference's range returned "
           f"{support.show(got)}, which is not its PSI. Values above the last decile belong to "
           "the last bin (np.histogram with the reference's min and max as outer edges drops "
           "them)")


# fails for: lazy-constants, drift-on-training-data-twice
@pytest.mark.task("drift")
@pytest.mark.points(1)
@pytest.mark.parametrize("part", ["values", "flags"])
def test_drift_report_on_the_visible_batches(submission, support, visible, part):
    batches, _ = visible
    got = submission.drift_report(batches.reference, batches.current)
    problems = support.drift_problems(got, batches.reference, batches.current, part)
    expect(not problems, f"drift_report(reference, current) on the visible batches ({part}): "
                         f"{'; '.join(problems)}")


# fails for: lazy-constants, drift-on-training-data-twice
@pytest.mark.task("drift")
@pytest.mark.points(1)
def test_drift_report_on_fresh_batches(submission, support, grading_seed):
    batches = support.make_batches(grading_seed + 1)
    got = submission.drift_report(batches.reference, batches.current)
    problems = [p for part in ("values", "flags") for p in support.drift_problems(
        got, batches.reference, batches.current, part)]
    expect(not problems, f"drift_report() on fresh batches (another seed, other features "
                         f"drifting): {'; '.join(dict.fromkeys(problems))}")


@pytest.fixture(scope="module")
def published(submission, support, aws, visible):
    batches, log = visible
    drift = support.drift_report(batches.reference, batches.current)
    endpoint = aws.name("churn-ep")
    submission.publish_metrics(aws.conn(REGION), endpoint, log, drift)
    return support.metrics_report(aws, REGION, endpoint, support.inference_metrics(log, drift))


# fails for: lazy-constants
@pytest.mark.task("metrics")
@pytest.mark.points(1)
@pytest.mark.parametrize("metric", ["Invocations", "ErrorRate", "LatencyP95", "MaxFeaturePSI"])
def test_publish_metrics(published, metric):
    expect(not published[metric], f"publish_metrics(conn, endpoint, <visible log>, <drift "
                                  f"report>) ({metric}): {'; '.join(published[metric])}")


# An alarm on the wrong metric never fires, and one without the topic notifies nobody: the
# parts that depend on them count only when they are right (the README's severity rubric).
ALARM_NEEDS = {"error-rate-threshold": "error-rate-metric", "drift-threshold": "drift-metric"}


@pytest.fixture(scope="module")
def alarms(submission, support, aws):
    endpoint = aws.name("churn-ep")
    topic = aws.client("sns", REGION).create_topic(Name=aws.name("ml-alerts"))["TopicArn"]
    submission.create_alarms(aws.conn(REGION), endpoint, topic, 2.5)
    return support.alarm_report(aws, REGION, endpoint, topic, 2.5)


# fails for: lazy-constants, alarm-on-wrong-metric
@pytest.mark.task("alarms")
@pytest.mark.points(1)
@pytest.mark.parametrize("part", ["error-rate-metric", "error-rate-threshold", "drift-metric",
                                  "drift-threshold", "actions"])
def test_create_alarms(alarms, part):
    expect(not alarms[part], f"create_alarms(conn, endpoint, topic_arn, max_error_rate=2.5) "
                             f"({part}): {'; '.join(alarms[part])}")
    broken = [p for p in (ALARM_NEEDS.get(part), "actions") if p and p != part and alarms[p]]
    if broken:
        expect(False, f"not counted: create_alarms() made an alarm that can never page anyone "
                      f"({broken[0]} fails: {'; '.join(alarms[broken[0]])}), so its {part} does "
                      "not count either")
