"""Rubric points a person grades stay pending until recorded, then count everywhere."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from grader.cli import main
from grader.instructor.gradebook import Gradebook

FIXTURE = Path(__file__).parent / "fixtures" / "course"
REL = "01_programming/01_tiny-stats"


@pytest.fixture
def graded_class(tmp_path: Path) -> tuple[Path, Path]:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE, course)
    manifest = course / "exercises" / REL / "exercise.toml"
    manifest.write_text(manifest.read_text() + '\n[[manual]]\nid = "style"\n'
                        'title = "Readable names and docstrings"\npoints = 3\n')
    subs = tmp_path / "class"
    (subs / "alice" / REL).mkdir(parents=True)
    shutil.copy(course / "solutions" / REL / "stats.py", subs / "alice" / REL / "stats.py")
    assert main(["--course", str(course), "batch", str(subs), "--jobs", "1", "--quiet"]) == 0
    return course, subs


def test_manual_points_pending_until_recorded(graded_class: tuple[Path, Path],
                                              tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    course, subs = graded_class
    db = subs / "gradebook.sqlite"
    with Gradebook(db) as gb:
        grade = gb.get("alice", "tiny-stats")
        assert grade is not None
        assert (grade.score, grade.max_score) == (6, 6)
        assert grade.exercise_result().pending_points == 3
    base = ["--course", str(course), "manual", str(db), "alice", "tiny-stats"]
    assert main([*base, "nosuch", "1"]) == 2
    assert main([*base, "style", "4"]) == 2  # more than the item is worth
    assert main([*base, "style", "2", "--feedback", "name the loop variables"]) == 0
    assert "now 8/9" in capsys.readouterr().out
    with Gradebook(db) as gb:
        grade = gb.get("alice", "tiny-stats")
        assert grade is not None and (grade.score, grade.max_score) == (8, 9)
        reviewed = [t for t in grade.exercise_result().tests if t.name == "manual: style"]
        assert reviewed[0].status == "failed" and "name the loop variables" in reviewed[0].message
    out = tmp_path / "grades.csv"
    assert main(["--course", str(course), "export", str(db), "--csv", str(out)]) == 0
    rows = list(csv.reader(io.StringIO(out.read_text())))
    header, alice = rows[0], rows[-1]
    assert alice[header.index(next(h for h in header if h.startswith("tiny-stats")))] == "8", rows
