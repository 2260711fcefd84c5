"""Trusted helpers for javascript-inference: models, hidden inputs and comparisons.

Everything here runs in the grader's process. Models are trained here with scikit-learn on a
resample chosen by this run's seed and exported with the course's ``export_model.py``; inputs
are held-out rows with noise, single rows and extreme values. The learner's ``predict.mjs``
only ever receives the exported JSON and the input rows; scikit-learn's ``predict_proba`` on
the same rows is the reference, computed here.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from grader.testing import MissingFunction, NotAttempted, SubmissionRaised

TOLERANCE = 1e-9
MODULE = "predict.mjs"


def _exporter() -> Any:
    name = "_course_export_model_js_inference"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent.parent / "export_model.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# --- models and inputs -----------------------------------------------------------------------

def trained(dataset: str, model: str, seed: int, hidden: tuple[int, ...] = (16,),
            activation: str = "relu") -> tuple[Any, dict[str, Any], np.ndarray]:
    """(fitted pipeline, its exported JSON, held-out rows) for a resample chosen by ``seed``.

    Kept on the exporter module, which lives as long as the grader's process: grading the
    reference, the starter and known-bad submissions with one seed trains each model once.
    """
    ex = _exporter()
    cache = ex.__dict__.setdefault("_grading_cache", {})
    key = (dataset, model, seed, hidden, activation)
    if key not in cache:
        if len(cache) > 64:
            cache.clear()
        x, y, names = ex.bundled_dataset(dataset)
        order = np.random.default_rng(seed).permutation(len(x))
        cut = int(0.7 * len(x))
        pipeline = ex.fit(ex.make_pipeline(model, seed % 1000, hidden, activation, max_iter=150),
                          x[order[:cut]], y[order[:cut]])
        cache[key] = (pipeline, ex.export(pipeline, names), x[order[cut:]])
    pipeline, exported, pool = cache[key]
    return pipeline, copy.deepcopy(exported), pool


def noisy_rows(pool: np.ndarray, seed: int, n: int) -> np.ndarray:
    """``n`` held-out rows, each feature jittered by up to a third of its spread."""
    rng = np.random.default_rng(seed)
    rows = pool[rng.integers(0, len(pool), n)]
    return rows + rng.normal(0.0, 0.3, rows.shape) * pool.std(axis=0)


def extreme_rows(model_json: dict[str, Any], seed: int, n: int, size: float) -> np.ndarray:
    """Rows ``size`` standard deviations away from the mean, with random signs."""
    scaler = model_json["steps"][0]
    mean, scale = np.array(scaler["mean"]), np.array(scaler["scale"])
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, len(mean)))
    return mean + size * signs * scale


def skipped_scaler(pipeline: Any, rows: np.ndarray) -> np.ndarray:
    """What the model predicts when the StandardScaler step is (wrongly) skipped."""
    return pipeline.named_steps["model"].predict_proba(rows)


def skipped_scaler_labels(pipeline: Any, rows: np.ndarray) -> list[Any]:
    """The labels the model predicts when the StandardScaler step is (wrongly) skipped."""
    return pipeline.named_steps["model"].predict(rows).tolist()


def describe_model(model_json: dict[str, Any]) -> str:
    """A model in a few words: its head and its classes."""
    head = model_json["steps"][-1]
    if head["type"] == "mlp":
        sizes = [len(b) for b in head["biases"]]
        kind = (f"an MLP ({head['activation']} hidden layers of {sizes[:-1]}, "
                f"{head['output']} output)")
    else:
        kind = f"a logistic regression with {len(head['coef'])} coef row(s)"
    return (f"{kind}, {model_json['n_features']} features, classes "
            f"{model_json['classes']}")


# --- calling predict.mjs ---------------------------------------------------------------------

def call(submission: Any, jobs: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Run calls of predict.mjs exports in Node.js (through the harness); one entry per call."""
    try:
        results = submission.harness.run([{"fn": fn, "args": args} for fn, args in jobs])
    except SubmissionRaised as exc:
        if exc.exc_type == "NodeFailed":  # the learner's module, not the harness, went wrong
            raise SubmissionRaised(exc.exc_message, exc_type=exc.exc_type,
                                   exc_message=exc.exc_message) from None
        raise
    for (fn, _), result in zip(jobs, results, strict=True):
        if result.get("not_implemented"):
            raise NotAttempted(f"{fn}() in {MODULE} still throws \"not implemented\": not "
                               "attempted yet")
    for (fn, _), result in zip(jobs, results, strict=True):
        if result.get("missing"):
            raise MissingFunction(f"{MODULE} does not export a function {fn}(): write "
                                  f"`export function {fn}(...)` (check the README's task list)")
    return results


def outcome(result: dict[str, Any], what: str) -> tuple[Any, str | None]:
    """(returned value, None) or (None, a message saying what the call threw)."""
    if "error" in result:
        return None, f"{what} threw {result['error']}"
    return result["ok"], None


def as_matrix(value: Any) -> np.ndarray | None:
    """A list of equally long lists of numbers (null/NaN allowed) as a float array."""
    if type(value) is not list or any(type(row) is not list for row in value):
        return None
    if len({len(row) for row in value}) > 1:
        return None
    try:
        return np.array([[np.nan if v is None else v for v in row] for row in value],
                        dtype=float).reshape(len(value), -1 if value else 0)
    except (TypeError, ValueError):
        return None


def proba_problem(result: dict[str, Any], want: np.ndarray, what: str,
                  unscaled: np.ndarray | None = None) -> str | None:
    """What is wrong with predictProba's result compared with scikit-learn's, or None.

    ``unscaled`` is what the model gives when the scaler step is skipped, to recognise that
    mistake and say so.
    """
    got, error = outcome(result, what)
    if error:
        return error
    matrix = as_matrix(got)
    if matrix is None:
        return (f"{what} returned {_short(got)}: it should return an array with one array of "
                "probabilities per input row")
    if matrix.shape != want.shape:
        return (f"{what} returned {matrix.shape[0]} rows of {matrix.shape[1] if matrix.size else 0}"
                f" probabilities; expected {want.shape[0]} rows of {want.shape[1]} (one per class,"
                " in the order of model.classes)")
    bad = ~np.isfinite(matrix)
    if bad.any():
        return (f"{what} returned {int(bad.sum())} NaN/Infinity probabilities: an exponential "
                "overflowed. Use the stable forms of sigmoid and softmax")
    diff = np.abs(matrix - want)
    if diff.max() > TOLERANCE:
        rows = int((diff.max(axis=1) > TOLERANCE).sum())
        measured = (f"{rows} of {len(want)} rows differ from scikit-learn's predict_proba by "
                    f"more than {TOLERANCE:g}, up to {diff.max():.3g}")
        mistake = _named_mistake(matrix, want, unscaled)
        if mistake:
            return f"{what}: {mistake} ({measured})"
        sums = np.abs(matrix.sum(axis=1) - 1).max()
        extra = (" (and the rows do not sum to 1: end with softmax, or [1 - p, p] for one coef "
                 "row)" if sums > 1e-6 else "")
        return f"{what}: {measured}{extra}"
    if result.get("mutated"):
        return f"{what} changed the rows it was given: build new arrays instead"
    return None


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.abs(a - b).max() <= TOLERANCE)


def _named_mistake(matrix: np.ndarray, want: np.ndarray,
                   unscaled: np.ndarray | None) -> str | None:
    """The usual mistake behind wrong probabilities, in the learner's terms, when we see one."""
    if unscaled is not None and _close(matrix, unscaled):
        return ("you skipped the standard_scaler step: these are the model's probabilities for "
                "the raw features. Standardise the rows first, then apply the model")
    if want.shape[1] == 2 and _close(matrix, want[:, ::-1]):
        return ("predict_proba has its two columns swapped: column i must be the probability "
                "of model.classes[i], and with one coef row p = sigmoid(z) is the probability "
                "of classes[1], so each row is [1 - p, p]")
    if want.shape[1] > 2:
        order = [int(np.abs(want - matrix[:, [j]]).max(axis=0).argmin())
                 for j in range(want.shape[1])]
        if sorted(order) == list(range(want.shape[1])) and _close(matrix, want[:, order]):
            return ("the columns are in the wrong order: column i must be the probability of "
                    "model.classes[i], in the order of coef's rows (or the last layer's units)")
    return None


def labels_problem(result: dict[str, Any], want: list[Any], what: str,
                   classes: list[Any] | None = None,
                   unscaled: list[Any] | None = None) -> str | None:
    """What is wrong with predict's labels compared with scikit-learn's, or None.

    ``classes`` (the model's) and ``unscaled`` (the labels with the scaler skipped) let the
    message name the usual mistakes.
    """
    got, error = outcome(result, what)
    if error:
        return error
    if type(got) is not list or len(got) != len(want):
        return f"{what} returned {_short(got)}; expected {len(want)} class labels"
    wrong = [i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    if not wrong:
        return None
    sample = got[wrong[0]]
    measured = (f"{len(wrong)} of {len(want)} labels differ from scikit-learn's predict, for "
                f"example {sample!r} where it says {want[wrong[0]]!r}")
    if classes is not None and all(
            type(g) is int and 0 <= g < len(classes) and classes[g] == w
            for g, w in zip(got, want, strict=True)):
        return (f"{what} returned positions instead of class labels ({measured}): return "
                "model.classes[position]")
    if unscaled is not None and got == unscaled and len(set(map(str, unscaled))) > 1:
        return (f"{what}: you skipped the standard_scaler step: these are the model's labels for "
                f"the raw features ({measured}). Standardise the rows first")
    if classes is not None and len(classes) == 2 and all(
            g in classes and g != w for g, w in zip(got, want, strict=True)):
        return (f"{what} always picks the other class ({measured}): the probability of "
                "model.classes[1] is sigmoid(z), so pick classes[1] when it is the larger")
    hint = (" It returned a position; return model.classes[position]"
            if isinstance(sample, (int, float)) and not isinstance(sample, bool) else "")
    return f"{what}: {measured}.{hint}"


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --- portability -----------------------------------------------------------------------------

_TOKENS = re.compile("|".join([
    r"//[^\n]*",  # line comment
    r"/\*.*?\*/",  # block comment
    r"'(?:\\.|[^'\\\n])*'", r'"(?:\\.|[^"\\\n])*"', r"`(?:\\.|[^`\\])*`",  # strings
]), re.DOTALL)
NODE_ONLY = [
    (re.compile(r"\bimport\b"), "an import (the module must need nothing else)"),
    (re.compile(r"\brequire\s*\("), "require() (CommonJS, Node.js only)"),
    (re.compile(r"\bprocess\b"), "`process` (Node.js only)"),
    (re.compile(r"\bBuffer\b"), "`Buffer` (Node.js only)"),
    (re.compile(r"\b__dirname\b|\b__filename\b"), "__dirname/__filename (Node.js only)"),
    (re.compile(r"\bglobal\b"), "`global` (Node.js only; use globalThis if you must)"),
    (re.compile(r"\b(window|document|fetch|localStorage)\b"),
     "a browser-only API (the caller loads the model, not this module)"),
]


def code_only(source: str) -> str:
    """JavaScript source with comments and string literals blanked (line numbers kept)."""
    return _TOKENS.sub(lambda m: "".join("\n" if c == "\n" else " " for c in m.group()), source)


def portability_problems(source: str) -> list[str]:
    """Uses of imports or environment-specific APIs, each with its line number."""
    code = code_only(source)
    problems = []
    for pattern, what in NODE_ONLY:
        for match in pattern.finditer(code):
            line = code.count("\n", 0, match.start()) + 1
            problems.append(f"line {line}: {what}")
    return problems
