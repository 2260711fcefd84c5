"""HTML for results: the notebook's ``check()`` table and, later, per-learner feedback pages."""

from __future__ import annotations

from grader.engine.results import ExerciseResult, RunResult
from grader.reports.safe_text import html

COLOURS = {"passed": "#1a7f37", "partial": "#9a6700", "failed": "#cf222e", "error": "#cf222e",
           "timeout": "#8250df", "not_attempted": "#6e7781", "skipped": "#6e7781",
           "pending": "#0969da"}


def _badge(status: str) -> str:
    colour = COLOURS.get(status, "#000")
    label = html(status.replace("_", " "), line=True)
    return f'<span style="color:{colour};font-weight:bold">{label}</span>'


def exercise_html(ex: ExerciseResult) -> str:
    """One exercise as a heading and a table; every learner-derived string is escaped."""
    parts = [f"<h4>{html(ex.id, True)} — {html(ex.title, True)}: {_badge(ex.status)} "
             f"{ex.score:g}/{ex.max_score:g} points</h4>"]
    if ex.message:
        parts.append(f"<p>{html(ex.message)}</p>")
    if ex.tests:
        parts.append('<table><thead><tr><th style="text-align:left">task</th>'
                     '<th style="text-align:left">test</th><th>status</th><th>points</th>'
                     '<th style="text-align:left">feedback</th></tr></thead><tbody>')
        for t in ex.tests:
            feedback = html(t.message).replace("\n", "<br>")
            if t.output.strip():
                feedback += ("<details><summary>your code printed</summary><pre>"
                             f"{html(t.output[:4000])}</pre></details>")
            hidden = " <em>(hidden)</em>" if t.hidden else ""
            parts.append(f"<tr><td>{html(t.task, True)}</td>"
                         f"<td>{html(t.name, True)}{hidden}</td><td>{_badge(t.status)}</td>"
                         f"<td>{t.score:g}/{t.max_score:g}</td>"
                         f'<td style="text-align:left">{feedback}</td></tr>')
        parts.append("</tbody></table>")
    return "\n".join(parts)


def run_html(run: RunResult, next_line: str = "") -> str:
    """A whole run as an HTML fragment."""
    body = "\n".join(exercise_html(ex) for ex in run.exercises)
    tail = f"<p><strong>{html(next_line)}</strong></p>" if next_line else ""
    return f"<div>{body}{tail}</div>"
