"""The gradebook as an LMS CSV: Canvas's import layout, one row per student, a column each exercise.

Columns: ``Student, ID, SIS User ID, SIS Login ID, Section``, one column per exercise (header:
the exercise id), then ``Final Points`` (the total; Canvas treats that header as read-only and
recomputes it, other tools read it as the total). Row 2 is Canvas's ``Points Possible`` row.
A roster (Canvas's own gradebook export) fills the identity columns and the row order. Every
cell is quoted, and one that a spreadsheet would read as a formula starts with ``'`` (OWASP).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.instructor.gradebook import Grade
from grader.reports.safe_text import csv_cell

IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
TOTAL = "Final Points"
POINTS_ROW = "    Points Possible"  # as Canvas writes it: leading spaces and all
LATE = "Late (read only)"  # Canvas imports no column whose points row says "(read only)"


@dataclass
class RosterRow:
    """One student as the LMS knows them."""

    fields: dict[str, str]
    keys: set[str] = field(default_factory=set)  # normalised names our student ids may match


def _norm(text: str) -> str:
    """Lower-case letters and digits only: how Canvas names files in a bulk download."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def read_roster(path: Path) -> list[RosterRow]:
    """A Canvas gradebook export (or any CSV with those identity columns)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    roster = []
    for row in rows:
        name = (row.get("Student") or "").strip()
        if not name or "Points Possible" in name or name == "Student, Test":
            continue
        fields = {k: (row.get(k) or "").strip() for k in IDENTITY}
        keys = {_norm(v) for k, v in fields.items() if k != "Section" and v}
        roster.append(RosterRow(fields, keys - {""}))
    return roster


def _match(students: Sequence[str], roster: Sequence[RosterRow], lms_ids: Mapping[str, str]
           ) -> tuple[dict[int, str], list[str]]:
    """Roster row index -> student, and warnings. A student with an LMS user id matches the row
    with that ``ID`` only; others match by login, ids or name. A student who fits several rows,
    and a row that several students fit, match nothing: no one takes another's row."""
    by_id: dict[str, list[int]] = {}
    by_key: dict[str, list[int]] = {}
    for i, entry in enumerate(roster):
        by_id.setdefault(entry.fields.get("ID", ""), []).append(i)
        for key in entry.keys:
            by_key.setdefault(key, []).append(i)
    warnings: list[str] = []
    claims: dict[int, list[str]] = {}
    for student in students:
        user = lms_ids.get(student, "")
        hits = by_id.get(user, []) if user else by_key.get(_norm(student), [])
        if len(hits) > 1:
            rows = "; ".join(roster[i].fields.get("Student", "?") for i in hits)
            warnings.append(f"{student} fits {len(hits)} roster rows ({rows}): given none of them; "
                            "add the grade by hand")
        elif hits:
            claims.setdefault(hits[0], []).append(student)
    matched: dict[int, str] = {}
    for row, who in claims.items():
        if len(who) == 1:
            matched[row] = who[0]
            continue
        name = roster[row].fields.get("Student", "?")
        warnings.append(f"roster row {name!r} fits {len(who)} students ({', '.join(who)}): given "
                        "to none of them; find out which one it is")
    return matched, warnings


def gradebook_csv(grades: Sequence[Grade], exercises: Sequence[tuple[str, float]],
                  roster: Sequence[RosterRow] = (), points_row: bool = True,
                  lms_ids: Mapping[str, str] | None = None,
                  late: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """The CSV text and warnings (students missing from the roster, and so on).

    ``exercises`` is ``(id, max points)`` in column order; ``lms_ids`` maps student ids to
    Canvas user ids (from collect's report). A student without a grade for an exercise gets an
    empty cell (no change in Canvas), not a zero. Every cell goes through ``csv_cell``: nothing
    a student named or wrote can run as a spreadsheet formula. ``late`` (students whose LMS
    marked the submission late) adds a read-only ``Late`` column after the total.
    """
    by_student: dict[str, dict[str, Grade]] = {}
    for g in grades:
        by_student.setdefault(g.student, {})[g.exercise] = g
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)

    def row(cells: Sequence[str]) -> None:
        writer.writerow([csv_cell(c) for c in cells])

    flag = [LATE] if late else []
    row([*IDENTITY, *(ex for ex, _ in exercises), TOTAL, *flag])
    if points_row:
        row([POINTS_ROW, "", "", "", "", *(f"{p:g}" for _, p in exercises),
             f"{sum(p for _, p in exercises):g}", *(["(read only)"] if late else [])])
    matched, warnings = _match(sorted(by_student), roster, lms_ids or {})
    rows: list[tuple[dict[str, str], str | None]] = [
        (entry.fields, matched.get(i)) for i, entry in enumerate(roster)]
    for student in sorted(set(by_student) - set(matched.values())):
        if roster:  # no login column: the LMS must not match this row to someone by guess
            warnings.append(f"{student} has no roster row of its own: added at the end with "
                            "only a name; fix it before importing")
            rows.append(({"Student": student}, student))
        else:
            rows.append(({"Student": student, "SIS Login ID": student}, student))
    for fields, owner in rows:
        mine = by_student.get(owner or "", {})
        cells = [f"{mine[ex].score:g}" if ex in mine else "" for ex, _ in exercises]
        total = f"{sum(g.score for g in mine.values() if g.exercise in dict(exercises)):g}" \
            if mine else ""
        marked = (["late" if owner in late else ""] if late else [])
        row([fields.get(k, "") for k in IDENTITY] + cells + [total] + marked)
    return out.getvalue(), warnings
