"""Course-owned harness for debug-the-pipeline: handles the learner's model inside the worker.

``train()`` returns a model object, which is not plain data and never leaves the worker. These
helpers train it with the learner's code, call the learner's ``predict``/``evaluate`` on it the
way a scoring service and a report would, and hand back plain arrays and numbers. They hold no
expected values: the grader judges in its own process.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import numpy as np


def ready() -> list[str]:
    """The submission's files that arrived (names only); starting the worker is the point."""
    return sorted(os.listdir("."))


def _pipeline() -> Any:
    return importlib.import_module("pipeline")


def _array(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def fit_predict(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                singles: list[int]) -> dict[str, Any]:
    """Train once, then score the test rows as a batch, one at a time, and in small groups."""
    pipeline = _pipeline()
    model = pipeline.train(X_train, y_train)
    batch = _array(pipeline.predict(model, X_test))
    alone = [float(_array(pipeline.predict(model, X_test[i:i + 1]))[0]) for i in singles]
    head = _array(pipeline.predict(model, X_test[:3]))
    again = _array(pipeline.predict(model, X_test))
    return {"batch": batch, "alone": np.asarray(alone, dtype=float), "head": head,
            "again": again}


def evaluate_report(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                    y_test: np.ndarray) -> dict[str, Any]:
    """What evaluate() reports for a freshly trained model, and that model's scores."""
    pipeline = _pipeline()
    model = pipeline.train(X_train, y_train)
    report = pipeline.evaluate(model, X_train, y_train, X_test, y_test)
    p_test = _array(pipeline.predict(model, X_test))
    p_train = _array(pipeline.predict(model, X_train))
    return {"report": report, "p_test": p_test, "p_train": p_train}
