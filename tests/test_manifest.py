"""Manifests load into frozen dataclasses; a bad one names its file and field."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from grader.engine.course import Course
from grader.engine.manifest import ManifestError, load_manifest
from grader.engine.runner import grade

FIXTURE = Path(__file__).parent / "fixtures" / "course"
GOOD = (FIXTURE / "exercises/01_programming/01_tiny-stats/exercise.toml").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exercise.toml"
    path.write_text(text)
    return path


def test_good_manifest_loads_frozen(tmp_path: Path) -> None:
    ex = load_manifest(write(tmp_path, GOOD), "01_programming/01_tiny-stats")
    assert ex.id == "tiny-stats"
    assert ex.modules == ("stats",)
    assert [t.id for t in ex.tasks] == ["mean", "median"]
    assert ex.budget.call_seconds == 3.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        ex.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(("old", "new", "field"), [
    ('id = "tiny-stats"', 'id = "Tiny Stats"', "id"),
    ('skill = "programming"', 'skill = "cooking"', "skill"),
    ("points = 6", 'points = "six"', "points"),
    ("points = 6", "points = -1", "points"),
    ('files = ["stats.py"]', 'files = ["../escape.py"]', "files"),
    ('files = ["stats.py"]', "files = []", "files"),
    ('title = "Tiny statistics"', "", "title"),
    ("call_seconds = 3", 'call_seconds = "fast"', "call_seconds"),
    ("memory_mb = 512", "memory_mb = 512\nswap_mb = 3", "budget.swap_mb"),
    ('id = "tiny-stats"', 'id = "tiny-stats"\nrequires = ["gpu"]', "requires"),
    ('id = "tiny-stats"', 'id = "tiny-stats"\ncolour = "red"', "colour"),
    ('id = "tiny-stats"', 'id = "tiny-stats"\nharness = "nope.py"', "harness"),
    ('id = "tiny-stats"', 'id = [', "(file)"),
])
def test_bad_manifest_names_file_and_field(tmp_path: Path, old: str, new: str,
                                           field: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ManifestError) as info:
        load_manifest(path, "x/y")
    assert info.value.field == field
    assert str(path) in str(info.value)
    assert f"field '{field}'" in str(info.value)


def test_hint_ladder_needs_three_rungs(tmp_path: Path) -> None:
    text = GOOD.replace('    "Sort a copy of the values to find the median.",\n', "")
    with pytest.raises(ManifestError, match="hints"):
        load_manifest(write(tmp_path, text), "x/y")


def test_broken_manifest_is_reported_and_the_rest_graded(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE, course)
    broken = course / "exercises/01_programming/02_broken"
    broken.mkdir()
    (broken / "exercise.toml").write_text(GOOD.replace('id = "tiny-stats"', 'id = "broken"')
                                          .replace("points = 6", "points = 0"))
    loaded = Course.load(course)
    assert [e.id for e in loaded.exercises] == ["tiny-stats"]
    run = grade(loaded, loaded.exercises, course / "solutions", seed=1)
    by_id = {e.id: e for e in run.exercises}
    assert by_id["tiny-stats"].status == "passed"
    assert by_id["02_broken"].status == "error"
    assert "field 'points'" in by_id["02_broken"].message


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE, course)
    shutil.copytree(course / "exercises/01_programming/01_tiny-stats",
                    course / "exercises/01_programming/02_copy")
    loaded = Course.load(course)
    assert len(loaded.exercises) == 1
    assert "already used" in str(loaded.broken[0])


def test_manual_items_are_pending_and_missing_runtimes_skip(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE, course)
    manifest = course / "exercises/01_programming/01_tiny-stats/exercise.toml"
    manifest.write_text(manifest.read_text() + '\n[[manual]]\nid = "style"\n'
                        'title = "Readable names"\npoints = 2\n')
    loaded = Course.load(course)
    result = grade(loaded, loaded.exercises, course / "solutions", seed=1).exercises[0]
    pending = [t for t in result.tests if t.status == "pending"]
    assert [t.name for t in pending] == ["manual: style"]
    assert result.score == result.max_score == 6 and result.pending_points == 2
    manifest.write_text(manifest.read_text().replace('id = "tiny-stats"',
                                                     'id = "tiny-stats"\nrequires = ["r"]'))
    loaded = Course.load(course)
    # a machine without R
    monkeypatch.setattr("grader.engine.runner.shutil.which", lambda name: None)
    result = grade(loaded, loaded.exercises, course / "solutions", seed=1).exercises[0]
    assert result.status == "skipped" and result.max_score == 0
    assert "r-base-core" in result.message
