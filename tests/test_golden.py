"""Golden scenarios: grade each sample submission and compare with its results.json.

Each ``tests/golden/<scenario>/submission`` is laid out like exercises/ for the fixture course's
tiny-stats exercise. Volatile fields (durations, versions, paths of the environment) are masked;
statuses, scores, messages and captured output are compared exactly. Regenerate the expected
files after an intended change with ``GRADER_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and
review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.engine.runner import grade

GOLDEN = Path(__file__).resolve().parent / "golden"
SCENARIOS = sorted(p.name for p in GOLDEN.iterdir() if (p / "submission").is_dir())
SEED = 20240611
UPDATE = os.environ.get("GRADER_UPDATE_GOLDEN") == "1"
STABLE_ENVIRONMENT = ("isolation", "seed", "hidden_tests")


def masked(run: dict[str, Any]) -> dict[str, Any]:
    """The run's JSON with what changes from machine to machine replaced by placeholders."""
    for ex in run["exercises"]:
        ex["duration"] = "<duration>"
        for test in ex["tests"]:
            test["duration"] = "<duration>"
    run["environment"] = {key: value if key in STABLE_ENVIRONMENT else "<volatile>"
                          for key, value in run["environment"].items()}
    return run


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden(scenario: str, fixture_course: Course, tiny_stats: Exercise,
                worker_tmp: Path) -> None:
    folder = GOLDEN / scenario
    run = grade(fixture_course, [tiny_stats], folder / "submission", seed=SEED)
    got = masked(run.to_dict())
    expected_file = folder / "results.json"
    if UPDATE:
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert expected_file.is_file(), f"{expected_file} is missing: run with GRADER_UPDATE_GOLDEN=1"
    expected = json.loads(expected_file.read_text())
    assert got == expected, ("results must match the golden file; if the change is intended, "
                             "regenerate with GRADER_UPDATE_GOLDEN=1 and review the diff")


def test_every_scenario_has_a_golden_file() -> None:
    missing = [s for s in SCENARIOS if not (GOLDEN / s / "results.json").is_file()]
    assert not missing, f"scenarios without results.json: {missing}"
