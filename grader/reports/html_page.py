"""HTML for results: the notebook's ``check()`` table and, later, per-learner feedback pages."""

from __future__ import annotations

from collections.abc import Mapping

from grader.engine.results import ExerciseResult, RunResult
from grader.reports.safe_text import html
from grader.reports.task_summary import shared_problem, task_lines

COLOURS = {"passed": "#1a7f37", "partial": "#9a6700", "failed": "#cf222e", "error": "#cf222e",
           "timeout": "#8250df", "not_attempted": "#6e7781", "skipped": "#6e7781",
           "pending": "#0969da"}


def _badge(status: str) -> str:
    colour = COLOURS.get(status, "#000")
    label = html(status.replace("_", " "), line=True)
    return f'<span style="color:{colour};font-weight:bold">{label}</span>'


CELL = "padding:.25rem .4rem;vertical-align:top"
TEXT = CELL + ";overflow-wrap:anywhere;text-align:left"  # names and messages may wrap anywhere
FIXED = CELL + ";white-space:nowrap"  # statuses and points stay whole
TABLE = 'style="border-collapse:collapse;width:100%;table-layout:auto"'


def _task_table(ex: ExerciseResult, titles: Mapping[str, str]) -> str:
    """One row per README task: points, status, the first message that matters."""
    rows = []
    for line in task_lines(ex, titles):
        title = f"<br><small>{html(line.title, True)}</small>" if line.title else ""
        rows.append(f'<tr><td style="{TEXT}"><strong>{html(line.task, True)}'
                    f'</strong>{title}</td><td style="{FIXED}">'
                    f"{line.score:g}/{line.max_score:g}</td><td style=\"{FIXED}\">"
                    f"{_badge(line.status)}</td><td style=\"{TEXT}\">"
                    f"{html(line.message, True)}</td></tr>")
    return (f"<table {TABLE}><thead><tr><th style=\"text-align:left\">task</th><th>points</th>"
            "<th>status</th><th style=\"text-align:left\">what to fix first</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _test_table(ex: ExerciseResult) -> str:
    """Every test, hidden or not, with its whole message (folded under the task summary)."""
    parts = [f"<table {TABLE}><thead><tr><th style=\"text-align:left\">test</th>"
             "<th>status</th><th>points</th><th style=\"text-align:left\">feedback</th>"
             "</tr></thead><tbody>"]
    for t in ex.tests:
        feedback = html(t.message).replace("\n", "<br>")
        if t.output.strip():
            feedback += ("<details><summary>your code printed</summary>"
                         '<pre style="white-space:pre-wrap">'
                         f"{html(t.output[:4000])}</pre></details>")
        hidden = " <em>(hidden)</em>" if t.hidden else ""
        parts.append(f'<tr><td style="{TEXT}">{html(t.task, True)}: '
                     f"{html(t.name, True)}{hidden}</td><td style=\"{FIXED}\">"
                     f"{_badge(t.status)}</td><td style=\"{FIXED}\">{t.score:g}/{t.max_score:g}"
                     f'</td><td style="{TEXT}">{feedback}</td></tr>')
    parts.append("</tbody></table>")
    return "".join(parts)


def exercise_html(ex: ExerciseResult, titles: Mapping[str, str] | None = None) -> str:
    """One exercise: heading, a line per task, then every test folded; all text escaped."""
    parts = [f"<h4>{html(ex.id, True)} — {html(ex.title, True)}: {_badge(ex.status)} "
             f"{ex.score:g}/{ex.max_score:g} points</h4>"]
    if ex.message:
        parts.append(f"<p>{html(ex.message)}</p>")
    shared = shared_problem(ex)
    if shared:
        parts.append(f'<p><strong style="color:{COLOURS["error"]}">Every check stopped at the '
                     f"same problem; fix this first:</strong> {html(shared)}</p>")
    if ex.tests:
        parts.append(_task_table(ex, titles or {}))
        parts.append(f"<details><summary>every test ({len(ex.tests)}), with its whole "
                     f"message</summary>{_test_table(ex)}</details>")
    return "\n".join(parts)


def run_html(run: RunResult, next_line: str = "",
             titles: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A whole run as an HTML fragment: each exercise per task, then the next: line."""
    body = "\n".join(exercise_html(ex, (titles or {}).get(ex.id)) for ex in run.exercises)
    tail = f"<p><strong>{html(next_line)}</strong></p>" if next_line else ""
    return f'<div style="max-width:100%;overflow-wrap:anywhere">{body}{tail}</div>'
