"""Every grade a unit has had, kept beside the gradebook by SQLite triggers.

The gradebook keeps one row per student and exercise and replaces it on a regrade. To show how
a class changed between gradings (before and after a deadline), triggers copy each new or
changed grade into ``grade_history``; grades stored before the table existed are copied once.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

_COPIED = "student, exercise, score, max_score, status, result, graded_at, run_id"
STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS grade_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT, student TEXT NOT NULL, exercise TEXT NOT NULL,
        score REAL NOT NULL, max_score REAL NOT NULL, status TEXT NOT NULL,
        result TEXT NOT NULL, graded_at TEXT NOT NULL, run_id INTEGER)""",
    "CREATE INDEX IF NOT EXISTS grade_history_unit ON grade_history (student, exercise)",
    f"""CREATE TRIGGER IF NOT EXISTS grade_history_insert AFTER INSERT ON grades BEGIN
        INSERT INTO grade_history ({_COPIED}) VALUES (NEW.student, NEW.exercise, NEW.score,
        NEW.max_score, NEW.status, NEW.result, NEW.graded_at, NEW.run_id); END""",
    f"""CREATE TRIGGER IF NOT EXISTS grade_history_update AFTER UPDATE ON grades
        WHEN NEW.graded_at IS NOT OLD.graded_at OR NEW.result IS NOT OLD.result BEGIN
        INSERT INTO grade_history ({_COPIED}) VALUES (NEW.student, NEW.exercise, NEW.score,
        NEW.max_score, NEW.status, NEW.result, NEW.graded_at, NEW.run_id); END""",
    f"""INSERT INTO grade_history ({_COPIED}) SELECT {_COPIED} FROM grades g WHERE NOT EXISTS
        (SELECT 1 FROM grade_history h WHERE h.student = g.student
         AND h.exercise = g.exercise)""",
)


def install(db: sqlite3.Connection) -> None:
    """Create the history table and its triggers (idempotent; call inside a transaction)."""
    for statement in STATEMENTS:
        db.execute(statement)


@dataclass
class Graded:
    """One past grading of one unit, reduced to points per README task."""

    student: str
    exercise: str
    graded_at: str
    run_id: int | None
    score: float
    max_score: float
    tasks: dict[str, tuple[float, float]]  # task -> (score, max_score)


def task_points(result: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Points per task of a stored exercise result (manual-review items left out)."""
    out: dict[str, tuple[float, float]] = {}
    for test in result.get("tests", []):
        if test.get("status") == "pending":
            continue
        task = str(test.get("task") or "(no task)")
        score, top = out.get(task, (0.0, 0.0))
        out[task] = (score + float(test.get("score", 0)), top + float(test.get("max_score", 0)))
    return out


def gradings(db: sqlite3.Connection) -> dict[tuple[str, str], list[Graded]]:
    """Per unit still in the gradebook, its gradings oldest first."""
    rows = db.execute("SELECT h.student, h.exercise, h.graded_at, h.run_id, h.score, "
                      "h.max_score, h.result FROM grade_history h JOIN grades g ON "
                      "g.student = h.student AND g.exercise = h.exercise ORDER BY h.id")
    out: dict[tuple[str, str], list[Graded]] = {}
    for student, exercise, at, run_id, score, top, result in rows:
        out.setdefault((student, exercise), []).append(Graded(
            student, exercise, at, run_id, float(score), float(top),
            task_points(json.loads(result))))
    return out
