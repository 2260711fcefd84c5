"""Write grades into an nbgrader course's gradebook through nbgrader's own API.

Layout in nbgrader: one assignment (``--assignment``), one notebook per exercise (named by the
exercise id) holding one autograded cell ``score`` worth the exercise's points. Each student's
exercise score becomes that cell's ``auto_score``, so ``nbgrader export`` and formgrader show it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.instructor.gradebook import Grade

CELL = "score"


class NbgraderMissing(RuntimeError):
    """nbgrader is not installed in this environment."""


def _api() -> Any:
    try:
        from nbgrader import api  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise NbgraderMissing("writing to an nbgrader gradebook needs nbgrader: "
                              "pip install -e '.[nbgrader]' (in the environment that runs "
                              "grader)") from None
    return api


def require() -> None:
    """Fail now, before hours of grading, when nbgrader cannot be imported."""
    _api()


@contextlib.contextmanager
def _quiet_environment() -> Iterator[None]:
    """nbgrader runs ``alembic`` by name: find it beside this Python; hush SQLAlchemy's chatter."""
    here = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if here not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([here, path]) if path else here
    try:
        with warnings.catch_warnings():
            noisy: type[Warning] = Warning
            with contextlib.suppress(ImportError):
                from sqlalchemy.exc import SAWarning

                noisy = SAWarning
            if noisy is not Warning:
                warnings.filterwarnings("ignore", category=noisy)
            yield
    finally:
        os.environ["PATH"] = path


def _timestamp(text: str | None) -> datetime | None:
    """nbgrader's ``timestamp.txt`` text as a datetime (None when absent or unreadable)."""
    if not text:
        return None
    try:
        from nbgrader.utils import parse_utc  # type: ignore[import-not-found,unused-ignore]

        value = parse_utc(text.strip())
    except (ImportError, ValueError, TypeError, OverflowError):
        return None
    return value if isinstance(value, datetime) else None


def db_url(course_dir: Path) -> str:
    """nbgrader's default gradebook location for a course folder."""
    return f"sqlite:///{course_dir.resolve() / 'gradebook.db'}"


def sync(grades: Sequence[Grade], max_points: dict[str, float], course_dir: Path,
         assignment: str, course_id: str = "default_course",
         submitted_at: Mapping[str, str] | None = None) -> int:
    """Upsert every grade (with each student's submission time, for late penalties)."""
    api = _api()
    course_dir.mkdir(parents=True, exist_ok=True)
    with _quiet_environment():
        return _sync(api, grades, max_points, course_dir, assignment, course_id,
                     submitted_at or {})


def _sync(api: Any, grades: Sequence[Grade], max_points: dict[str, float], course_dir: Path,
          assignment: str, course_id: str, submitted_at: Mapping[str, str]) -> int:
    written = 0
    with api.Gradebook(db_url(course_dir), course_id=course_id) as gb:
        gb.update_or_create_assignment(assignment)
        for ex_id, points in max_points.items():
            gb.update_or_create_notebook(ex_id, assignment)
            gb.update_or_create_grade_cell(CELL, ex_id, assignment, max_score=points,
                                           cell_type="code")
        for grade in grades:
            if grade.exercise not in max_points:
                continue
            gb.update_or_create_student(grade.student)
            when = _timestamp(submitted_at.get(grade.student))
            gb.update_or_create_submission(assignment, grade.student,
                                           **({"timestamp": when} if when else {}))
            cell = _grade_row(api, gb, grade.exercise, assignment, grade.student)
            cell.auto_score = grade.score
            cell.needs_manual_grade = False
            gb.db.commit()
            written += 1
    return written


def _grade_row(api: Any, gb: Any, notebook: str, assignment: str, student: str) -> Any:
    """The student's grade for ``notebook``; created when the notebook was added later."""
    try:
        return gb.find_grade(CELL, notebook, assignment, student)
    except api.MissingEntry:
        pass
    submission = gb.find_submission(assignment, student)
    nb = gb.find_notebook(notebook, assignment)
    try:
        submitted = gb.find_submission_notebook(notebook, assignment, student)
    except api.MissingEntry:
        submitted = api.SubmittedNotebook(notebook=nb, assignment=submission)
        gb.db.add(submitted)
    cell = gb.find_grade_cell(CELL, notebook, assignment)
    row = api.Grade(cell_id=cell.id, notebook=submitted)
    gb.db.add(row)
    gb.db.commit()
    return row
