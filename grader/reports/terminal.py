"""The terminal summary: a table per exercise, the first problem expanded, a 'next:' line."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.engine.course import Course
from grader.engine.results import ExerciseResult, RunResult, TestResult
from grader.reports.safe_text import shown, shown_line, text

STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "error": "red",
         "timeout": "magenta", "not_attempted": "dim", "skipped": "dim", "pending": "blue"}
LABEL = {"not_attempted": "not attempted", "pending": "pending review"}


def _lines(message: str, indent: str) -> str:
    """Learner text with every line after the first indented: none passes for the grader's."""
    return shown(message).replace("\n", "\n" + indent)


def _status(status: str) -> Text:
    return text(LABEL.get(status, status), style=STYLE.get(status, ""), line=True)


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


def render(run: RunResult, course: Course | None = None, verbose: bool = False,
           console: Console | None = None) -> None:
    """Print the run for a learner."""
    console = console or Console(highlight=False)
    for ex in run.exercises:
        head = text(f"{ex.id}: ", line=True)
        head.append(_status(ex.status))
        head.append(f"  {ex.score:g}/{ex.max_score:g} points")
        if ex.pending_points:
            head.append(f" (+{ex.pending_points:g} pending manual review)", style="blue")
        if ex.message:
            head.append("\n  " + _lines(ex.message, "  "), style="red" if not ex.tests else "")
        if ex.status in ("not_attempted", "skipped") and not verbose:
            console.print(head)
            continue
        console.print(head)
        if ex.tests:
            console.print(exercise_table(ex, verbose))
        problems = [t for t in ex.graded if t.status != "passed"]
        for t in problems if verbose else problems[:1]:
            console.print(_problem_text(t))
        for skip in ex.skipped:
            console.print(text(f"  skipped: {skip}", style="dim"))
    env = run.environment
    console.print(text(f"Total: {run.score:g}/{run.max_score:g} points  "
                       f"(seed {env.get('seed')}, isolation {env.get('isolation')})",
                       style="bold", line=True))
    console.print(Text(_lines(next_step(run, course), "  "), style="cyan"))
