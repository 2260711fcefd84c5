"""Artifacts: files the learner's code saves (a model) reach the worker when present, size-capped.

The manifest declares them apart from learner files: a missing artifact is not a missing file,
their size cap is the exercise's ``budget.artifact_mb``, and only they may be ``.safetensors``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.engine.course import Course
from grader.engine.manifest import ManifestError, load_manifest
from grader.instructor.collect import collect
from grader.sandbox.limits import MAX_FILE_BYTES, copy_submission

FIXTURE = Path(__file__).parent / "fixtures" / "course"
GOOD = (FIXTURE / "exercises/01_programming/01_tiny-stats/exercise.toml").read_text()
ROOT = Path(__file__).resolve().parent.parent


def _manifest(tmp_path: Path, extra: str, budget: str = "") -> Path:
    text = GOOD.replace('files = ["stats.py"]',
                        'files = ["stats.py"]\n' + extra)
    if budget:
        text = text.replace("[budget]", "[budget]\n" + budget)
    path = tmp_path / "exercise.toml"
    path.write_text(text)
    return path


def test_manifest_declares_artifacts_and_their_size(tmp_path: Path) -> None:
    assert "[budget]" in GOOD
    ex = load_manifest(_manifest(tmp_path, 'artifacts = ["model/w.safetensors"]',
                                 "artifact_mb = 7"), "01_programming/01_tiny-stats")
    assert ex.artifacts == ("model/w.safetensors",)
    assert ex.budget.artifact_mb == 7
    assert load_manifest(_manifest(tmp_path, ""), "x/y").artifacts == ()


@pytest.mark.parametrize(("extra", "budget", "field"), [
    ('artifacts = ["../up.safetensors"]', "", "artifacts"),
    ('artifacts = ["stats.py"]', "", "artifacts"),
    ('artifacts = "model.safetensors"', "", "artifacts"),
    ("", "artifact_mb = 0", "budget.artifact_mb"),
])
def test_bad_artifacts_name_the_field(tmp_path: Path, extra: str, budget: str,
                                      field: str) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(_manifest(tmp_path, extra, budget), "x/y")
    assert info.value.field == field


def test_artifacts_are_copied_when_present_and_never_missing(tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    (src / "model").mkdir(parents=True)
    (src / "stats.py").write_text("x = 1\n")
    big = b"\0" * (MAX_FILE_BYTES + 10)  # over the learner files' cap, within the artifacts'
    (src / "model" / "w.safetensors").write_bytes(big)
    report = copy_submission(src, ["stats.py"], dest,
                             ["model/w.safetensors", "model/config.json"], 2 * MAX_FILE_BYTES)
    assert report.copied == ("stats.py", "model/w.safetensors")
    assert report.missing == ()  # config.json was not saved: not a missing learner file
    assert report.rejected == ()
    assert (dest / "model" / "w.safetensors").read_bytes() == big


def test_artifacts_are_capped_and_typed(tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    (src / "model").mkdir(parents=True)
    (src / "model" / "w.safetensors").write_bytes(b"\0" * 2048)
    (src / "model" / "w.bin").write_bytes(b"pickle")
    (src / "model" / "link.json").symlink_to(src / "model" / "w.bin")
    (src / "w.safetensors").write_bytes(b"\0")
    report = copy_submission(src, ["w.safetensors"], dest,
                             ["model/w.safetensors", "model/w.bin", "model/link.json"], 1024)
    why = dict(report.rejected)
    assert why["w.safetensors"] == "file type not allowed"  # only artifacts may be tensors
    assert why["model/w.bin"] == "file type not allowed"  # pickle never travels
    assert why["model/w.safetensors"].startswith("larger than")
    assert "link" in why["model/link.json"]
    assert report.copied == ()
    assert not (dest / "model").exists() or not any((dest / "model").iterdir())


def test_collect_takes_artifacts_when_present(tmp_path: Path) -> None:
    course = Course.load(ROOT)
    ex = course.get("bert-finetune")
    assert ex.artifacts, "bert-finetune declares its saved model"
    src = tmp_path / "in"
    with_model = src / "ada" / "exercises" / ex.rel
    (with_model / "model").mkdir(parents=True)
    (with_model / "finetune.py").write_text("# ada\n")
    weights = os.urandom(MAX_FILE_BYTES + 1)  # bigger than a learner file may be
    (with_model / "model" / "model.safetensors").write_bytes(weights)
    (with_model / "model" / "config.json").write_text("{}")
    without = src / "bob" / "exercises" / ex.rel
    without.mkdir(parents=True)
    (without / "finetune.py").write_text("# bob\n")
    reports = {r.id: r for r in collect(course, src, tmp_path / "out", [ex.id])}
    got = tmp_path / "out" / "ada" / ex.rel / "model" / "model.safetensors"
    assert got.read_bytes() == weights
    assert reports["ada"].missing == [] and reports["ada"].rejected == []
    assert reports["bob"].missing == []  # no model yet: its tests say so, collect does not
    assert not (tmp_path / "out" / "bob" / ex.rel / "model").exists()
