"""One line per README task, the first thing a learner reads: points, status, what to fix.

Tests are grouped by their task in the README's order; identical messages collapse ("not
attempted: 8 tests"), and a problem every failing test shares (the module does not import) is
said once for the whole exercise instead of once per test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from grader.engine.results import ExerciseResult, TestResult

SHARED_MIN = 3  # this many failing tests with one message: it is the exercise's problem


@dataclass(frozen=True)
class TaskLine:
    """A README task's share of the grade and the first message that matters."""

    task: str
    title: str
    score: float
    max_score: float
    status: str  # passed, partial, failed, error, timeout, not_attempted
    message: str  # the first line of the first problem, or a collapsed count
    tests: int


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else ""


def shared_problem(ex: ExerciseResult) -> str:
    """The message every failing test of the exercise repeats (an import error), or ''."""
    failing = [t for t in ex.tests if t.status not in ("passed", "not_attempted")]
    firsts = {_first_line(t.message) for t in failing}
    if len(failing) >= SHARED_MIN and len(firsts) == 1 and len(failing) == len(
            [t for t in ex.tests if t.status != "passed"]):
        return next(iter(firsts))
    return ""


def _status(tests: list[TestResult]) -> str:
    statuses = {t.status for t in tests}
    if statuses == {"passed"}:
        return "passed"
    if statuses == {"not_attempted"}:
        return "not_attempted"
    if any(t.score > 0 for t in tests):
        return "partial"
    worst = [s for s in ("error", "timeout", "failed") if s in statuses]
    return worst[0] if len(statuses - {"not_attempted"}) == 1 and worst else "failed"


def _message(tests: list[TestResult], shared: str) -> str:
    lost = [t for t in tests if t.status != "passed"]
    if not lost:
        return ""
    if all(t.status == "not_attempted" for t in lost):
        return f"{len(lost)} check{'s' if len(lost) > 1 else ''} wait for your code"
    for t in lost:  # the first real problem, not a 'not graded until ...' consequence
        first = _first_line(t.message)
        if t.status != "not_attempted" and not first.startswith("not graded"):
            if shared and first == shared:
                return "see the problem above"
            more = len(lost) - 1
            return first + (f" (and {more} more)" if more else "")
    return _first_line(lost[0].message)


def task_lines(ex: ExerciseResult, titles: Mapping[str, str] | None = None) -> list[TaskLine]:
    """The exercise's tests grouped per task, in the README's order (``titles``: id -> title)."""
    order = list(titles or {})
    groups: dict[str, list[TestResult]] = {}
    for t in ex.tests:
        groups.setdefault(t.task, []).append(t)
    ordered = [task for task in order if task in groups] + \
        [task for task in groups if task not in order]
    shared = shared_problem(ex)
    return [TaskLine(task, (titles or {}).get(task, ""), sum(t.score for t in groups[task]),
                     sum(t.max_score for t in groups[task]), _status(groups[task]),
                     _message(groups[task], shared), len(groups[task]))
            for task in ordered]
