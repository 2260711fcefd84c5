"""What `grader similarity` writes: a ranked terminal table, a CSV and a side-by-side HTML page.

Student names and file contents are learner-controlled: the terminal gets them with control
and format characters made visible and never as rich markup, the CSV with formula-starting
cells neutralised, the HTML page escaped everywhere.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from pathlib import Path

from grader.engine.course import Course
from grader.instructor.fingerprints import MAX_TEXT_BYTES
from grader.instructor.similarity import REFERENCE, Match, SimilarityReport
from grader.reports.safe_text import csv_cell, shortened
from grader.sandbox.limits import read_output

NOT_PROOF = ("Similarity is a reason to look, not proof: students solving the same exercise "
             "from the same README write alike, and a shared source (a textbook, a tutorial, "
             "a study group) is not copying. Read the evidence and talk to the students "
             "before concluding anything.")
MAX_PAGE_PAIRS = 100  # flagged pairs shown side by side on the page
MAX_SHOWN_CHARS = 64 * 1024  # of each file on the page


def rows(report: SimilarityReport) -> list[list[str]]:
    """The ranked table: header, then one row per kept pair."""
    out = [["rank", "exercise", "kind", "student_a", "student_b", "shared", "size_a", "size_b",
            "similarity", "flagged", "evidence"]]
    for rank, m in enumerate(report.matches, 1):
        out.append([str(rank), m.exercise, m.kind, m.a, m.b, str(m.shared), str(m.size_a),
                    str(m.size_b), f"{m.score:.0%}", "yes" if m.flagged else "no",
                    "; ".join(m.evidence)])
    return out


def write_csv(report: SimilarityReport, path: Path) -> None:
    """The whole ranked table as CSV."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows(report):
        writer.writerow([csv_cell(str(cell)) for cell in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def print_table(report: SimilarityReport, top: int) -> None:
    """The best ``top`` pairs in the terminal; learner text is never parsed as markup."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, markup=False, emoji=False)
    table = Table(title=f"similarity: {report.students} students, {report.exercises} exercises "
                  f"({len(report.flagged)} pairs above the thresholds)", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column, width in (("#", 4), ("exercise", 13), ("kind", 6), ("student", 12),
                          ("student", 12), ("shared", 6), ("sim.", 4)):
        table.add_column(column, no_wrap=True, min_width=width, max_width=width,
                         justify="right" if column in ("#", "shared", "sim.") else "left")
    for row in rows(report)[1:top + 1]:
        rank, exercise, kind, a, b, shared, _, _, score, flagged, _ = row
        cells = (f"{rank}{'!' if flagged == 'yes' else ' '}", exercise, kind, a, b, shared, score)
        table.add_row(*(Text(shortened(cell, 32)) for cell in cells))
    console.print(table)
    console.print(Text("! above the thresholds; the evidence for each pair is in the CSV and, "
                       "side by side, on the HTML page.\n" + NOT_PROOF))


def _marked(text: str, regions: Sequence[tuple[int, int]]) -> str:
    """``text`` escaped, with the given character ranges wrapped in <mark>."""
    merged: list[list[int]] = []
    for start, end in sorted(regions):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        out.append(html.escape(text[at:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def _side(class_dir: Path, course: Course, m: Match, student: str,
          regions: list[tuple[str, int, int]]) -> str:
    ex = course.get(m.exercise)
    parts = []
    for name in sorted({r[0] for r in regions}):
        try:
            raw = read_output(class_dir / student, f"{ex.rel}/{name}", MAX_TEXT_BYTES)
        except (FileNotFoundError, ValueError) as exc:
            parts.append(f"<p>{html.escape(name)}: {html.escape(str(exc))}</p>")
            continue
        text = raw.decode("utf-8", "replace")
        cut = text[:MAX_SHOWN_CHARS]
        spans = [(s, e) for n, s, e in regions if n == name]
        more = "\n… (cut here on this page)" if len(text) > len(cut) else ""
        parts.append(f"<h4>{html.escape(name)}</h4><pre>{_marked(cut, spans)}"
                     f"{html.escape(more)}</pre>")
    return "".join(parts) or "<p>(no file regions: see the evidence)</p>"


def _name(student: str) -> str:
    """A student's folder name for the page: escaped, control characters made visible."""
    return html.escape(shortened(student, 200))


def _pair_section(i: int, m: Match, class_dir: Path, course: Course) -> str:
    e = html.escape
    who = (f"{_name(m.a)} and {_name(m.b)}" if m.b != REFERENCE else
           f"{_name(m.a)} and the course's reference")
    evidence = "".join(f"<li>{e(line)}</li>" for line in m.evidence)
    body = ""
    if m.kind == "code" and m.regions_a:
        right = (_side(class_dir, course, m, m.b, m.regions_b) if m.b != REFERENCE else
                 "<p>(the reference solution is not shown here)</p>")
        body = (f'<div class="sbs"><div><h3>{_name(m.a)}</h3>'
                f"{_side(class_dir, course, m, m.a, m.regions_a)}</div>"
                f"<div><h3>{_name(m.b)}</h3>{right}</div></div>")
    return (f'<section id="pair-{i}"><h2>#{i} {e(m.exercise)} ({e(m.kind)}): {who}</h2>'
            f'<p class="note">{e(NOT_PROOF)}</p><p>Similarity {m.score:.0%}; '
            f"{m.shared} shared fingerprints ({m.size_a} and {m.size_b} of their own).</p>"
            f"<ul>{evidence}</ul>{body}</section>")


CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1400px;
       padding: 0 1rem; color: #1b1b1b; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left;
         vertical-align: top; }
.note { background: #fff6d6; border-left: 4px solid #e0b000; padding: 0.5rem 0.75rem; }
.sbs { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
pre { background: #f6f6f6; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem;
      white-space: pre-wrap; word-break: break-all; }
mark { background: #ffd27a; }
section { border-top: 2px solid #333; margin-top: 2rem; }
@media print { .sbs { grid-template-columns: 1fr 1fr; } section { break-before: page; }
               pre { font-size: 7pt; } }
"""


def write_html(report: SimilarityReport, course: Course, class_dir: Path, path: Path) -> None:
    """The ranked table and, for each flagged pair, the evidence and a side-by-side view."""
    e = html.escape
    s = report.settings
    flagged = report.flagged[:MAX_PAGE_PAIRS]
    anchors = {id(m): i for i, m in enumerate(flagged, 1)}
    table = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in rows(report)[0][:10]) +
             "</tr>"]
    for row, m in zip(rows(report)[1:], report.matches, strict=True):
        cells = [_name(c) if i in (3, 4) else e(c) for i, c in enumerate(row[:10])]
        if id(m) in anchors:
            cells[0] = f'<a href="#pair-{anchors[id(m)]}">{cells[0]}</a>'
        table.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    table.append("</table>")
    notes = "".join(f"<li>{e(n)}</li>" for n in report.notes[:200])
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Similarity report</title><style>{CSS}</style></head><body>
<h1>Similarity report</h1>
<p class="note">{e(NOT_PROOF)}</p>
<p>{report.students} students, {report.exercises} exercises, {report.files} files read in
{report.seconds:.1f} s. Code is compared as winnowed token fingerprints (names, literals,
comments and layout do not count); the starter's and the reference's fingerprints, and those in
more than {s.common_share:.0%} of the class, are left out. A code pair is flagged when it shares
at least {s.min_shared} fingerprints and {s.threshold:.0%} of the smaller submission's own; a
model pair when {s.model_threshold:.0%} of its distinctive tensors match; an output file when
it is identical after rounding. {len(report.flagged)} pairs are flagged
({len(flagged)} shown side by side below).</p>
{"".join(table)}
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
{"".join(_pair_section(i, m, class_dir, course) for i, m in enumerate(flagged, 1))}
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
