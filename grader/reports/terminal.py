"""The terminal summary: a line per README task, a 'next:' line, details with --verbose."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.engine.course import Course
from grader.engine.results import ExerciseResult, RunResult, TestResult
from grader.reports.safe_text import shown, shown_line, text
from grader.reports.task_summary import shared_problem, task_lines

STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "error": "red",
         "timeout": "magenta", "not_attempted": "dim", "skipped": "dim", "pending": "blue"}
LABEL = {"not_attempted": "not attempted", "pending": "pending review"}


def _lines(message: str, indent: str) -> str:
    """Learner text with every line after the first indented: none passes for the grader's."""
    return shown(message).replace("\n", "\n" + indent)


def _status(status: str) -> Text:
    return text(LABEL.get(status, status), style=STYLE.get(status, ""), line=True)


def next_step(run: RunResult, course: Course | None,
              course_status: Mapping[str, str] | None = None) -> str:
    """One line telling the learner what to do next: in this run first, then in the course
    (``course_status``: each exercise's last status, from the learner's progress)."""
    for ex in run.exercises:
        if ex.status in ("passed", "skipped"):
            continue
        where = ""
        if course is not None:
            try:
                manifest = course.get(ex.id)
            except KeyError:
                manifest = None
            if manifest is not None:
                problem = ex.first_problem()
                task = manifest.task(problem.task) if problem else manifest.tasks[0]
                task = task or manifest.tasks[0]
                files = ", ".join(f"exercises/{manifest.rel}/{f}" for f in manifest.files)
                if len(manifest.files) > 2:
                    files = f"the files in exercises/{manifest.rel}/ (see its README)"
                where = (f" task '{task.id}' ({task.title}): edit {files}, then "
                         f"`make check EX={ex.id}`; stuck? `make hint EX={ex.id}`")
        if ex.status == "error" and not ex.tests:
            return f"next: {ex.id} could not be graded: {ex.message}"
        verb = "start" if ex.status == "not_attempted" else "continue"
        return f"next: {verb} {ex.id} -{where or ' see its README'}"
    if not any(ex.status == "passed" for ex in run.exercises):
        return "next: nothing could be graded here; see the messages above"
    graded = {ex.id for ex in run.exercises}
    if course is not None:
        for manifest in course.exercises:
            status = (course_status or {}).get(manifest.id, "")
            if manifest.id in graded or status in ("passed", "skipped"):
                continue
            verb = "continue" if status and status != "not_attempted" else "start"
            done = "this exercise passes" if len(run.exercises) == 1 else "these pass"
            return (f"next: {done}. Now {verb} {manifest.id} ({manifest.title}): read "
                    f"exercises/{manifest.rel}/README.md, then `make check EX={manifest.id}`")
    return "next: every exercise passes. Well done! Try the hidden-data variants with a new seed."


def _problem_text(test: TestResult) -> Text:
    out = Text()
    out.append(f"  {shown_line(test.name)}", style="bold")
    if test.task:
        out.append(f" (task {shown_line(test.task)})")
    out.append(": ")
    out.append(_status(test.status))
    out.append("\n")
    for line in shown(test.message).split("\n"):
        out.append(f"    {line}\n")
    if test.output.strip():
        out.append("    your code printed:\n", style="dim")
        for line in shown(test.output.strip()).split("\n")[:20]:
            out.append(f"      {line}\n", style="dim")
    return out


def exercise_table(ex: ExerciseResult, verbose: bool) -> Table:
    """One exercise's tests as a table."""
    table = Table(title=text(f"{ex.id} — {ex.title}", line=True), title_justify="left",
                  expand=False)
    table.add_column("task")
    table.add_column("test")
    table.add_column("status")
    table.add_column("points", justify="right")
    for t in ex.tests:
        # Text, not markup: parametrize ids like [units-1] must show as written
        name = text(t.name + (" (hidden)" if t.hidden else ""), line=True)
        table.add_row(text(t.task, line=True), name, _status(t.status),
                      f"{t.score:g}/{t.max_score:g}")
    return table


def hidden_points(run: RunResult, course: Course | None) -> float:
    """Points this run could not check because the hidden tests are not here (a student copy)."""
    if course is None or run.environment.get("hidden_tests") is not False:
        return 0.0
    total = 0.0
    for ex in run.exercises:
        try:
            manifest = course.get(ex.id)
        except KeyError:
            continue
        if ex.status != "skipped":
            total += max(0.0, manifest.points - ex.max_score)
    return total


def task_table(ex: ExerciseResult, titles: Mapping[str, str]) -> Table:
    """One row per README task: points, status and the first message that matters."""
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1))
    table.add_column("task", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("what to fix", overflow="fold")
    for line in task_lines(ex, titles):
        table.add_row(text(f"  {line.task}", line=True), f"{line.score:g}/{line.max_score:g}",
                      _status(line.status), text(line.message, line=True))
    return table


def _titles(course: Course | None, ex_id: str) -> dict[str, str]:
    if course is None:
        return {}
    try:
        return {task.id: task.title for task in course.get(ex_id).tasks}
    except KeyError:
        return {}


def render(run: RunResult, course: Course | None = None, verbose: bool = False,
           console: Console | None = None, course_status: Mapping[str, str] | None = None,
           detail_hint: str = "") -> None:
    """Print the run for a learner: per task first, details (every test) when ``verbose``."""
    console = console or Console(highlight=False)
    for ex in run.exercises:
        head = text(f"{ex.id}: ", line=True)
        head.append(_status(ex.status))
        head.append(f"  {ex.score:g}/{ex.max_score:g} points")
        if ex.pending_points:
            head.append(f" (+{ex.pending_points:g} pending manual review)", style="blue")
        if ex.message:
            head.append("\n  " + _lines(ex.message, "  "), style="red" if not ex.tests else "")
        shared = shared_problem(ex)
        if shared:
            head.append("\n  every check stopped at the same problem, fix this first: ",
                        style="red")
            head.append(shown_line(shared))
        console.print(head)
        if ex.status in ("not_attempted", "skipped") and not verbose:
            continue
        if ex.tests:
            console.print(task_table(ex, _titles(course, ex.id)))
        if verbose:
            if ex.tests:
                console.print(exercise_table(ex, verbose))
            for t in [t for t in ex.graded if t.status != "passed"]:
                console.print(_problem_text(t))
        for skip in ex.skipped:
            console.print(text(f"  skipped: {skip}", style="dim"))
    env = run.environment
    console.print(text(f"Total: {run.score:g}/{run.max_score:g} points  "
                       f"(seed {env.get('seed')}, isolation {env.get('isolation')})",
                       style="bold", line=True))
    held = hidden_points(run, course)
    if held:
        console.print(text(f"{run.max_score:g} of {run.max_score + held:g} points are checked "
                           f"here; your instructor's hidden tests hold the other {held:g}.",
                           line=True))
    console.print(Text(_lines(next_step(run, course, course_status), "  "), style="cyan"))
    if detail_hint and not verbose and any(ex.tests and ex.status != "passed"
                                           for ex in run.exercises):
        console.print(text(detail_hint, style="dim", line=True))
