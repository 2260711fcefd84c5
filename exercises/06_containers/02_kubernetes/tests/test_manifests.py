"""Public tests for the kubernetes exercise: five warm-ups, then the app's own manifests.

Manifests are read as text and loaded with YAML's safe loader in the grader's process; schema
validation is offline, against Kubernetes 1.30's official schemas. Messages name the rule ID,
the file and line, the object and the path inside it.

Severity (the README's "What is graded"): a manifest the API server would reject (schema
errors, a selector that does not select its pods, requests above limits, ...) fails
test_schema, and every rule about the manifests requires it: nothing that depends on a
rejected object is graded, so the exercise cannot pass.
"""

import pytest

from grader.testing import expect

WARMUPS = [
    pytest.param("warmup-indentation", marks=pytest.mark.task("warmup-indentation"),
                 id="warmup-indentation"),
    pytest.param("warmup-resources", marks=pytest.mark.task("warmup-resources"),
                 id="warmup-resources"),
    pytest.param("warmup-selector", marks=pytest.mark.task("warmup-selector"),
                 id="warmup-selector"),
    pytest.param("warmup-service-port", marks=pytest.mark.task("warmup-service-port"),
                 id="warmup-service-port"),
    pytest.param("warmup-hpa-target", marks=pytest.mark.task("warmup-hpa-target"),
                 id="warmup-hpa-target"),
]


# fails for: warmups-not-fixed, configmap-swap, lazy
@pytest.mark.points(2)
@pytest.mark.parametrize("task", WARMUPS)
def test_warmup(submission, support, task):
    found = support.manifest(submission, support.WARMUPS[task], marker=True)
    findings = support.check_warmup(found, task)
    rule, _, advice = support.WARMUP_RULES[task]
    expect(not findings, support.report(findings, f"{advice} (rule {rule})"))


SCHEMA = [
    pytest.param("deployment", marks=pytest.mark.task("schema"), id="deployment"),
    pytest.param("service", marks=pytest.mark.task("schema"), id="service"),
    pytest.param("hpa", marks=pytest.mark.task("schema"), id="hpa"),
]


# fails for: schema-errors, mismatched-selector, huge-quantity
@pytest.mark.points(1)
@pytest.mark.parametrize("key", SCHEMA)
def test_schema(submission, support, key):
    found = support.manifest(submission, support.MANIFESTS[key])
    findings = support.file_schema_findings(found, key) + support.api_server_findings(found.docs)
    expect(not findings, support.report(
        findings, f"every error is listed with its path; fix them from the top (validated "
                  f"against Kubernetes {support.KUBERNETES_VERSION}, unknown fields refused, "
                  "and what its API server refuses). Until the API server would accept all "
                  "three files, no other rule about them is graded"))


RULES = [
    pytest.param("container-resources", ("deployment",), id="container-resources",
                 marks=[pytest.mark.task("resources"), pytest.mark.points(2)]),
    pytest.param("no-readiness-probe", ("deployment",), id="no-readiness-probe",
                 marks=[pytest.mark.points(1), pytest.mark.task("probes")]),
    pytest.param("no-liveness-probe", ("deployment",), id="no-liveness-probe",
                 marks=[pytest.mark.points(1), pytest.mark.task("probes")]),
    pytest.param("container-image-tag", ("deployment",), id="container-image-tag",
                 marks=[pytest.mark.points(1), pytest.mark.task("image")]),
    pytest.param("run-as-non-root", ("deployment",), id="run-as-non-root",
                 marks=[pytest.mark.points(2), pytest.mark.task("security-context")]),
    pytest.param("privilege-escalation-container", ("deployment",),
                 id="privilege-escalation-container",
                 marks=[pytest.mark.points(1), pytest.mark.task("security-context")]),
    pytest.param("container-security-context-readonlyrootfilesystem", ("deployment",),
                 id="container-security-context-readonlyrootfilesystem",
                 marks=[pytest.mark.points(1), pytest.mark.task("security-context")]),
    pytest.param("deployment-pod-selector-labels-match-template-metadata-labels",
                 ("deployment",),
                 id="deployment-pod-selector-labels-match-template-metadata-labels",
                 marks=[pytest.mark.points(1), pytest.mark.task("labels")]),
    pytest.param("service-targets-pod", ("deployment", "service"), id="service-targets-pod",
                 marks=[pytest.mark.points(1), pytest.mark.task("labels")]),
    pytest.param("service-targetport-matches-containerport", ("deployment", "service"),
                 id="service-targetport-matches-containerport",
                 marks=[pytest.mark.points(1), pytest.mark.task("service")]),
    pytest.param("horizontalpodautoscaler-has-target", ("deployment", "hpa"),
                 id="horizontalpodautoscaler-has-target",
                 marks=[pytest.mark.points(1), pytest.mark.task("autoscaling")]),
    pytest.param("hpa-minimum-replicas", ("hpa",), id="hpa-minimum-replicas",
                 marks=[pytest.mark.points(1), pytest.mark.task("autoscaling")]),
    pytest.param("deployment-targeted-by-hpa-does-not-have-replicas-configured",
                 ("deployment", "hpa"),
                 id="deployment-targeted-by-hpa-does-not-have-replicas-configured",
                 marks=[pytest.mark.points(1), pytest.mark.task("autoscaling")]),
    pytest.param("deployment-rolling-update", ("deployment",), id="deployment-rolling-update",
                 marks=[pytest.mark.points(1), pytest.mark.task("rollout")]),
]


# One rule each: container-image-tag (latest-tag), no-*-probe (no-probes), run-as-non-root
# (runs-as-root), the others (lazy); all of them, not graded (mismatched-selector).
# fails for: latest-tag, no-probes, runs-as-root, lazy, mismatched-selector
@pytest.mark.requires("test_schema")
@pytest.mark.parametrize(("rule", "needs"), RULES)
def test_best_practice(submission, support, rule, needs):
    docs = support.documents(submission, *needs)
    findings = support.MAIN_RULES[rule](docs)
    expect(not findings, support.report(findings, support.ADVICE[rule]))


# fails for: yaml-bomb, configmap-unused
@pytest.mark.requires("test_schema")
@pytest.mark.task("configmap")
@pytest.mark.points(1)
def test_configmap_optional_but_valid_and_used(submission, support):
    rel = support.MANIFESTS["configmap"]
    findings = []
    if support.attempted(submission, rel):
        findings += support.file_schema_findings(support.manifest(submission, rel), "configmap")
    findings += support.check_configmaps(support.documents(submission, "deployment"))
    expect(not findings, support.report(findings, support.ADVICE["configmap-exists"]))
