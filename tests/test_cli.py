"""The thin CLI: help, list, hint ladder, grade with JSON, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from grader.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "course"
SCHEMA = json.loads((ROOT / "docs" / "results.schema.json").read_text())


@pytest.fixture
def course(tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(FIXTURE, target)
    return target


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys; from grader.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandas', 'numpy', 'pytest', 'rich', 'pyarrow') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "grader grade" in out
    assert "HEAVY []" in out


def test_grade_writes_schema_valid_json_and_exits_zero_on_failures(
        course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.json"
    assert main(["--course", str(course), "grade", "--json", str(out), "--seed", "5"]) == 0
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == 0 and data["max_score"] == 6
    assert data["exercises"][0]["status"] == "not_attempted"
    assert data["environment"]["seed"] == 5
    printed = capsys.readouterr().out
    assert "not attempted" in printed
    assert "next: start tiny-stats" in printed


def test_grade_solutions_full_marks(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--course", str(course), "grade", "--submission", "solutions", "--json",
                 "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == data["max_score"] == 6
    assert data["environment"]["hidden_tests"] is True


def test_list_shows_last_status(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--course", str(course), "grade", "--quiet"])
    capsys.readouterr()
    assert main(["--course", str(course), "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny-stats" in out and "not attempted" in out and "0/6" in out


def test_hint_ladder_climbs_and_is_remembered(course: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for level in (1, 2, 3, 3):
        assert main(["--course", str(course), "hint", "tiny-stats"]) == 0
        out = capsys.readouterr().out
        assert f"Hint {level}/3" in out
        assert ("That was the last hint" in out) == (level == 3)
    assert main(["--course", str(course), "hint", "tiny-stats", "1"]) == 0
    assert "Hint 1/3" in capsys.readouterr().out
    progress = json.loads((course / ".grader" / "progress.json").read_text())
    assert progress["hints"]["tiny-stats"] == 3


def test_hint_in_a_notebook_climbs_the_same_ladder(course: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from grader import hint

    (course / "grader").mkdir()  # what Course.find() recognises a course by
    monkeypatch.chdir(course)
    hint("tiny-stats")
    assert "Hint 1/3" in capsys.readouterr().out
    assert main(["--course", str(course), "hint", "tiny-stats"]) == 0
    assert "Hint 2/3" in capsys.readouterr().out


def test_usage_errors_exit_two(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--course", str(course), "grade", "no-such-exercise"]) == 2
    assert "known: tiny-stats" in capsys.readouterr().err
    assert main(["--course", str(course), "hint", "tiny-stats", "9"]) == 2
    assert main(["--course", str(course), "grade", "--submission", "/nonexistent"]) == 2


def test_damaged_progress_file_is_not_fatal(course: Path) -> None:
    (course / ".grader").mkdir()
    (course / ".grader" / "progress.json").write_text("{not json")
    assert main(["--course", str(course), "hint", "tiny-stats"]) == 0


def test_hints_follow_the_task_the_last_check_named(course: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    manifest = next(course.glob("exercises/*/*/exercise.toml"))
    text = manifest.read_text()
    anchor = 'id = "median"\n'
    assert anchor in text
    manifest.write_text(text.replace(anchor, anchor + 'hints = ["Sort first.", '
                                                       '"Average the two middle values."]\n'))
    (course / ".grader").mkdir()
    (course / ".grader" / "progress.json").write_text(json.dumps({"status": {"tiny-stats": {
        "status": "partial", "score": 2, "max_score": 4, "focus": "median"}}}))
    assert main(["--course", str(course), "hint", "tiny-stats"]) == 0
    out = capsys.readouterr().out
    assert "Hint 1/2 for tiny-stats, task 'median'" in out and "Sort first." in out
    assert main(["--course", str(course), "hint", "tiny-stats"]) == 0
    out = capsys.readouterr().out
    assert "Average the two middle values." in out and "last hint for this task" in out
    # a task without hints of its own: the exercise's ladder, from where it was
    (course / ".grader" / "progress.json").write_text(json.dumps({"status": {"tiny-stats": {
        "status": "partial", "score": 2, "max_score": 4, "focus": "mean"}}}))
    assert main(["--course", str(course), "hint", "tiny-stats"]) == 0
    assert "Hint 1/3 for tiny-stats:" in capsys.readouterr().out
