"""`grader release`: a student copy that holds no secret and grades on its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import main
from grader.engine.course import Course
from grader.instructor.release import build, significant_lines

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "course"
REL = "01_programming/01_tiny-stats"
LABELS = "sample_id,label\nS-0001,gentoo-hidden-7731\nS-0002,adelie-hidden-1194\n"


def make_course(root: Path) -> Path:
    """A course like this repository (engine, docs, tests) around the fixture's exercise, with
    every kind of secret a release must leave behind."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("README.md", "Makefile", "pyproject.toml", ".gitignore"):
        shutil.copy(ROOT / name, root / name)
    for name in ("grader", "docs"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    shutil.copytree(FIXTURE / "exercises", root / "exercises", ignore=ignore)
    shutil.copytree(FIXTURE / "solutions", root / "solutions", ignore=ignore)
    (root / "solutions" / REL / "tests" / "data").mkdir()
    (root / "solutions" / REL / "tests" / "data" / "labels.csv").write_text(LABELS)
    # a second exercise, to release a selection
    second = root / "exercises" / "01_programming" / "02_tiny-stats-b"
    shutil.copytree(root / "exercises" / REL, second)
    manifest = second / "exercise.toml"
    manifest.write_text(manifest.read_text().replace('id = "tiny-stats"', 'id = "tiny-stats-b"'))
    tests = root / "tests"
    tests.mkdir()
    for name in ("test_manifest.py", "test_results.py"):
        if (ROOT / "tests" / name).is_file():
            shutil.copy(ROOT / "tests" / name, tests / name)
    for name in ("test_content.py", "test_known_bad.py", "test_notebooks.py"):
        (tests / name).write_text("# needs solutions/: never released\n")
    bad = tests / "fixtures" / "submissions" / "tiny-stats" / "hardcoded" / REL
    bad.mkdir(parents=True)
    shutil.copy(FIXTURE / "solutions" / REL / "stats.py", bad / "stats.py")
    notebook = root / "notebooks" / "01_programming" / "01_tiny-stats.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["from grader import check, load\n", 'stats = load("tiny-stats")\n',
                    "stats.mean([1, 2, 3])"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return root


@pytest.fixture
def course(tmp_path: Path) -> Course:
    root = tmp_path / "course"
    root.mkdir()
    return Course.load(make_course(root))


def _texts(root: Path) -> dict[Path, str]:
    return {p: p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*")
            if p.is_file()}


def test_release_contains_no_secret(course: Course, tmp_path: Path) -> None:
    out = tmp_path / "release"
    report = build(course, out)
    assert report.leaks == []
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert not any(f.startswith("solutions/") or "/solutions/" in f for f in files)
    assert not any(f.startswith("tests/fixtures/submissions") for f in files)
    for name in ("test_content.py", "test_known_bad.py", "test_notebooks.py"):
        assert f"tests/{name}" not in files
    assert {"tests/test_manifest.py", "README.md", "Makefile", "pyproject.toml",
            "grader/cli.py", f"exercises/{REL}/stats.py", f"exercises/{REL}/tests/test_stats.py",
            "notebooks/01_programming/01_tiny-stats.ipynb",
            ".github/workflows/grade.yml"} <= files
    texts = _texts(out)
    for secret in (course.root / "solutions").rglob("*"):
        if not secret.is_file():
            continue
        # no file of the release is a solution file, whatever its name
        assert all(secret.read_bytes() != p.read_bytes() for p in texts), secret
        public_lines = {line for p in (course.root / "exercises" / REL).rglob("*")
                        if p.is_file() for line in significant_lines(p.read_text())}
        distinctive = [line for line in significant_lines(secret.read_text())
                       if len(line) >= 16 and line not in public_lines]
        assert distinctive, f"{secret} should have content to look for"
        for line in distinctive:
            hits = [p for p, text in texts.items() if line in text]
            assert not hits, f"{line!r} from {secret} is in {hits}"
    assert not any("hidden-7731" in text for text in texts.values())


def test_release_grades_on_its_own(course: Course, tmp_path: Path) -> None:
    out = tmp_path / "release"
    build(course, out)
    # `make grade`, with a stand-in for the .venv that the Makefile would create
    bin_dir = out / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "grader").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m grader "$@"\n')
    (bin_dir / "grader").chmod(0o755)
    (out / ".venv" / ".installed").touch()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAKEFLAGS")}
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(["make", "grade"], cwd=out, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not attempted" in done.stdout and "0/8" in done.stdout
    assert "8 of 12 points are checked here" in " ".join(done.stdout.split())
    where = subprocess.run([str(bin_dir / "python"), "-c", "import grader; print(grader.__file__)"],
                           cwd=out, capture_output=True, text=True, env=env, check=True)
    assert Path(where.stdout.strip()).resolve().is_relative_to(out.resolve())
    # and with the learner's work in place, the public tests give the public points
    shutil.copy(course.root / "solutions" / REL / "stats.py", out / "exercises" / REL)
    assert main(["--course", str(out), "grade", "tiny-stats", "--quiet", "--json",
                 str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["score"] == result["max_score"] == 4
    assert result["environment"]["hidden_tests"] is False


def test_release_a_selection_and_refuse_to_overwrite(course: Course, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    readme = course.root / "README.md"
    readme.write_text(readme.read_text() + "\n| `tiny-stats` | 1 | the first |\n"
                      "| `tiny-stats-b` | 1 | the second |\n")
    out = tmp_path / "release"
    assert main(["--course", str(course.root), "release", str(out), "--exercises",
                 "tiny-stats-b"]) == 0
    assert (out / "exercises" / "01_programming" / "02_tiny-stats-b").is_dir()
    assert not (out / "exercises" / REL).exists()
    assert not (out / "notebooks" / "01_programming" / "01_tiny-stats.ipynb").exists()
    released = (out / "README.md").read_text()
    assert "| `tiny-stats-b` |" in released and "| `tiny-stats` |" not in released
    assert "leak check passed" in capsys.readouterr().out
    assert main(["--course", str(course.root), "release", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["--course", str(course.root), "release", str(out), "--force"]) == 0
    assert (out / "exercises" / REL).is_dir()


def test_a_leak_fails_the_release(course: Course, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    hidden = (course.root / "solutions" / REL / "tests" / "test_hidden.py").read_text()
    notebook = course.root / "notebooks" / "01_programming" / "01_tiny-stats.ipynb"
    data = json.loads(notebook.read_text())
    data["cells"].append({"cell_type": "markdown", "metadata": {}, "source": hidden})
    notebook.write_text(json.dumps(data))
    labels = course.root / "solutions" / REL / "tests" / "data" / "labels.csv"
    shutil.copy(labels, course.root / "exercises" / REL / "answers.txt")
    assert main(["--course", str(course.root), "release", str(tmp_path / "release")]) == 1
    err = capsys.readouterr().err
    assert "LEAK CHECK FAILED" in err
    assert "notebooks/01_programming/01_tiny-stats.ipynb: from solutions/" in err
    assert f"exercises/{REL}/answers.txt: from solutions/{REL}/tests/data/labels.csv: " \
           "identical file" in err


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.org", "-c",
                    "user.name=t", *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_solution_tried_in_exercises_never_ships(course: Course, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """An instructor who tried the answer in exercises/: refused, then caught if committed."""
    _git(course.root, "init", "-q")
    _git(course.root, "add", "-A")
    _git(course.root, "commit", "-qm", "course")
    starter = course.root / "exercises" / REL / "stats.py"
    shutil.copy(course.root / "solutions" / REL / "stats.py", starter)
    out = tmp_path / "release"
    assert main(["--course", str(course.root), "release", str(out)]) == 2
    err = capsys.readouterr().err
    assert "differ from the last commit" in err and f"exercises/{REL}/stats.py" in err
    assert not out.exists() or not any(out.iterdir())
    _git(course.root, "commit", "-qam", "oops: the answer in the starter")
    assert main(["--course", str(course.root), "release", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"exercises/{REL}/stats.py: from solutions/{REL}/stats.py: identical file" in err


def test_the_course_release_ships_no_solution_line(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Every exercise of this course released at once: no solution's lines anywhere in it (the
    engine included, which every student copy ships)."""
    from grader.instructor import release

    monkeypatch.setattr(release, "uncommitted", lambda root: [])  # a dirty tree is fine here
    course = Course.load(ROOT)
    report = build(course, tmp_path / "release", [ex.id for ex in course.exercises])
    assert report.leaks == []
