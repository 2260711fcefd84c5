"""Item analysis and the class dashboard: shares per task, masked messages, change over time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_exports import _Checker

from grader.engine import fingerprint
from grader.engine.course import Course
from grader.engine.results import ExerciseResult, TestResult
from grader.instructor.dashboard import render, write_dashboard
from grader.instructor.gradebook import Grade, Gradebook
from grader.instructor.item_analysis import (
    FULL,
    NOT_ATTEMPTED,
    PARTIAL,
    ZERO,
    analyse,
    template,
)

FIXTURE = Path(__file__).parent / "fixtures" / "course"
HIDDEN = "41.5"  # a hidden expected value that must never reach the dashboard


def _t(name: str, status: str, points: float, message: str = "",
       scored: float | None = None) -> TestResult:
    score = points if status == "passed" else (scored or 0.0)
    return TestResult(name=name, task=name.split("_")[1], status=status, score=score,
                      max_score=points, message=message)


def _result(*tests: TestResult) -> ExerciseResult:
    return ExerciseResult("tiny-stats", "Tiny statistics", "programming", tests=list(tests))


CLASS = {
    "ann": _result(_t("test_mean_small", "passed", 2), _t("test_median_odd", "passed", 2)),
    "bob": _result(_t("test_mean_small", "passed", 2),
                   _t("test_median_odd", "failed", 2,
                      f"median([5, 1, 3]) returned 1, expected {HIDDEN}")),
    "cy": _result(_t("test_mean_small", "failed", 2, "mean([2, 4]) returned 'x <b>'"),
                  _t("test_median_odd", "failed", 2,
                     "median([9, 8, 7, 6, 5]) returned 6, expected 7")),
    "dee": _result(_t("test_mean_small", "not_attempted", 2, "not attempted: mean"),
                   _t("test_median_odd", "not_attempted", 2, "not attempted: median")),
    "eve": _result(_t("test_mean_small[0]", "passed", 1),
                   _t("test_mean_small[1]", "failed", 1, "mean([1]) raised ValueError"),
                   _t("test_median_odd", "error", 2, "median() raised KeyError: 'k'")),
}


def _record(gb: Gradebook, student: str, ex: ExerciseResult, seconds: float,
            at: str) -> None:
    gb.record(Grade(student=student, exercise=ex.id, score=ex.score, max_score=ex.max_score,
                    status=ex.status, result=ex.to_dict(), submission_hash="s",
                    course_hash="c", grader=fingerprint.engine_version(),
                    environment={}, env_hash="e", seed=1, duration=1.0,
                    submission_seconds=seconds, graded_at=at))


@pytest.fixture
def gradebook(tmp_path: Path) -> Iterator[Gradebook]:
    gb = Gradebook(tmp_path / "gradebook.sqlite")
    for i, (student, ex) in enumerate(CLASS.items()):
        _record(gb, student, ex, seconds=float(i + 1), at="2026-01-01T10:00:00+00:00")
    yield gb
    gb.close()


@pytest.fixture(scope="module")
def course() -> Course:
    return Course.load(FIXTURE)


def test_templates_mask_numbers_and_quoted_values() -> None:
    assert template("median([5, 1, 3]) returned 1, expected 41.5") == \
        "median([#, #, #]) returned #, expected #"
    assert template("returned 'secret value' and \"other\" for q01_delays") == \
        "returned '…' and '…' for q01_delays"
    assert template("it's the learner's  frame\nwith 1e-3") == \
        "it's the learner's frame with #"
    assert template("x" * 10_000).count("x") == 300  # capped before masking


def test_shares_per_exercise_and_task(course: Course, gradebook: Gradebook) -> None:
    analysis = analyse(course, gradebook)
    assert analysis.students == 5
    (ex,) = analysis.exercises
    assert (ex.counts[FULL], ex.counts[PARTIAL], ex.counts[ZERO], ex.counts[NOT_ATTEMPTED]) \
        == (1, 2, 1, 1)  # eve scored 1 of 4: partial; cy 0: zero; dee not attempted
    assert ex.median_seconds == 2.5  # ann 1, bob 2, cy 3, eve 5 (dee did not attempt)
    tasks = {t.task: t for t in analysis.tasks}
    assert (tasks["median"].counts[FULL], tasks["median"].counts[ZERO],
            tasks["median"].counts[NOT_ATTEMPTED]) == (1, 3, 1)
    assert (tasks["mean"].counts[FULL], tasks["mean"].counts[PARTIAL],
            tasks["mean"].counts[ZERO]) == (2, 1, 1)
    assert analysis.tasks[0].task == "median"  # lost 8 points of 10, mean 4 of 10
    assert tasks["median"].lost == 8 and tasks["median"].loss == pytest.approx(0.8)
    assert tasks["median"].title == "Write median()"
    said = {(m.test, m.template, m.students) for m in tasks["median"].messages}
    assert said == {("test_median_odd", "median([#, #, #]) returned #, expected #", 1),
                    ("test_median_odd", "median([#, #, #, #, #]) returned #, expected #", 1),
                    ("test_median_odd", "median() raised KeyError: '…'", 1)}
    mean_said = {(m.test, m.template) for m in tasks["mean"].messages}
    assert ("test_mean_small", "mean([#]) raised ValueError") in mean_said  # [1] grouped
    assert all("not attempted" not in m.template for m in tasks["mean"].messages)
    assert analysis.skills == {"1 Programming": [1.0, 0.5, 0.0, 0.0, 0.25]}  # by student


def test_same_message_counts_students(course: Course, tmp_path: Path) -> None:
    with Gradebook(tmp_path / "g.sqlite") as gb:
        for i in range(4):  # four students, the same mistake with different numbers
            _record(gb, f"s{i}", _result(_t("test_mean_small", "passed", 2), _t(
                "test_median_odd", "failed", 2, f"median([{i}, 2]) returned {i}, expected 9")),
                seconds=1.0, at="2026-01-01T10:00:00+00:00")
        analysis = analyse(course, gb)
    (first, *_) = next(t for t in analysis.tasks if t.task == "median").messages
    assert (first.template, first.students) == ("median([#, #]) returned #, expected #", 4)


def test_change_over_time(course: Course, gradebook: Gradebook) -> None:
    assert analyse(course, gradebook).regraded_units == 0
    fixed = _result(_t("test_mean_small", "passed", 2), _t("test_median_odd", "passed", 2))
    _record(gradebook, "bob", fixed, 1.0, at="2026-01-08T10:00:00+00:00")  # after the deadline
    worse = _result(_t("test_mean_small", "failed", 2, "no"), _t("test_median_odd", "passed", 2))
    _record(gradebook, "ann", worse, 1.0, at="2026-01-08T10:00:00+00:00")
    # a change of bookkeeping only (no new grading) is not a new grading
    gradebook.db.execute("UPDATE grades SET grader='old'")
    analysis = analyse(course, gradebook)
    assert analysis.regraded_units == 2
    changes = {c.task: c for c in analysis.changes}
    assert (changes["median"].improved, changes["median"].declined,
            changes["median"].change) == (1, 0, 2)
    assert (changes["mean"].improved, changes["mean"].declined, changes["mean"].change) == \
        (0, 1, -2)
    per_student = {(s.student, s.task): (s.before, s.after) for s in analysis.student_changes}
    assert per_student == {("bob", "median"): (0, 2), ("ann", "mean"): (2, 0)}
    page = render(analysis)
    assert "2 unit(s) were graded more than once" in page


def test_dashboard_page(course: Course, gradebook: Gradebook, tmp_path: Path) -> None:
    path = write_dashboard(course, gradebook, tmp_path / "dash")
    page = path.read_text()
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == []
    text = " ".join(" ".join(checker.text).split())
    for section in ("The class at a glance", "Skill areas", "Tasks ranked by points lost",
                    "Exercises", "Change over time"):
        assert section in text
    assert "1 Programming" in text and "Write median()" in text
    assert checker.tags.count("svg") >= 2 and "<rect" in page  # the chart and outcome bars
    assert "@media print" in page  # printable
    assert "src=" not in page and "<link" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    assert HIDDEN not in page and "<b>'" not in page and "x <b>" not in page  # masked, escaped
    assert "Each unit has been graded once" in text


def test_commands(gradebook: Gradebook, tmp_path: Path,
                  capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    gradebook.close()
    assert main(["--course", str(FIXTURE), "gradebook", str(tmp_path), "--items"]) == 0
    said = capsys.readouterr().out
    assert "tiny-stats" in said and "median" in said and HIDDEN not in said
    assert main(["--course", str(FIXTURE), "export", str(tmp_path), "--dashboard",
                 str(tmp_path / "dash")]) == 0
    assert "index.html" in capsys.readouterr().out
    assert (tmp_path / "dash" / "index.html").is_file()
