"""Trusted helpers for the sklearn-pipeline tests: data, seeded splits, checks on predictions.

Runs in the grader's process only. The learner's code never sees labels of the rows it predicts.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from grader.testing import expect

TARGET = "late"
NUMERIC = ["month", "sched_dep_hour", "distance", "temp", "humid", "wind_speed", "precip",
           "visib", "pressure", "plane_year", "seats"]
CATEGORICAL = ["weekday", "carrier", "origin", "dest", "engine", "manufacturer"]
FEATURES = NUMERIC + CATEGORICAL
MODEL_FILE = "model.skops"

IMPUTERS = {"SimpleImputer", "KNNImputer", "IterativeImputer"}
SCALERS = {"StandardScaler", "RobustScaler", "MinMaxScaler", "MaxAbsScaler"}
ENCODERS = {"OneHotEncoder"}


def load_train(exercise_dir: Path) -> pd.DataFrame:
    """The learner-visible training table."""
    return pd.read_csv(exercise_dir / "data" / "flights_train.csv")


def split(df: pd.DataFrame, seed: int, n_test: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded, shuffled (train, test) split with fresh 0..n-1 indexes."""
    order = np.random.default_rng(seed).permutation(len(df))
    test = df.iloc[order[:n_test]].reset_index(drop=True)
    train = df.iloc[order[n_test:]].reset_index(drop=True)
    return train, test


def features(df: pd.DataFrame) -> pd.DataFrame:
    """The table without its label column: what a model may see at prediction time."""
    return df.drop(columns=[TARGET])


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC, computed here in the grader from the learner's scores."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def as_probabilities(result: object, n_rows: int, call: str) -> np.ndarray:
    """The learner's predictions as a float array, after checking their shape and range."""
    expect(isinstance(result, (np.ndarray, list, pd.Series)),
           f"{call} returned a {type(result).__name__}; return a 1-D numpy array with one "
           "probability per test row (e.g. model.predict_proba(X)[:, 1])")
    try:
        values = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        values = np.array([], dtype=np.float64)
        expect(False, f"{call} returned values that are not numbers")
    expect(values.ndim == 1, f"{call} returned an array of shape {values.shape}; return a 1-D "
           "array of P(late), not the two-column predict_proba output")
    expect(len(values) == n_rows, f"{call} returned {len(values)} values for {n_rows} test rows; "
           "return exactly one prediction per row of test_features_df, in the same order")
    expect(bool(np.isfinite(values).all()), f"{call} returned NaN or infinite values")
    expect(bool(((values >= 0) & (values <= 1)).all()),
           f"{call} returned values outside [0, 1]: return probabilities of the positive class "
           "(late = 1), not labels or raw scores")
    return values


def constant_hint(values: np.ndarray) -> str:
    """Extra advice when every prediction is the same number."""
    if float(np.ptp(values)) < 1e-12:
        return (f" Every row got the same prediction ({values[0]:.3g}): the model ignores the "
                "features, as a majority-class (DummyClassifier) model does. Use a real "
                "classifier such as LogisticRegression")
    return ""


def shifted(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same rows with a very different distribution, to expose statistics fitted on them."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    out["temp"] = out["temp"] + 45.0
    out["distance"] = out["distance"] * 4 + 500
    out["sched_dep_hour"] = 23.5
    out["plane_year"] = out["plane_year"] - 25
    out["pressure"] = np.nan
    out["humid"] = rng.uniform(0, 5, len(out))
    out["carrier"] = "EV"
    out["dest"] = "ORD"
    return out


def second_half_shifted(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The first half of ``df`` unchanged, the second half replaced by shifted rows."""
    half = len(df) // 2
    return pd.concat([df.iloc[:half], shifted(df.iloc[half:], seed)], ignore_index=True)


def permuted_labels(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same table with its labels shuffled: nothing left to learn."""
    out = df.copy()
    out[TARGET] = np.random.default_rng(seed).permutation(out[TARGET].to_numpy())
    return out


_SKLEARN_NAME = re.compile(r"^sklearn(\.[A-Za-z_]\w*)+$")


def _is_sklearn_class(name: str) -> bool:
    """Whether ``name`` is the import path of a class scikit-learn defines.

    Some are lower-case (``make_column_selector``), so the name's case cannot tell; only
    scikit-learn's own modules are imported, never a module the file names elsewhere.
    """
    if not _SKLEARN_NAME.match(name):
        return False
    import importlib

    module, _, attr = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return False
    return isinstance(found, type) and found.__module__.split(".")[0] == "sklearn"


def unsafe_types(untrusted: list[str]) -> list[str]:
    """Types in a skops file outside the allow-list: numpy dtypes, ufuncs and sklearn classes."""
    bad = []
    for name in untrusted:
        if name == "numpy.dtype" or _is_sklearn_class(name):
            continue
        if name.startswith("numpy.") and isinstance(getattr(np, name[6:], None), np.ufunc):
            continue
        bad.append(name)
    return bad


def classes(chain: list[dict]) -> set[str]:
    """Every class name (with its bases) used along one column's chain of transformers."""
    return {name.rsplit(".", 1)[-1] for step in chain for name in step["mro"]}
