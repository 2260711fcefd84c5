"""nbgrader both ways: a release nbgrader accepts, and grades (with submission times) back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_release import make_course

from grader.cli import main

pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install -e '.[nbgrader]'")


def _nbgrader(course_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}"}
    return subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args],
                          cwd=course_dir, capture_output=True, text=True, env=env, timeout=300,
                          check=False)


def test_release_for_nbgrader_is_accepted_by_generate_assignment(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = tmp_path / "course"
    course.mkdir()
    make_course(course)
    nbcourse = tmp_path / "nbcourse"
    assert main(["--course", str(course), "release", "--nbgrader", str(nbcourse),
                 "--assignment", "week1", "--exercises", "tiny-stats"]) == 0
    assert "nbgrader generate_assignment week1" in capsys.readouterr().out
    source = nbcourse / "source" / "week1"
    assert (source / "tiny-stats.ipynb").is_file()
    assert (source / "exercises" / "01_programming" / "01_tiny-stats" / "stats.py").is_file()
    assert not (source / "notebooks" / "01_programming").exists()
    done = _nbgrader(nbcourse, "generate_assignment", "week1")
    assert done.returncode == 0, done.stdout + done.stderr
    released = nbcourse / "release" / "week1"
    assert (released / "tiny-stats.ipynb").is_file()
    assert (released / "exercises" / "01_programming" / "01_tiny-stats" / "stats.py").is_file()
    assert not list(released.rglob("solutions"))
    # where a student opens the notebook, load() and check() find the course
    found = subprocess.run([sys.executable, "-c", "from grader.engine.course import Course; "
                            "print(Course.find().root)"], cwd=released, capture_output=True,
                           text=True, check=True)
    assert Path(found.stdout.strip()) == released.resolve()


def test_release_needs_one_destination(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    course = tmp_path / "course"
    course.mkdir()
    make_course(course)
    assert main(["--course", str(course), "release"]) == 2
    assert "--nbgrader COURSE_DIR" in capsys.readouterr().err


def test_export_carries_submission_times(tmp_path: Path) -> None:
    from nbgrader.api import Gradebook as NbGradebook  # type: ignore[import-not-found]

    from grader.engine.course import Course
    from grader.instructor.export import export
    from grader.instructor.gradebook import Grade, Gradebook

    fixture = Path(__file__).parent / "fixtures" / "course"
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "collect.json").write_text(json.dumps({"students": {
        "ann": {"origin": "nbgrader", "info": {"submitted_at:lab": "2026-11-02 09:15:00 UTC"}},
        "bob": {"origin": "nbgrader"}}}))
    with Gradebook(klass / "gradebook.sqlite") as gb:
        for student, score in (("ann", 6.0), ("bob", 2.0)):
            gb.record(Grade(student=student, exercise="tiny-stats", score=score, max_score=6,
                            status="passed" if score == 6 else "failed", result={},
                            submission_hash="s", course_hash="c", grader="g", environment={},
                            env_hash="e", seed=1, duration=0.1))
        export(Course.load(fixture), gb, nbgrader_dir=tmp_path / "nb", assignment="lab")
    with NbGradebook(f"sqlite:///{tmp_path / 'nb' / 'gradebook.db'}") as nb:
        ann = nb.find_submission("lab", "ann")
        assert ann.score == 6 and ann.timestamp is not None
        assert (ann.timestamp.month, ann.timestamp.day, ann.timestamp.hour) == (11, 2, 9)
        assert nb.find_submission("lab", "bob").score == 2
