"""Every exercise is a whole lesson: the reference scores full marks, the starter scores zero,
and README tasks, test task ids, hints and the notebook line up."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest

from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.engine.results import ExerciseResult
from grader.engine.runner import grade_exercise, missing_requirements

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.load(ROOT)
IDS = COURSE.ids()


def exercise(ex_id: str) -> Exercise:
    return COURSE.get(ex_id)


@cache
def graded(ex_id: str, which: str) -> ExerciseResult:
    missing = missing_requirements(exercise(ex_id))
    if missing:
        pytest.skip(f"{ex_id} needs {', '.join(missing)}, which this machine lacks")
    return grade_exercise(COURSE, exercise(ex_id), ROOT / which, seed=20261126)


def test_course_has_exercises_and_no_broken_manifests() -> None:
    assert IDS, "no exercises found"
    assert not COURSE.broken, [str(b) for b in COURSE.broken]


def test_exercises_and_solutions_mirror_each_other() -> None:
    def dirs(top: str) -> set[str]:
        return {p.relative_to(ROOT / top).as_posix()
                for p in (ROOT / top).glob("*/*") if p.is_dir()}
    assert dirs("exercises") == dirs("solutions")


@pytest.mark.parametrize("ex_id", IDS)
def test_learner_files_exist_in_both_trees(ex_id: str) -> None:
    ex = exercise(ex_id)
    for name in ex.files:
        assert (COURSE.exercise_dir(ex) / name).is_file(), f"starter {name} missing"
        assert (COURSE.solution_dir(ex) / name).is_file(), f"solution {name} missing"


@pytest.mark.parametrize("ex_id", IDS)
def test_readme_names_every_task(ex_id: str) -> None:
    ex = exercise(ex_id)
    readme = (COURSE.exercise_dir(ex) / "README.md").read_text()
    for task in ex.tasks:
        assert f"`{task.id}`" in readme, f"README does not name task `{task.id}`"


def _task_marks(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "task" and node.args and \
                isinstance(node.args[0], ast.Constant):
            found.add(str(node.args[0].value))
    return found


@pytest.mark.parametrize("ex_id", IDS)
def test_test_task_ids_match_manifest(ex_id: str) -> None:
    ex = exercise(ex_id)
    marks: set[str] = set()
    for folder in COURSE.test_dirs(ex):
        for path in folder.glob("test_*.py"):
            marks |= _task_marks(path)
    declared = {t.id for t in ex.tasks}
    assert marks <= declared, f"tests use undeclared task ids {marks - declared}"
    assert declared <= marks, f"tasks without tests: {declared - marks}"


@pytest.mark.parametrize("ex_id", IDS)
def test_notebook_exists_is_stripped_and_calls_check(ex_id: str) -> None:
    ex = exercise(ex_id)
    nb = nbformat.read(COURSE.notebook(ex), as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert re.search(rf"check\(\s*[\"']{re.escape(ex.id)}[\"']", code), "no check() cell"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit notebooks with outputs stripped"


@pytest.mark.parametrize("ex_id", IDS)
def test_reference_solution_scores_full_marks(ex_id: str) -> None:
    result = graded(ex_id, "solutions")
    problems = [(t.name, t.status, t.message) for t in result.graded if t.status != "passed"]
    assert not result.message, result.message
    assert not problems, problems
    assert result.score == result.max_score == exercise(ex_id).points, \
        "manifest points must equal the points of all automatic tests, public and hidden"


@pytest.mark.parametrize("ex_id", IDS)
def test_starter_scores_zero_not_attempted(ex_id: str) -> None:
    result = graded(ex_id, "exercises")
    assert result.tests, result.message
    assert result.score == 0
    assert result.status == "not_attempted"
    assert all(t.status == "not_attempted" for t in result.graded), \
        [(t.name, t.status) for t in result.graded if t.status != "not_attempted"]


# Exercises whose tests do not all name a failing fixture yet (each entry says why); the
# known-bad check still holds every claim that is made. Empty it, do not grow it.
UNCLAIMED: dict[str, str] = {}


@pytest.mark.parametrize("ex_id", IDS)
def test_every_test_names_a_fixture_that_fails_it(ex_id: str) -> None:
    """`# fails for: <fixture>` above each test: the laziest submission must not pass it."""
    from fixture_claims import exercise_claims

    ex = exercise(ex_id)
    folder = ROOT / "tests" / "fixtures" / "submissions" / ex_id
    known = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
    found = exercise_claims(COURSE.test_dirs(ex))
    unknown = {t: [n for n in names if n not in known] for t, names in found.items()}
    assert not {t: n for t, n in unknown.items() if n}, \
        f"{ex_id}: claims name fixtures that do not exist in {folder}"
    missing = sorted(t for t, names in found.items() if not names)
    if ex_id in UNCLAIMED:
        pytest.xfail(f"{ex_id}: {UNCLAIMED[ex_id]} ({len(missing)} tests unclaimed)")
    assert not missing, (f"{ex_id}: these tests name no fixture that fails them "
                         f"(add '# fails for: <fixture>' above each): {missing}")
