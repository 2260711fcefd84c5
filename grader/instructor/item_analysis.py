"""Item analysis of a gradebook: what the class got, lost and was told, per exercise and task.

Messages are grouped by test and template: numbers and quoted values are masked first, so
"returned 3 rows, expected 5" and "returned 4 rows, expected 5" count as one message and no
hidden value ever shows.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from grader.engine.course import Course
from grader.instructor import history
from grader.instructor.gradebook import Grade, Gradebook
from grader.reports.safe_text import shortened

FULL, PARTIAL, ZERO, NOT_ATTEMPTED = "full", "partial", "zero", "not attempted"
OUTCOMES = (FULL, PARTIAL, ZERO, NOT_ATTEMPTED)
MAX_MESSAGE = 300  # characters of a message kept before masking
TOP_MESSAGES = 5
_QUOTED = re.compile(r"""(?<!\w)(?:'[^'\n]{0,200}'|"[^"\n]{0,200}"|`[^`\n]{0,200}`)(?!\w)""")
_NUMBER = re.compile(r"(?<![A-Za-z_\d])[-+]?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?%?")
_SPACE = re.compile(r"\s+")


def template(message: str) -> str:
    """A message with quoted values and numbers masked (``'…'`` and ``#``), layout collapsed."""
    text = _SPACE.sub(" ", message[:MAX_MESSAGE]).strip()
    return _NUMBER.sub("#", _QUOTED.sub("'…'", text))


def outcome(score: float, top: float, statuses: list[str]) -> str:
    """full, partial, zero or not attempted, for one student's points on one item."""
    if statuses and all(s == "not_attempted" for s in statuses):
        return NOT_ATTEMPTED
    if top and score >= top:
        return FULL
    return PARTIAL if score > 0 else ZERO


@dataclass
class Message:
    """One message template of one test, and how many students saw it."""

    test: str
    template: str
    students: int


@dataclass
class Item:
    """One exercise (task None) or one README task, over the class."""

    exercise: str
    task: str | None
    title: str
    skill: str
    counts: Counter[str] = field(default_factory=Counter)
    lost: float = 0.0
    possible: float = 0.0
    messages: list[Message] = field(default_factory=list)
    median_seconds: float | None = None

    @property
    def students(self) -> int:
        """Students with a grade for it."""
        return sum(self.counts.values())

    @property
    def loss(self) -> float:
        """Share of the class's possible points on it that were not earned."""
        return self.lost / self.possible if self.possible else 0.0

    def share(self, kind: str) -> float:
        """Share of the students with this outcome."""
        return self.counts[kind] / self.students if self.students else 0.0


@dataclass
class TaskChange:
    """How one task changed between a unit's first and latest grading, over the class."""

    exercise: str
    task: str
    improved: int = 0
    declined: int = 0
    unchanged: int = 0
    change: float = 0.0  # total points gained (negative: lost)


@dataclass
class StudentChange:
    """One student's points on one task, first grading and latest."""

    student: str
    exercise: str
    task: str
    before: float
    after: float
    top: float


@dataclass
class Analysis:
    """The whole item analysis of a class."""

    students: int = 0
    exercises: list[Item] = field(default_factory=list)
    tasks: list[Item] = field(default_factory=list)  # ranked by loss, worst first
    skills: dict[str, list[float]] = field(default_factory=dict)  # title -> student shares
    changes: list[TaskChange] = field(default_factory=list)
    student_changes: list[StudentChange] = field(default_factory=list)
    regraded_units: int = 0  # units graded more than once


def _messages(found: dict[tuple[str, str], set[str]]) -> list[Message]:
    ranked = sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [Message(test, text, len(who)) for (test, text), who in ranked[:TOP_MESSAGES]]


def _collect(course: Course, grades: list[Grade]) -> tuple[list[Item], list[Item]]:
    known = {ex.id: ex for ex in course.exercises}
    order = {ex.id: i for i, ex in enumerate(course.exercises)}
    exercises: dict[str, Item] = {}
    tasks: dict[tuple[str, str], Item] = {}
    said: dict[tuple[str, str | None], dict[tuple[str, str], set[str]]] = {}
    seconds: dict[str, list[float]] = {}
    for g in sorted(grades, key=lambda g: (order.get(g.exercise, len(order)), g.exercise)):
        result = g.exercise_result()
        if result.status == "skipped":
            continue
        ex = known.get(g.exercise)
        skill = ex.skill_title if ex else result.skill
        item = exercises.setdefault(g.exercise, Item(g.exercise, None, ex.title if ex else
                                                     result.title, skill))
        graded = result.graded
        kind = outcome(result.score, result.max_score, [t.status for t in graded])
        item.counts[kind] += 1
        item.lost += result.max_score - result.score
        item.possible += result.max_score
        if kind != NOT_ATTEMPTED and g.submission_seconds is not None:
            seconds.setdefault(g.exercise, []).append(g.submission_seconds)
        if result.message and not graded:
            said.setdefault((g.exercise, None), {}).setdefault(
                ("(exercise)", template(result.message)), set()).add(g.student)
        by_task: dict[str, list[int]] = {}
        for i, t in enumerate(graded):
            by_task.setdefault(t.task or "(no task)", []).append(i)
        for task_id, indexes in by_task.items():
            tests = [graded[i] for i in indexes]
            manifest_task = ex.task(task_id) if ex else None
            titled = manifest_task.title if manifest_task else task_id
            entry = tasks.setdefault((g.exercise, task_id), Item(g.exercise, task_id, titled,
                                                                 skill))
            score, top = sum(t.score for t in tests), sum(t.max_score for t in tests)
            entry.counts[outcome(score, top, [t.status for t in tests])] += 1
            entry.lost += top - score
            entry.possible += top
            for t in tests:
                if t.status in ("passed", "not_attempted") or not t.message:
                    continue
                key = (t.name.split("[", 1)[0], template(t.message))
                for scope in ((g.exercise, task_id), (g.exercise, None)):
                    said.setdefault(scope, {}).setdefault(key, set()).add(g.student)
    for ex_id, item in exercises.items():
        item.messages = _messages(said.get((ex_id, None), {}))
        if seconds.get(ex_id):
            item.median_seconds = statistics.median(seconds[ex_id])
    for (ex_id, task_id), item in tasks.items():
        item.messages = _messages(said.get((ex_id, task_id), {}))
        item.median_seconds = exercises[ex_id].median_seconds
    ranked = sorted(tasks.values(), key=lambda t: (-t.lost, -t.loss, t.exercise, t.task or ""))
    return list(exercises.values()), ranked


def _skills(course: Course, grades: list[Grade]) -> dict[str, list[float]]:
    known = {ex.id: ex for ex in course.exercises}
    titles = {ex.skill: ex.skill_title for ex in course.exercises}
    totals: dict[tuple[str, str], list[float]] = {}
    for g in grades:
        if g.status == "skipped" or not g.max_score:
            continue
        skill = known[g.exercise].skill if g.exercise in known else g.result.get("skill", "?")
        pair = totals.setdefault((str(skill), g.student), [0.0, 0.0])
        pair[0] += g.score
        pair[1] += g.max_score
    out: dict[str, list[float]] = {}
    for skill in dict.fromkeys([*titles, *(s for s, _ in totals)]):
        shares = [score / top for (s, _), (score, top) in sorted(totals.items())
                  if s == skill and top]
        if shares:
            out[titles.get(skill, skill)] = shares
    return out


def _changes(analysis: Analysis, gb: Gradebook) -> None:
    per_task: dict[tuple[str, str], TaskChange] = {}
    for (student, ex_id), past in sorted(history.gradings(gb.db).items()):
        if len(past) < 2:
            continue
        analysis.regraded_units += 1
        first, last = past[0].tasks, past[-1].tasks
        for task in dict.fromkeys([*first, *last]):
            before, after = first.get(task, (0.0, 0.0)), last.get(task, (0.0, 0.0))
            change = per_task.setdefault((ex_id, task), TaskChange(ex_id, task))
            delta = after[0] - before[0]
            change.change += delta
            if delta > 0:
                change.improved += 1
            elif delta < 0:
                change.declined += 1
            else:
                change.unchanged += 1
            if delta:
                analysis.student_changes.append(StudentChange(
                    student, ex_id, task, before[0], after[0], max(before[1], after[1])))
    analysis.changes = sorted(per_task.values(), key=lambda c: (-abs(c.change), c.exercise,
                                                                c.task))


def analyse(course: Course, gb: Gradebook) -> Analysis:
    """Item analysis of every stored grade, and the change per task across gradings."""
    grades = gb.grades()
    analysis = Analysis(students=len({g.student for g in grades}))
    analysis.exercises, analysis.tasks = _collect(course, grades)
    analysis.skills = _skills(course, grades)
    _changes(analysis, gb)
    return analysis


def _pct(value: float) -> str:
    return f"{value:.0%}"


def print_analysis(analysis: Analysis, top_tasks: int = 15) -> None:
    """The analysis as terminal tables (message text is never read as markup)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, markup=False, emoji=False)
    if not analysis.exercises:
        console.print("the gradebook is empty: run `grader batch` first")
        return
    table = Table(title=f"item analysis: {analysis.students} students", title_justify="left")
    for column in ("exercise", "students", "full", "partial", "zero", "not attempted",
                   "points lost", "median s in code"):
        table.add_column(column, justify="left" if column == "exercise" else "right")
    for item in analysis.exercises:
        median = "-" if item.median_seconds is None else f"{item.median_seconds:.1f}"
        table.add_row(Text(shortened(item.exercise)), str(item.students),
                      *(_pct(item.share(k)) for k in OUTCOMES), _pct(item.loss), median)
    console.print(table)
    tasks = Table(title="tasks ranked by points lost (what to re-teach)", title_justify="left")
    tasks.add_column("exercise / task", max_width=28)
    tasks.add_column("full/part./zero/n.a.", justify="right", no_wrap=True)
    tasks.add_column("lost", justify="right", no_wrap=True)
    tasks.add_column("commonest message (students)")
    for item in analysis.tasks[:top_tasks]:
        first = item.messages[0] if item.messages else None
        said = f"{first.template} ({first.students})" if first else ""
        shares = "/".join(f"{item.share(k) * 100:.0f}" for k in OUTCOMES) + "%"
        tasks.add_row(Text(shortened(f"{item.exercise} / {item.task}", 60)), shares,
                      f"{item.lost:g} ({_pct(item.loss)})", Text(shortened(said, 160)))
    console.print(tasks)
    if analysis.changes:
        console.print(f"change since the first grading ({analysis.regraded_units} units graded "
                      "more than once):")
        for c in analysis.changes[:top_tasks]:
            if c.improved or c.declined:
                console.print(Text(shortened(
                    f"  {c.exercise} / {c.task}: {c.improved} improved, {c.declined} "
                    f"declined, {c.change:+g} points in all", 200)))
