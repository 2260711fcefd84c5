"""Trusted helpers for the pytorch-training tests: digits, seeded splits, checks on results.

Runs in the grader's process only, without torch: models come back as arrays and safetensors.
The digits come from scikit-learn through the reference cache, so a judge that finds them there
does not import scikit-learn (about a second) for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from grader.testing import cached_reference, expect

CHECKPOINT = "digits.safetensors"


@dataclass(frozen=True)
class Split:
    """Images (N, 8, 8) with values 0..16 and integer labels, for train, validation and test."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


@cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits, as float32 images and int64 labels."""
    images, labels = cached_reference("sklearn-digits", _load_digits)
    return images, labels


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images.astype(np.float32), data.target.astype(np.int64)


def split(seed: int, n_test: int = 400, n_val: int = 300, noise: float = 0.0) -> Split:
    """A seeded split; ``noise`` adds seeded pixel noise to the test images only."""
    images, labels = digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    test_x = images[test]
    if noise:
        test_x = np.clip(test_x + rng.normal(0.0, noise, test_x.shape), 0, 16).astype(np.float32)
    return Split(images[train], labels[train], images[val], labels[val], test_x, labels[test])


def predicted_labels(value: object, n: int, call: str) -> np.ndarray:
    """The learner's predictions as an int array, after checking their shape and range."""
    expect(isinstance(value, np.ndarray), f"{call} returned a {type(value).__name__}; return a "
           "numpy array of digit labels (e.g. logits.argmax(dim=1).numpy())")
    assert isinstance(value, np.ndarray)
    expect(value.shape == (n,), f"{call} returned shape {value.shape} for {n} images; return "
           "one label per image")
    expect(value.dtype.kind in "iu", f"{call} returned {value.dtype} values; return integer "
           "class labels, not probabilities or logits")
    expect(bool(((value >= 0) & (value <= 9)).all()), f"{call} returned labels outside 0..9")
    return value


def majority_hint(predicted: np.ndarray) -> str:
    """Extra advice when one class takes nearly every prediction."""
    values, counts = np.unique(predicted, return_counts=True)
    if counts.max() >= 0.9 * len(predicted):
        return (f" {counts.max()} of {len(predicted)} predictions are the digit "
                f"{values[counts.argmax()]}: the model predicts one (majority) class whatever "
                "the image. Check that forward() uses its input and that training updates it")
    return ""


def same_weights(a: dict, b: dict) -> tuple[bool, str]:
    """Whether two state dicts (name -> array) are identical, and the first difference."""
    if set(a) != set(b):
        return False, f"different tensor names: {sorted(set(a) ^ set(b))[:4]}"
    for name in sorted(a):
        if a[name].shape != b[name].shape:
            return False, f"{name} has shapes {a[name].shape} and {b[name].shape}"
        if not np.array_equal(a[name], b[name]):
            gap = float(np.abs(a[name].astype(np.float64) - b[name].astype(np.float64)).max())
            return False, f"{name} differs by up to {gap:.3g}"
    return True, ""


def cross_entropy(logits: object, labels: np.ndarray) -> float:
    """Mean cross-entropy of ``logits`` (N, 10) against ``labels``, computed here in float64."""
    expect(isinstance(logits, np.ndarray) and logits.shape == (len(labels), 10),
           "the model fit() returned does not map a batch of N images to (N, 10) logits")
    assert isinstance(logits, np.ndarray)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def weight_change(before: dict | None, after: dict) -> float:
    """How far training moved the floating-point weights: the L2 norm of the difference."""
    if not before or set(before) != set(after):
        return float("nan")
    total = 0.0
    for name, start in before.items():
        end = after[name]
        if start.dtype.kind == "f" and start.shape == end.shape:
            total += float(((end.astype(np.float64) - start.astype(np.float64)) ** 2).sum())
    return total ** 0.5


def renaming(seed: int) -> np.ndarray:
    """A seeded new name for each digit, none keeping its own (a derangement of 0..9)."""
    rng = np.random.default_rng(seed)
    while True:
        names = rng.permutation(10)
        if not (names == np.arange(10)).any():
            return names
