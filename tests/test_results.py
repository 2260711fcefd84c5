"""Exercise status follows from its tests' statuses and scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine.results import ExerciseResult, RunResult, TestResult


def ex_with(*statuses: str) -> ExerciseResult:
    ex = ExerciseResult("e", "E", "data")
    for i, status in enumerate(statuses):
        ex.tests.append(TestResult(f"t{i}", "task", status,
                                   1.0 if status == "passed" else 0.0, 1.0))
    return ex


@pytest.mark.parametrize(("statuses", "expected"), [
    (("passed", "passed"), "passed"),
    (("passed", "failed"), "partial"),
    (("passed", "error"), "partial"),
    (("failed", "failed"), "failed"),
    (("failed", "timeout"), "failed"),
    (("error", "failed"), "error"),
    (("not_attempted", "not_attempted"), "not_attempted"),
    (("not_attempted", "failed"), "failed"),
])
def test_exercise_status(statuses: tuple[str, ...], expected: str) -> None:
    assert ex_with(*statuses).status == expected


def test_ungradable_exercise_is_error() -> None:
    ex = ExerciseResult("e", "E", "data", message="needs docker")
    assert ex.status == "error"
    assert ex.max_score == 0


def test_first_problem_prefers_attempted() -> None:
    ex = ex_with("not_attempted", "failed", "passed")
    problem = ex.first_problem()
    assert problem is not None and problem.name == "t1"


def test_run_round_trips_through_dict() -> None:
    run = RunResult([ex_with("passed", "failed")], {"seed": 3, "python": "3", "isolation": "x"})
    again = RunResult.from_dict(run.to_dict())
    assert again.to_dict() == run.to_dict()
    assert again.score == 1.0 and again.max_score == 2.0


def test_pending_manual_items_never_count() -> None:
    ex = ex_with("passed", "passed")
    ex.tests.append(TestResult("manual: clarity", "", "pending", 0.0, 3.0))
    assert (ex.score, ex.max_score, ex.pending_points) == (2.0, 2.0, 3.0)
    assert ex.status == "passed"


def test_unavailable_exercise_is_skipped_and_not_counted() -> None:
    ex = ExerciseResult("e", "E", "programming", message="skipped: node not found",
                        unavailable=True)
    assert ex.status == "skipped"
    assert ex.max_score == 0
    assert RunResult.from_dict(RunResult([ex]).to_dict()).exercises[0].status == "skipped"


def test_a_gated_test_counts_only_once_its_core_test_passes(tmp_path: Path) -> None:
    """``@pytest.mark.requires``: no point for consistency while the core result is wrong."""
    import shutil

    from grader.engine.course import Course
    from grader.engine.runner import grade_exercise

    course_root = tmp_path / "course"
    shutil.copytree(Path(__file__).parent / "fixtures" / "course", course_root)
    tests = next(course_root.glob("exercises/*/*/tests"))
    (tests / "test_gated.py").write_text(
        "import pytest\n\n\n"
        "@pytest.mark.task('mean')\n@pytest.mark.points(0.5)\n"
        "@pytest.mark.requires('test_mean_small')\n"
        "def test_mean_is_stable(submission):\n"
        "    assert submission.mean([1.0]) == submission.mean([1.0])\n")
    course = Course.load(course_root)
    ex = course.exercises[0]
    good = grade_exercise(course, ex, course_root / "solutions", seed=1)
    gated = {t.name: t for t in good.tests}["test_mean_is_stable"]
    assert gated.status == "passed"
    starter = grade_exercise(course, ex, course_root / "exercises", seed=1)
    gated = {t.name: t for t in starter.tests}["test_mean_is_stable"]
    assert gated.status == "not_attempted" and "must pass first" in gated.message
    lazy = tmp_path / "lazy" / ex.rel
    lazy.mkdir(parents=True)
    (lazy / "stats.py").write_text("def mean(xs):\n    return 0.0\n\n"
                                   "def median(xs):\n    return 0.0\n")
    wrong = grade_exercise(course, ex, tmp_path / "lazy", seed=1)
    gated = {t.name: t for t in wrong.tests}["test_mean_is_stable"]
    assert gated.status == "failed" and gated.score == 0
    assert gated.message.startswith("not graded: test_mean_small must pass first")
