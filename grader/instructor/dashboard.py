"""The instructor's class dashboard: one self-contained HTML page (no external assets).

Sections: the class at a glance; the skill areas (an inline SVG of how the class is spread
over score bands); the README tasks ranked by points lost, each with its commonest messages;
the exercises; and, once a class is graded more than once, the change per task and student.
Readable on a laptop, printable (print CSS); every text that may come from a learner is escaped.
"""

from __future__ import annotations

import html
import statistics
from datetime import UTC, datetime
from pathlib import Path

from grader.engine.course import Course
from grader.instructor.gradebook import Gradebook
from grader.instructor.item_analysis import (
    FULL,
    NOT_ATTEMPTED,
    OUTCOMES,
    PARTIAL,
    ZERO,
    Analysis,
    Item,
    analyse,
)

BANDS = ((0.0, 0.2, "0–20%", "#c0392b"), (0.2, 0.4, "20–40%", "#e67e22"),
         (0.4, 0.6, "40–60%", "#f1c40f"), (0.6, 0.8, "60–80%", "#7dbb5b"),
         (0.8, 1.01, "80–100%", "#2e8b57"))
COLOURS = {FULL: "#2e8b57", PARTIAL: "#f1c40f", ZERO: "#c0392b", NOT_ATTEMPTED: "#b8b8b8"}
MAX_TASKS = 60
MAX_STUDENT_CHANGES = 400
_e = html.escape

CSS = """
body { font-family: system-ui, -apple-system, sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1rem 1.5rem; color: #1b1b1b; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #333; padding-bottom: 0.2rem; }
nav a { margin-right: 1rem; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: 0.5rem 1rem; min-width: 9rem; }
.card b { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left;
         vertical-align: top; }
td.n, th.n { text-align: right; white-space: nowrap; }
ul.msgs { margin: 0; padding-left: 1.1rem; font-size: 0.85rem; }
.muted { color: #666; font-size: 0.85rem; }
svg text { font-family: inherit; }
@media print {
  @page { size: A4 landscape; margin: 1.2cm; }
  body { max-width: none; padding: 0; font-size: 9pt; }
  nav { display: none; }
  section { break-inside: avoid-page; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _skill_chart(skills: dict[str, list[float]]) -> str:
    """Horizontal stacked bars: per skill area, the share of students in each score band."""
    if not skills:
        return "<p>No graded skill areas yet.</p>"
    label_w, bar_w, row_h, top = 260, 560, 30, 28
    height = top + row_h * len(skills) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
             f'viewBox="0 0 {label_w + bar_w + 120} {height}" '
             'aria-label="Distribution of students over score bands per skill area">']
    x = float(label_w)
    for _, _, name, colour in BANDS:  # legend
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="15" font-size="12">{_e(name)}</text>')
        x += 90
    for row, (skill, shares) in enumerate(skills.items()):
        y = top + row * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" font-size="13" '
                     f'text-anchor="end">{_e(skill)}</text>')
        x = float(label_w)
        for low, high, name, colour in BANDS:
            count = sum(1 for s in shares if low <= s < high)
            width = bar_w * count / len(shares)
            if width:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="22" '
                             f'fill="{colour}"><title>{_e(skill)}: {count} students '
                             f"{_e(name)}</title></rect>")
            x += width
        parts.append(f'<text x="{label_w + bar_w + 8}" y="{y + 17}" font-size="12">median '
                     f"{_pct(statistics.median(shares))} (n={len(shares)})</text>")
    parts.append("</svg>")
    return "".join(parts)


def _outcome_bar(item: Item) -> str:
    """A small stacked bar of full / partial / zero / not attempted."""
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="160" height="14" role="img" '
             f'aria-label="{_e(_outcome_text(item))}">']
    x = 0.0
    for kind in OUTCOMES:
        width = 160 * item.share(kind)
        if width:
            parts.append(f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="14" '
                         f'fill="{COLOURS[kind]}"><title>{_e(kind)}: '
                         f"{_pct(item.share(kind))}</title></rect>")
        x += width
    return "".join(parts) + "</svg>"


def _outcome_text(item: Item) -> str:
    return ", ".join(f"{_pct(item.share(k))} {k}" for k in OUTCOMES)


def _messages(item: Item) -> str:
    if not item.messages:
        return '<span class="muted">no failure messages</span>'
    return '<ul class="msgs">' + "".join(
        f"<li><b>{m.students}</b> × <code>{_e(m.test)}</code>: {_e(m.template)}</li>"
        for m in item.messages[:3]) + "</ul>"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def _tasks(analysis: Analysis) -> str:
    rows = []
    for rank, item in enumerate(analysis.tasks[:MAX_TASKS], 1):
        rows.append(
            f'<tr><td class="n">{rank}</td><td><b>{_e(item.exercise)}</b><br>'
            f"{_e(item.title)}</td>"
            f'<td class="n">{item.lost:g} of {item.possible:g}<br>({_pct(item.loss)})</td>'
            f"<td>{_outcome_bar(item)}<br><span class=\"muted\">{_e(_outcome_text(item))}"
            f"</span></td><td>{_messages(item)}</td></tr>")
    more = (f'<p class="muted">{len(analysis.tasks) - MAX_TASKS} more tasks lost fewer points.'
            "</p>" if len(analysis.tasks) > MAX_TASKS else "")
    return ('<table><tr><th class="n">#</th><th>exercise / task</th><th class="n">points lost'
            "</th><th>students: full, partial, zero, not attempted</th><th>commonest messages "
            "(students)</th></tr>" + "".join(rows) + "</table>" + more)


def _exercises(analysis: Analysis) -> str:
    rows = [f"<tr><td><b>{_e(i.exercise)}</b><br>{_e(i.title)}</td><td>{_e(i.skill)}</td>"
            f'<td class="n">{i.students}</td>'
            + "".join(f'<td class="n">{_pct(i.share(k))}</td>' for k in OUTCOMES)
            + f'<td class="n">{_pct(i.loss)}</td><td class="n">{_seconds(i.median_seconds)}'
            "</td></tr>" for i in analysis.exercises]
    return ('<table><tr><th>exercise</th><th>skill</th><th class="n">students</th>'
            + "".join(f'<th class="n">{_e(k)}</th>' for k in OUTCOMES)
            + '<th class="n">points lost</th><th class="n">median time in learner code</th>'
            "</tr>" + "".join(rows) + "</table>")


def _changes(analysis: Analysis) -> str:
    if not analysis.regraded_units:
        return ("<p>Each unit has been graded once. When the class is graded again (say after "
                "the deadline), this section shows the change per task and per student.</p>")
    tasks = "".join(
        f"<tr><td>{_e(c.exercise)} / {_e(c.task)}</td><td class=\"n\">{c.improved}</td>"
        f'<td class="n">{c.declined}</td><td class="n">{c.unchanged}</td>'
        f'<td class="n">{c.change:+g}</td></tr>'
        for c in analysis.changes if c.improved or c.declined)
    students = "".join(
        f"<tr><td>{_e(s.student)}</td><td>{_e(s.exercise)} / {_e(s.task)}</td>"
        f'<td class="n">{s.before:g}</td><td class="n">{s.after:g}</td>'
        f'<td class="n">{s.after - s.before:+g} of {s.top:g}</td></tr>'
        for s in analysis.student_changes[:MAX_STUDENT_CHANGES])
    return (f"<p>{analysis.regraded_units} unit(s) were graded more than once; first grading "
            "compared with the latest.</p>"
            '<h3>Per task</h3><table><tr><th>exercise / task</th><th class="n">improved</th>'
            '<th class="n">declined</th><th class="n">unchanged</th><th class="n">points</th>'
            f"</tr>{tasks or '<tr><td colspan=5>no task changed</td></tr>'}</table>"
            '<h3>Per student</h3><table><tr><th>student</th><th>exercise / task</th>'
            '<th class="n">first</th><th class="n">latest</th><th class="n">change</th></tr>'
            f"{students}</table>")


def render(analysis: Analysis, title: str = "Class dashboard") -> str:
    """The dashboard page for an analysis."""
    total = analysis.exercises
    lost = sum(i.lost for i in total)
    possible = sum(i.possible for i in total)
    worst = analysis.tasks[0] if analysis.tasks else None
    cards = [("students", str(analysis.students)), ("exercises", str(len(total))),
             ("class score", _pct(1 - lost / possible) if possible else "–"),
             ("task losing most", f"{worst.exercise} / {worst.task}" if worst else "–")]
    card_html = "".join(f'<div class="card">{_e(name)}<b>{_e(value)}</b></div>'
                        for name, value in cards)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head><body>
<h1>{_e(title)}</h1><p class="muted">Generated {when} from the gradebook.</p>
<nav><a href="#skills">Skill areas</a><a href="#tasks">Tasks by loss</a>
<a href="#exercises">Exercises</a><a href="#changes">Change over time</a></nav>
<section id="summary"><h2>The class at a glance</h2><div class="cards">{card_html}</div>
</section>
<section id="skills"><h2>Skill areas</h2>
<p>How the class is spread over score bands in each skill area (a student's points over the
points possible in the exercises of that area they were graded on).</p>
{_skill_chart(analysis.skills)}</section>
<section id="tasks"><h2>Tasks ranked by points lost: what to re-teach</h2>
<p>Messages are grouped by test and template: numbers and quoted values are masked
(<code>#</code>, <code>'…'</code>), so hidden values never show.</p>
{_tasks(analysis)}</section>
<section id="exercises"><h2>Exercises</h2>{_exercises(analysis)}</section>
<section id="changes"><h2>Change over time</h2>{_changes(analysis)}</section>
</body></html>
"""


def write_dashboard(course: Course, gb: Gradebook, out_dir: Path) -> Path:
    """Write ``out_dir/index.html``; returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(render(analyse(course, gb)), encoding="utf-8")
    return path
