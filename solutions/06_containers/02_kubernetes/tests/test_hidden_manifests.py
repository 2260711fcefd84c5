"""Hidden tests for the kubernetes exercise: rules the API server or the kubelet would enforce
later, and the manifests on the newest Kubernetes whose schemas are installed."""

import pytest

from grader.testing import expect


# fails for: lazy, requests-above-limits
@pytest.mark.requires("test_schema")
@pytest.mark.task("resources")
@pytest.mark.points(1)
def test_requests_do_not_exceed_limits(submission, support):
    docs = support.documents(submission, "deployment")
    findings = support.check_resources(docs) + support.check_requests_within_limits(docs)
    expect(not findings, support.report(findings, "a request is what the pod is guaranteed, a "
                                                  "limit the most it may use: request <= limit"))


# fails for: no-probes, tcp-probes
@pytest.mark.requires("test_schema")
@pytest.mark.task("probes")
@pytest.mark.points(1)
def test_probes_ask_the_apps_health_endpoint(submission, support):
    findings = support.check_probes_target_app(support.documents(submission, "deployment"))
    expect(not findings, support.report(findings, support.ADVICE["probe-targets-app"]))


# fails for: old-api-version
@pytest.mark.requires("test_schema")
@pytest.mark.task("schema")
@pytest.mark.points(1)
def test_still_valid_on_the_newest_kubernetes(submission, support):
    newest = support.versions()[-1]
    findings = []
    for key in ("deployment", "service", "hpa"):
        findings += support.file_schema_findings(
            support.manifest(submission, support.MANIFESTS[key]), key, newest)
    expect(not findings, support.report(findings, f"use APIs that Kubernetes {newest} still "
                                                  "serves (apps/v1, v1, autoscaling/v2)"))
