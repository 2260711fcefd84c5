"""Feedback per README task first: one line each, identical messages collapsed, next: for the
whole course."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from grader.engine.course import Course
from grader.engine.results import ExerciseResult, RunResult, TestResult
from grader.reports.html_page import run_html
from grader.reports.task_summary import shared_problem, task_lines
from grader.reports.terminal import next_step, render

FIXTURE = Path(__file__).parent / "fixtures" / "course"


def _run(tests: list[TestResult]) -> RunResult:
    run = RunResult(environment={"seed": 1, "isolation": "C"})
    run.exercises.append(ExerciseResult("tiny-stats", "Tiny statistics", "programming",
                                        tests=tests))
    return run


def test_one_line_per_task_with_the_first_message_that_matters() -> None:
    tests = [TestResult("test_mean_small", "mean", "passed", 2, 2),
             TestResult("test_mean_fresh", "mean", "failed", 0, 1, "mean([7]) returned 0"),
             *[TestResult(f"test_median_{i}", "median", "not_attempted", 0, 1,
                          "median() still raises NotImplementedError") for i in range(4)]]
    lines = task_lines(_run(tests).exercises[0], {"median": "Median", "mean": "Mean"})
    assert [(t.task, t.status, t.score, t.max_score) for t in lines] == [
        ("median", "not_attempted", 0, 4), ("mean", "partial", 2, 3)]  # README order
    assert lines[0].message == "4 checks wait for your code"
    assert lines[1].message == "mean([7]) returned 0"


def test_an_import_error_is_said_once_for_the_exercise() -> None:
    broken = "the module does not import: SyntaxError at stats.py line 3"
    tests = [TestResult(f"test_{i}", "mean" if i % 2 else "median", "error", 0, 1, broken)
             for i in range(6)]
    run = _run(tests)
    assert shared_problem(run.exercises[0]) == broken
    assert {t.message for t in task_lines(run.exercises[0])} == {"see the problem above"}
    buffer = io.StringIO()
    render(run, console=Console(file=buffer, width=100, color_system=None))
    assert buffer.getvalue().count("SyntaxError") == 1
    page = run_html(run)
    assert page.count("fix this first") == 1 and page.count("see the problem above") == 2
    summary, folded = page.split("<details>", 1)
    assert summary.count("SyntaxError") == 1 and folded.count("SyntaxError") == 6


def test_next_looks_at_the_whole_course() -> None:
    course = Course.load(FIXTURE)
    run = _run([TestResult("test_mean_small", "mean", "passed", 2, 2)])
    assert "Well done" in next_step(run, course, {"tiny-stats": "passed"})
    twin = ExerciseResult("tiny-stats", "Tiny statistics", "programming",
                          tests=[TestResult("t", "mean", "passed", 1, 1)])
    run.exercises[0] = twin
    course.exercises.append(course.exercises[0].__class__(**{
        **course.exercises[0].__dict__, "id": "tiny-stats-b", "title": "Another"}))
    line = next_step(run, course, {"tiny-stats-b": "not_attempted"})
    assert line.startswith("next: this exercise passes. Now start tiny-stats-b")
