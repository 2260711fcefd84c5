"""Course-owned helper run inside the worker beside the learner's ``pipeline.py``.

It builds, fits and saves the learner's pipeline and hands back plain data (class names, column
routing, probabilities). It holds no expected values: the grader judges in its own process.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np


def _learner() -> Any:
    return importlib.import_module("pipeline")


def _mro(obj: object) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__ if c is not object]


def _chain(step: object) -> list[dict[str, Any]]:
    """A transformer flattened into its sequence of steps (nested Pipelines opened up)."""
    if isinstance(step, str):
        return [{"mro": [step]}]
    inner = getattr(step, "steps", None)
    if isinstance(inner, list):
        return [part for _, sub in inner for part in _chain(sub)]
    return [{"mro": _mro(step)}]


def _columns(spec: Any, frame: Any) -> list[str]:
    """Column names a ColumnTransformer entry selects from ``frame``."""
    if callable(spec):
        spec = spec(frame)
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, slice):
        return [str(c) for c in frame.columns[spec]]
    values = list(np.asarray(spec).ravel()) if not isinstance(spec, list) else spec
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return [str(c) for c, keep in zip(frame.columns, values, strict=False) if keep]
    return [str(frame.columns[v]) if isinstance(v, (int, np.integer)) else str(v)
            for v in values]


def describe_pipeline(features: Any, seed: int) -> dict[str, Any]:
    """What ``build_pipeline(seed)`` returns: its steps, and each column's transformer chain."""
    from sklearn.compose import ColumnTransformer

    pipe = _learner().build_pipeline(seed)
    steps = getattr(pipe, "steps", None)
    info: dict[str, Any] = {"mro": _mro(pipe), "steps": [], "columns": {},
                            "final_has_predict_proba": False, "has_column_transformer": False}
    if not isinstance(steps, list) or not steps:
        return info
    info["steps"] = [{"name": str(name), "mro": _mro(step)} for name, step in steps]
    final = steps[-1][1]
    info["final_has_predict_proba"] = hasattr(final, "predict_proba")
    for _, step in steps:
        if not isinstance(step, ColumnTransformer):
            continue
        info["has_column_transformer"] = True
        used: set[str] = set()
        for _, transformer, spec in step.transformers:
            for column in _columns(spec, features):
                used.add(column)
                info["columns"].setdefault(column, []).append(_chain(transformer))
        if not isinstance(step.remainder, str) or step.remainder == "passthrough":
            for column in features.columns:
                if str(column) not in used:
                    info["columns"].setdefault(str(column), []).append(_chain(step.remainder))
        break
    return info


def fit_and_save(train_features: Any, labels: Any, test_features: Any, path: str,
                 seed: int) -> np.ndarray:
    """Fit ``build_pipeline(seed)``, save it with the learner's ``save_model``, predict."""
    learner = _learner()
    pipe = learner.build_pipeline(seed)
    pipe.fit(train_features, labels)
    learner.save_model(pipe, path)
    return np.asarray(pipe.predict_proba(test_features)[:, 1], dtype=np.float64)


def load_and_predict(path: str, test_features: Any) -> np.ndarray:
    """Reload with the learner's ``load_model`` and predict P(class 1)."""
    model = _learner().load_model(path)
    return np.asarray(model.predict_proba(test_features)[:, 1], dtype=np.float64)
