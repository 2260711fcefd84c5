"""The terminal summary: a table per exercise, the first problem expanded, a 'next:' line."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.engine.course import Course
from grader.engine.results import ExerciseResult, RunResult, TestResult

STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "error": "red",
         "timeout": "magenta", "not_attempted": "dim", "skipped": "dim", "pending": "blue"}
LABEL = {"not_attempted": "not attempted", "pending": "pending review"}


def _status(status: str) -> Text:
    return Text(LABEL.get(status, status), style=STYLE.get(status, ""))


def next_step(run: RunResult, course: Course | None) -> str:
    """One line telling the learner what to do next."""
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
    return "next: every exercise passes. Well done! Try the hidden-data variants with a new seed."


def _problem_text(test: TestResult) -> Text:
    text = Text()
    text.append(f"  {test.name}", style="bold")
    if test.task:
        text.append(f" (task {test.task})")
    text.append(": ")
    text.append(LABEL.get(test.status, test.status), style=STYLE.get(test.status, ""))
    text.append("\n")
    for line in test.message.splitlines() or [""]:
        text.append(f"    {line}\n")
    if test.output.strip():
        text.append("    your code printed:\n", style="dim")
        for line in test.output.strip().splitlines()[:20]:
            text.append(f"      {line}\n", style="dim")
    return text


def exercise_table(ex: ExerciseResult, verbose: bool) -> Table:
    """One exercise's tests as a table."""
    table = Table(title=f"{ex.id} — {ex.title}", title_justify="left", expand=False)
    table.add_column("task")
    table.add_column("test")
    table.add_column("status")
    table.add_column("points", justify="right")
    for t in ex.tests:
        # Text, not markup: parametrize ids like [units-1] must show as written
        name = Text(t.name + (" (hidden)" if t.hidden else ""))
        table.add_row(Text(t.task), name, _status(t.status), f"{t.score:g}/{t.max_score:g}")
    return table


def render(run: RunResult, course: Course | None = None, verbose: bool = False,
           console: Console | None = None) -> None:
    """Print the run for a learner."""
    console = console or Console(highlight=False)
    for ex in run.exercises:
        head = Text(f"{ex.id}: ")
        head.append(_status(ex.status))
        head.append(f"  {ex.score:g}/{ex.max_score:g} points")
        if ex.pending_points:
            head.append(f" (+{ex.pending_points:g} pending manual review)", style="blue")
        if ex.message:
            head.append(f"\n  {ex.message}", style="red" if not ex.tests else "")
        if ex.status in ("not_attempted", "skipped") and not verbose:
            console.print(head)
            continue
        console.print(head)
        if ex.tests:
            console.print(exercise_table(ex, verbose))
        problems = [t for t in ex.graded if t.status != "passed"]
        shown = problems if verbose else problems[:1]
        for t in shown:
            console.print(_problem_text(t))
        for skip in ex.skipped:
            console.print(Text(f"  skipped: {skip}", style="dim"))
    env = run.environment
    console.print(Text(f"Total: {run.score:g}/{run.max_score:g} points  "
                       f"(seed {env.get('seed')}, isolation {env.get('isolation')})",
                       style="bold"))
    console.print(Text(next_step(run, course), style="cyan"))
