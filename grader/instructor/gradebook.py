"""The class gradebook: one SQLite row per student and exercise, one transaction per grade."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.engine.results import PENDING, ExerciseResult, RunResult
from grader.instructor import history

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    jobs        INTEGER NOT NULL,
    planned     INTEGER NOT NULL,
    graded      INTEGER NOT NULL DEFAULT 0,
    command     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grades (
    student            TEXT NOT NULL,
    exercise           TEXT NOT NULL,
    score              REAL NOT NULL,
    max_score          REAL NOT NULL,
    status             TEXT NOT NULL,
    result             TEXT NOT NULL,
    submission_hash    TEXT NOT NULL,
    course_hash        TEXT NOT NULL,
    grader             TEXT NOT NULL,
    environment        TEXT NOT NULL,
    env_hash           TEXT NOT NULL,
    seed               INTEGER NOT NULL,
    duration           REAL NOT NULL,
    submission_seconds REAL,
    graded_at          TEXT NOT NULL,
    run_id             INTEGER REFERENCES runs(id),
    PRIMARY KEY (student, exercise)
);
CREATE TABLE IF NOT EXISTS manual (
    student     TEXT NOT NULL,
    exercise    TEXT NOT NULL,
    item        TEXT NOT NULL,
    points      REAL NOT NULL,
    feedback    TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (student, exercise, item)
);
"""
_COLUMNS = ("student", "exercise", "score", "max_score", "status", "result", "submission_hash",
            "course_hash", "grader", "environment", "env_hash", "seed", "duration",
            "submission_seconds", "graded_at", "run_id")


def now() -> str:
    """The current UTC time as ISO 8601 text."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Grade:
    """One stored grade and what it was computed from."""

    student: str
    exercise: str
    score: float
    max_score: float
    status: str
    result: dict[str, Any]
    submission_hash: str
    course_hash: str
    grader: str
    environment: dict[str, Any]
    env_hash: str
    seed: int
    duration: float
    submission_seconds: float | None = None
    graded_at: str = ""
    run_id: int | None = None

    def exercise_result(self) -> ExerciseResult:
        """The stored result in the engine's own model."""
        return RunResult.from_dict({"exercises": [self.result]}).exercises[0]


class Gradebook:
    """A gradebook file; safe to kill at any moment (WAL journal, one transaction per grade)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a killed process
        self.db.execute("PRAGMA foreign_keys=ON")
        with self.transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            history.install(self.db)  # every grade kept, for change over time
            found = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if found is None:
                self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif found[0] != SCHEMA_VERSION:
                raise RuntimeError(f"{path} has gradebook schema {found[0]}, this grader "
                                   f"reads {SCHEMA_VERSION}")

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def transaction(self) -> _Transaction:
        """``with gb.transaction():`` commits on success, rolls back on any exception."""
        return _Transaction(self.db)

    # -- meta and runs -------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A stored setting, e.g. the class seed."""
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting."""
        with self.transaction():
            self.db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                            "value=excluded.value", (key, value))

    def start_run(self, jobs: int, planned: int, command: str) -> int:
        """Record the start of a batch run; returns its id."""
        with self.transaction():
            cur = self.db.execute("INSERT INTO runs (started_at, jobs, planned, command) "
                                  "VALUES (?, ?, ?, ?)", (now(), jobs, planned, command))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int) -> None:
        """Mark a run finished (a run without a finish time was interrupted)."""
        with self.transaction():
            self.db.execute("UPDATE runs SET finished_at=? WHERE id=?", (now(), run_id))

    def runs(self) -> list[dict[str, Any]]:
        """Every batch run, oldest first."""
        return [dict(r) for r in self.db.execute("SELECT * FROM runs ORDER BY id")]

    def settle_runs(self) -> None:
        """Every unit is graded now: earlier runs that did not finish need no rerun."""
        last = self.db.execute("SELECT MAX(id) FROM runs").fetchone()[0]
        if last is not None:
            self.set_meta("settled_through", str(last))

    def unfinished_runs(self) -> list[dict[str, Any]]:
        """Runs that were interrupted (no finish time) and that no later run has made up for:
        a whole-class run that finished, or found nothing left to grade, settles them."""
        settled = int(self.meta("settled_through") or 0)
        return [r for r in self.runs() if not r["finished_at"] and r["id"] > settled]

    # -- grades --------------------------------------------------------------------------------

    def record(self, grade: Grade) -> None:
        """Insert or replace one grade, atomically (the key is student and exercise)."""
        grade.graded_at = grade.graded_at or now()
        values = {name: getattr(grade, name) for name in _COLUMNS}
        values["result"] = json.dumps(grade.result, sort_keys=True)
        values["environment"] = json.dumps(grade.environment, sort_keys=True)
        names = ", ".join(_COLUMNS)
        marks = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c}=excluded.{c}" for c in _COLUMNS[2:])
        with self.transaction():
            self.db.execute(f"INSERT INTO grades ({names}) VALUES ({marks}) "
                            f"ON CONFLICT(student, exercise) DO UPDATE SET {updates}",
                            [values[c] for c in _COLUMNS])
            if grade.run_id is not None:
                self.db.execute("UPDATE runs SET graded = graded + 1 WHERE id=?",
                                (grade.run_id,))

    def record_manual(self, student: str, exercise: str, item: str, points: float,
                      feedback: str = "") -> None:
        """Record what a person awarded for one rubric item (replaces an earlier record)."""
        with self.transaction():
            self.db.execute("INSERT INTO manual VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(student, "
                            "exercise, item) DO UPDATE SET points=excluded.points, "
                            "feedback=excluded.feedback, recorded_at=excluded.recorded_at",
                            (student, exercise, item, points, feedback, now()))

    def manual(self, student: str, exercise: str) -> dict[str, tuple[float, str]]:
        """Recorded rubric items of one unit: item -> (points, feedback)."""
        rows = self.db.execute("SELECT item, points, feedback FROM manual WHERE student=? AND "
                               "exercise=?", (student, exercise))
        return {r[0]: (float(r[1]), str(r[2])) for r in rows}

    def _with_manual(self, grade: Grade) -> Grade:
        """Turn pending rubric items a person has recorded into counted points."""
        recorded = self.manual(grade.student, grade.exercise)
        if not recorded:
            return grade
        for test in grade.result.get("tests", []):
            item = str(test.get("name", "")).removeprefix("manual: ")
            if test.get("status") == PENDING and item in recorded:
                points, feedback = recorded[item]
                test["score"] = min(points, float(test["max_score"]))
                test["status"] = "passed" if test["score"] >= test["max_score"] else "failed"
                test["message"] = f"reviewed by your instructor: {feedback or 'no comment'}"
        result = grade.exercise_result()
        grade.result = result.to_dict()
        grade.score, grade.max_score, grade.status = result.score, result.max_score, result.status
        return grade

    def get(self, student: str, exercise: str) -> Grade | None:
        """The grade of one unit, if any."""
        row = self.db.execute("SELECT * FROM grades WHERE student=? AND exercise=?",
                              (student, exercise)).fetchone()
        return None if row is None else self._with_manual(_grade(row))

    def grades(self, students: Sequence[str] | None = None,
               exercises: Sequence[str] | None = None) -> list[Grade]:
        """Stored grades, by student then exercise, optionally filtered."""
        return [g for g in self._all() if (students is None or g.student in students)
                and (exercises is None or g.exercise in exercises)]

    def _all(self) -> Iterator[Grade]:
        rows = self.db.execute("SELECT * FROM grades ORDER BY student, exercise").fetchall()
        for row in rows:
            yield self._with_manual(_grade(row))

    def students(self) -> list[str]:
        """Every student with at least one grade, sorted."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT student FROM grades "
                                              "ORDER BY student")]

    def exercises(self) -> list[str]:
        """Every exercise with at least one grade, sorted."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT exercise FROM grades "
                                              "ORDER BY exercise")]

    def delete(self, students: Sequence[str] | None = None,
               exercises: Sequence[str] | None = None) -> int:
        """Remove grades (e.g. a withdrawn student); returns how many."""
        doomed = self.grades(students, exercises)
        with self.transaction():
            for g in doomed:
                self.db.execute("DELETE FROM grades WHERE student=? AND exercise=?",
                                (g.student, g.exercise))
        return len(doomed)

    def run_result(self, student: str, order: Sequence[str] = ()) -> RunResult:
        """One student's grades as a RunResult (exercises in ``order`` first, then by id)."""
        grades = self.grades([student])
        rank = {ex_id: i for i, ex_id in enumerate(order)}
        grades.sort(key=lambda g: (rank.get(g.exercise, len(rank)), g.exercise))
        run = RunResult(exercises=[g.exercise_result() for g in grades])
        if grades:
            latest = max(grades, key=lambda g: g.graded_at)
            hidden = any(t.hidden for ex in run.exercises for t in ex.tests)
            run.environment = dict(latest.environment, grader=latest.grader, seed=latest.seed,
                                   hidden_tests=hidden)
        return run


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _grade(row: sqlite3.Row) -> Grade:
    data = dict(row)
    data["result"] = json.loads(data["result"])
    data["environment"] = json.loads(data["environment"])
    return Grade(**data)
