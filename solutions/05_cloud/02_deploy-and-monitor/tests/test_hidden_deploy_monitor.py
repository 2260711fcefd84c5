"""Hidden tests for deploy-and-monitor: another deployment, more guardrails, hidden batches.

Requests, batches and logs come from this run's seed; the grader computes every expected
number itself, in its own process.
"""

import numpy as np
import pytest

from grader.testing import expect

REGION = "eu-central-1"


@pytest.fixture(scope="session")
def aws(support, request, submission):
    """This grading's emulator, shared with the public tests."""
    emulator = support.shared_emulator(request)
    support.warm_up(submission, "deploy_model")  # your worker starts while the emulator boots
    return emulator


@pytest.fixture(scope="module")
def hidden_deployed(submission, support, aws, grading_seed):
    bucket = aws.grader_bucket(REGION, "registry")
    request = support.make_request(aws, REGION, bucket, np.random.default_rng(grading_seed + 5),
                                   "fraud")
    returned = submission.deploy_model(aws.conn(REGION), request)
    return request, support.deployment_report(aws, REGION, request, returned)


# fails for: lazy-constants
@pytest.mark.task("deploy")
@pytest.mark.points(2)
def test_deploy_another_model(hidden_deployed):
    request, report = hidden_deployed
    problems = [f"{part}: {p}" for part, found in report.items() for p in found]
    expect(not problems, f"deploy_model() of another model ({request['model_name']} "
                         f"{request['version']}): {'; '.join(problems)}")


HIDDEN_FLAWS = {
    "empty-tag": ("tags", {"owner": " "}, "an 'owner' tag that is blank"),
    "fractional-count": ("instance_count", 1.5, "instance_count 1.5"),
}


# fails for: lazy-constants, tuned-to-visible-tests, no-guardrails, admin-api-cover-up
@pytest.mark.task("guardrails")
@pytest.mark.points(1)
@pytest.mark.parametrize("flaw", list(HIDDEN_FLAWS))
def test_deploy_model_refuses_more_bad_requests(submission, support, aws, hidden_deployed, flaw):
    field, value, described = HIDDEN_FLAWS[flaw]
    bad = support.flawed(aws, hidden_deployed[0], field, value)
    support.check_refused(submission, aws, REGION, hidden_deployed, bad, described)


# fails for: lazy-constants, tuned-to-visible-tests
@pytest.mark.task("psi")
@pytest.mark.points(1)
def test_psi_with_other_bins(submission, support, grading_seed):
    batches = support.make_batches(grading_seed + 9)
    problems = []
    for column in batches.reference.columns:
        ref, cur = batches.reference[column].to_numpy(), batches.current[column].to_numpy()
        got = submission.psi(ref, cur, 5)
        if not support.psi_close(got, support.psi(ref, cur, 5)):
            problems.append(f"{column}: {support.show(got)}")
    expect(not problems, f"psi(reference, current, bins=5) is not the PSI with 5 quantile bins "
                         f"for {', '.join(problems)}; use the bins argument")


# fails for: lazy-constants, drift-on-training-data-twice
@pytest.mark.task("drift")
@pytest.mark.points(1)
@pytest.mark.parametrize("k", [2, 3], ids=["hidden2", "hidden3"])
def test_drift_report_on_hidden_batches(submission, support, grading_seed, k):
    batches = support.make_batches(grading_seed + k)
    got = submission.drift_report(batches.reference, batches.current)
    problems = [p for part in ("values", "flags") for p in support.drift_problems(
        got, batches.reference, batches.current, part)]
    expect(not problems, f"drift_report() on hidden batches: {'; '.join(dict.fromkeys(problems))}")


# fails for: lazy-constants
@pytest.mark.task("metrics")
@pytest.mark.points(1)
def test_publish_metrics_for_a_hidden_log(submission, support, aws, grading_seed):
    batches = support.make_batches(grading_seed + 4)
    drift = support.drift_report(batches.reference, batches.current)
    log = support.make_log(grading_seed + 4)
    endpoint = aws.name("fraud-ep")
    submission.publish_metrics(aws.conn(REGION), endpoint, log, drift)
    report = support.metrics_report(aws, REGION, endpoint, support.inference_metrics(log, drift))
    problems = [p for found in report.values() for p in found]
    expect(not problems, f"publish_metrics() for a hidden log: {'; '.join(problems)}")


# fails for: lazy-constants, tuned-to-visible-tests, alarm-on-wrong-metric
@pytest.mark.task("alarms")
@pytest.mark.points(1)
def test_create_alarms_with_another_threshold(submission, support, aws):
    endpoint = aws.name("fraud-ep")
    topic = aws.client("sns", REGION).create_topic(Name=aws.name("oncall"))["TopicArn"]
    submission.create_alarms(aws.conn(REGION), endpoint, topic, 0.75)
    report = support.alarm_report(aws, REGION, endpoint, topic, 0.75)
    problems = [p for found in report.values() for p in found]
    expect(not problems, "create_alarms(conn, endpoint, topic_arn, max_error_rate=0.75): "
                         f"{'; '.join(dict.fromkeys(problems))}")
