"""The gradebook as an LMS CSV: Canvas's import layout, one row per student, a column each exercise.

Columns: ``Student, ID, SIS User ID, SIS Login ID, Section``, one column per exercise (header:
the exercise id), then ``Final Points`` (the total; Canvas treats that header as read-only and
recomputes it, other tools read it as the total). Row 2 is Canvas's ``Points Possible`` row.
A roster (Canvas's own gradebook export) fills the identity columns and the row order.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.instructor.gradebook import Grade

IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
TOTAL = "Final Points"
POINTS_ROW = "    Points Possible"  # as Canvas writes it: leading spaces and all


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


def gradebook_csv(grades: Sequence[Grade], exercises: Sequence[tuple[str, float]],
                  roster: Sequence[RosterRow] = (), points_row: bool = True
                  ) -> tuple[str, list[str]]:
    """The CSV text and warnings (students missing from the roster, and so on).

    ``exercises`` is ``(id, max points)`` in column order. A student without a grade for an
    exercise gets an empty cell (no change in Canvas), not a zero.
    """
    by_student: dict[str, dict[str, Grade]] = {}
    for g in grades:
        by_student.setdefault(g.student, {})[g.exercise] = g
    warnings: list[str] = []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*IDENTITY, *(ex for ex, _ in exercises), TOTAL])
    if points_row:
        writer.writerow([POINTS_ROW, "", "", "", "", *(f"{p:g}" for _, p in exercises),
                         f"{sum(p for _, p in exercises):g}"])
    matched: set[str] = set()
    rows: list[tuple[dict[str, str], str | None]] = []
    for entry in roster:
        student = next((s for s in sorted(by_student) if _norm(s) in entry.keys), None)
        if student is not None:
            matched.add(student)
        rows.append((entry.fields, student))
    for student in sorted(set(by_student) - matched):
        if roster:
            warnings.append(f"{student} is not in the roster: added at the end with only a "
                            "SIS Login ID; fix it before importing")
        rows.append(({"Student": student, "SIS Login ID": student}, student))
    for fields, student in rows:
        mine = by_student.get(student or "", {})
        cells = [f"{mine[ex].score:g}" if ex in mine else "" for ex, _ in exercises]
        total = f"{sum(g.score for g in mine.values() if g.exercise in dict(exercises)):g}" \
            if mine else ""
        writer.writerow([fields.get(k, "") for k in IDENTITY] + cells + [total])
    return out.getvalue(), warnings
