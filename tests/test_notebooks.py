"""Notebooks execute headless against the reference solutions, so they never rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader.engine.course import Course
from grader.engine.runner import missing_requirements
from grader.learner.notebook import SUBMISSION_ENV

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.load(ROOT)


@pytest.mark.parametrize("ex_id", COURSE.ids())
def test_notebook_runs_against_reference(ex_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ex = COURSE.get(ex_id)
    missing = missing_requirements(ex)
    if missing:
        pytest.skip(f"{ex_id} needs {', '.join(missing)}, which this machine lacks")
    path = COURSE.notebook(ex)
    monkeypatch.setenv(SUBMISSION_ENV, str(ROOT / "solutions"))
    monkeypatch.setenv("LAB_FAST", "1")  # the documented fast mode: a tiny model, few examples
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws plots
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "passed" in html, "the check() cell should report the reference as passed"


# Exercises whose notebook calls the learner's Python functions through load() (the R and
# JavaScript notebooks call a harness, the transformer ones train for minutes).
STARTER_RUNS = ("pandas-cleaning", "python-data-plumbing", "sklearn-pipeline",
                "pytorch-training", "data-quality-pipeline", "s3-model-registry",
                "deploy-and-monitor")


@pytest.mark.parametrize("ex_id", STARTER_RUNS)
def test_run_all_on_a_starter_reaches_check(ex_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh clone's notebook runs top to bottom: unwritten functions say so, check() runs."""
    path = COURSE.notebook(COURSE.get(ex_id))
    monkeypatch.setenv(SUBMISSION_ENV, str(ROOT / "exercises"))
    monkeypatch.setenv("LAB_FAST", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "not written yet: " in text
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "not attempted" in html, "the check() cell should run and say so"
