"""Per-student feedback pages: total, a bar chart of the seven skills, every test and the hints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from grader.engine.manifest import SKILLS, Exercise
from grader.engine.results import RunResult
from grader.instructor.student_ids import sanitise
from grader.reports.html_page import exercise_html
from grader.reports.safe_text import html

INDEX = "index"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1f2328;line-height:1.45;overflow-wrap:break-word}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;vertical-align:top;text-align:center}
@media (max-width:600px){body{margin:1rem auto;font-size:15px}th,td{padding:.25rem .3rem}}
h1{margin-bottom:.2rem} .total{font-size:1.4rem} .muted{color:#656d76;font-size:.9rem}
details{margin:.3rem 0 1rem} section{border-top:2px solid #d0d7de;margin-top:1.5rem}
pre{white-space:pre-wrap}
"""


def skill_totals(run: RunResult) -> dict[str, tuple[float, float]]:
    """Score and maximum per skill area, every skill present (zero when nothing was graded)."""
    totals = {skill: (0.0, 0.0) for skill in SKILLS}
    for ex in run.exercises:
        if ex.skill in totals:
            got, top = totals[ex.skill]
            totals[ex.skill] = (got + ex.score, top + ex.max_score)
    return totals


def skill_chart(run: RunResult) -> str:
    """An inline SVG bar chart, one bar per skill under its name: it scales down to a phone
    without clipping a label."""
    rows = skill_totals(run)
    width, bar_w, row_h = 360, 220, 44
    height = row_h * len(rows) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} '
             f'{height}" width="100%" style="max-width:{width * 1.4:.0f}px" '
             'aria-label="score per skill area" font-family="system-ui,sans-serif" '
             'font-size="13">']
    for i, (skill, (got, top)) in enumerate(rows.items()):
        y = 2 + i * row_h
        share = got / top if top else 0.0
        colour = "#1a7f37" if share >= 0.999 else "#9a6700" if share > 0 else "#cf222e"
        parts.append(f'<text x="0" y="{y + 14}">{html(SKILLS[skill])}</text>')
        parts.append(f'<rect x="0" y="{y + 20}" width="{bar_w}" height="14" fill="#eaeef2"/>')
        if top:
            parts.append(f'<rect x="0" y="{y + 20}" width="{bar_w * share:.1f}" height="14" '
                         f'fill="{colour}"/>')
            text = f"{got:g}/{top:g}"
        else:
            text = "not graded"
        parts.append(f'<text x="{bar_w + 8}" y="{y + 32}">{html(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _hints(ex: Exercise) -> str:
    items = "".join(f"<li>{html(h)}</li>" for h in ex.hints)
    return (f"<details><summary>Hints for {html(ex.id, True)} (from a nudge to nearly the "
            f"answer)</summary><ol>{items}</ol></details>")


def student_page(student: str, run: RunResult, manifests: Mapping[str, Exercise],
                 course_title: str = "ML Engineer Lab") -> str:
    """One learner's whole feedback page as a standalone HTML document."""
    pct = f" ({100 * run.score / run.max_score:.0f}%)" if run.max_score else ""
    env = run.environment
    sections = []
    for ex in run.exercises:
        manifest = manifests.get(ex.id)
        body = exercise_html(ex, {t.id: t.title for t in manifest.tasks} if manifest else None)
        if manifest is not None and ex.status != "passed":
            body += _hints(manifest)
        sections.append(f"<section>{body}</section>")
    return "\n".join([
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html(course_title)}: feedback for {html(student, True)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html(course_title)}: feedback for {html(student, True)}</h1>",
        f'<p class="total">Total: <strong>{run.score:g}/{run.max_score:g}</strong>{pct}</p>',
        "<h2>By skill area</h2>", skill_chart(run),
        "<h2>Exercises</h2>",
        '<p class="muted">Every test that graded your work, with what it checked. Tests marked '
        "<em>(hidden)</em> used inputs you did not see; their messages say what went wrong in "
        "general terms.</p>",
        *sections,
        f'<p class="muted">Graded by grader {html(str(env.get("grader", "?")))}, seed '
        f'{html(str(env.get("seed", "?")))}, isolation '
        f'{html(str(env.get("isolation", "?")))}.</p>',
        "</body></html>", ""])


def index_page(rows: Sequence[tuple[str, float, float]], course_title: str = "ML Engineer Lab",
               names: Mapping[str, str] | None = None) -> str:
    """The instructor's list of feedback pages: student, total, link (``names``: file stems)."""
    names = names or page_names(s for s, _, _ in rows)
    # "./" first: a page name can never read as a URL scheme such as javascript:
    body = "".join(f'<tr><td style="text-align:left"><a href="./{html(names[s] + ".html")}">'
                   f"{html(s, True)}</a></td><td>{got:g}/{top:g}</td></tr>"
                   for s, got, top in rows)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>'
            f"{html(course_title)}: feedback pages</title><style>{STYLE}</style></head><body>"
            f"<h1>Feedback pages</h1><table><thead><tr><th style=\"text-align:left\">student"
            f"</th><th>total</th></tr></thead><tbody>{body}</tbody></table></body></html>\n")


def page_names(students: Iterable[str]) -> dict[str, str]:
    """A file stem per student: the id when it is a safe file name, never ``index``, and never
    two that differ only in case (one file on macOS and Windows)."""
    taken, names = {INDEX}, {}
    for student in sorted(set(students)):
        stem = sanitise(student)
        candidate, n = stem, 2
        while candidate.lower() in taken:
            candidate, n = f"{stem}-{n}", n + 1
        taken.add(candidate.lower())
        names[student] = candidate
    return names


def write_pages(out: Path, pages: Mapping[str, str]) -> None:
    """Write ``{file name: html}`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, page in pages.items():
        (out / name).write_text(page, encoding="utf-8")
