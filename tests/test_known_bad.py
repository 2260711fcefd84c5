"""Known-bad submissions lose exactly the points their mistake deserves.

Each ``tests/fixtures/submissions/<exercise-id>/expected.json`` maps an outcome folder (laid out
like exercises/, or a ``reference.patch`` against the reference: see fixture_submissions.py) to
the score range it must get and the tasks that must lose points.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixture_claims import exercise_claims
from fixture_submissions import materialise

from grader.engine.course import Course
from grader.engine.runner import grade_exercise, missing_requirements

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.load(ROOT)
FIXTURES = Path(__file__).parent / "fixtures" / "submissions"


def cases() -> list[tuple[str, str, dict[str, object]]]:
    found = []
    for expected in sorted(FIXTURES.glob("*/expected.json")):
        ex_id = expected.parent.name
        for outcome, spec in json.loads(expected.read_text()).items():
            found.append((ex_id, outcome, spec))
    return found


@pytest.mark.parametrize(("ex_id", "outcome", "spec"), cases(),
                         ids=[f"{c[0]}:{c[1]}" for c in cases()])
def test_known_bad_submission(ex_id: str, outcome: str, spec: dict[str, object],
                              tmp_path: Path) -> None:
    ex = COURSE.get(ex_id)
    missing = missing_requirements(ex)
    if missing:
        pytest.skip(f"{ex_id} needs {', '.join(missing)}, which this machine lacks")
    root = materialise(COURSE, ex, FIXTURES / ex_id / outcome, tmp_path)
    assert (root / ex.rel).is_dir(), f"{root} must mirror exercises/ ({ex.rel})"
    result = grade_exercise(COURSE, ex, root, seed=7)
    summary = [(t.name, t.status, t.message[:120]) for t in result.tests if t.status != "passed"]
    if spec.get("full_marks"):  # a correct solution written another way than the reference
        assert result.score == result.max_score, (result.score, summary)
        return
    low, high = float(spec["min_score"]), float(spec["max_score"])  # type: ignore[arg-type]
    assert low <= result.score <= high, (result.score, summary)
    assert result.score < result.max_score, "a known-bad submission must lose points"
    claimed = [name for name, fixtures in exercise_claims(COURSE.test_dirs(ex)).items()
               if outcome in fixtures]
    for name in claimed:  # each test that names this fixture must not pass it
        runs = [t for t in result.tests if t.name.split("[")[0] == name]
        assert runs, f"{name} claims to fail for {outcome} but did not run"
        assert any(t.status != "passed" for t in runs), f"{name} passed {outcome}, which it " \
            "claims to fail (# fails for: ...)"
    for task in spec.get("failing_tasks", []):  # type: ignore[attr-defined]
        lost = [t for t in result.tests if t.task == task and t.status != "passed"]
        assert lost, f"task {task!r} should lose points for {outcome}"
        assert all(t.message for t in lost), "every lost point needs a message"
