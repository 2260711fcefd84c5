"""grader.engine.timing: off by default; on, the judge writes a split that covers its unit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.engine import timing

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "course"


def test_every_hook_is_a_no_op_when_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(timing, "_path", None)
    monkeypatch.setattr(timing, "_marks", {})
    monkeypatch.setattr(timing, "_counters", {})
    timing.first("tests_start")
    timing.last("tests_end")
    timing.add_since("worker_start", time.monotonic())
    timing.write("tiny-stats", 1.0)
    assert not timing.enabled()
    assert timing._marks == {} and timing._counters == {}
    assert list(tmp_path.iterdir()) == []


def test_grading_with_timing_on_writes_a_split_of_the_unit(tmp_path: Path) -> None:
    record = tmp_path / "timing.json"
    env = {k: v for k, v in os.environ.items() if k != timing.ENV} | {timing.ENV: str(record)}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(FIXTURE), "grade",
                           "tiny-stats", "--submission", "solutions", "--seed", "1", "--quiet",
                           "--json", "-"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    wall = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["score"] == 6
    data = json.loads(record.read_text())
    assert data["exercise"] == "tiny-stats"
    assert set(timing.PHASES) <= set(data)
    assert all(data[p] >= 0 for p in timing.PHASES)
    assert data["worker_start"] > 0 and data["learner_compute"] > 0  # the hooks ran
    assert data["wall"] == pytest.approx(sum(data[p] for p in timing.PHASES))
    # The judge writes before it answers, so its split covers most of the command's wall time
    # (a generous factor: no timing race, only "the phases are the unit, not some other span").
    assert wall / 5 < data["wall"] <= wall + 0.5
