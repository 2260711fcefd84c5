"""`grader grade` grades a course's exercises side by side, each in its bounded judge."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.engine.course import Course
from grader.engine.runner import grade

FIXTURE = Path(__file__).parent / "fixtures" / "course"
REL = Path("01_programming") / "01_tiny-stats"


@pytest.fixture
def three_exercises(tmp_path: Path) -> Course:
    """The fixture course with tiny-stats three times over, under three ids."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    for n in (2, 3):
        rel = Path("01_programming") / f"0{n}_tiny-stats-{n}"
        for tree in ("exercises", "solutions"):
            shutil.copytree(root / tree / REL, root / tree / rel)
        manifest = root / "exercises" / rel / "exercise.toml"
        manifest.write_text(manifest.read_text().replace('id = "tiny-stats"',
                                                         f'id = "tiny-stats-{n}"'))
    return Course.load(root)


def test_side_by_side_gives_the_same_grades_in_course_order(three_exercises: Course) -> None:
    course = three_exercises
    one = grade(course, course.exercises, course.root / "solutions", seed=5, bounded=True)
    two = grade(course, course.exercises, course.root / "solutions", seed=5, bounded=True,
                jobs=2)
    assert [r.id for r in two.exercises] == ["tiny-stats", "tiny-stats-2", "tiny-stats-3"]
    assert [(r.id, r.score, r.max_score) for r in two.exercises] == \
        [(r.id, r.score, r.max_score) for r in one.exercises]
    assert all(r.score == r.max_score for r in two.exercises)
    starter = grade(course, course.exercises, course.root / "exercises", seed=5, bounded=True,
                    jobs=2)
    assert [r.score for r in starter.exercises] == [0.0, 0.0, 0.0]
