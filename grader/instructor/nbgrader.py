"""Write grades into an nbgrader course's gradebook through nbgrader's own API.

Layout in nbgrader: one assignment (``--assignment``), one notebook per exercise (named by the
exercise id) holding one autograded cell ``score`` worth the exercise's points. Each student's
exercise score becomes that cell's ``auto_score``, so ``nbgrader export`` and formgrader show it.
"""

from __future__ import annotations

from collections.abc import Sequence
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
                              "pip install nbgrader (in the environment that runs grader)"
                              ) from None
    return api


def db_url(course_dir: Path) -> str:
    """nbgrader's default gradebook location for a course folder."""
    return f"sqlite:///{course_dir.resolve() / 'gradebook.db'}"


def sync(grades: Sequence[Grade], max_points: dict[str, float], course_dir: Path,
         assignment: str, course_id: str = "default_course") -> int:
    """Upsert every grade; returns how many scores were written."""
    api = _api()
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
            gb.update_or_create_submission(assignment, grade.student)
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
