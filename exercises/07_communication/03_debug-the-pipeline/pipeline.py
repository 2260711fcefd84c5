"""Churn model v3: the training pipeline. It regressed, and it holds five bugs. Fix them.

Each function's docstring is its contract: what it must do once fixed. The grader calls every
function on its own with correct inputs, so a bug in one function costs only that function's
points. Keep the names and signatures; change the bodies.

    features = pd.read_csv("data/features.csv")
    labels = pd.read_csv("data/labels.csv")
    report = run(features, labels, seed=0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

TARGET = "churned"
NUMERIC = ["tenure_months", "monthly_fee", "support_calls", "last_login_days"]
PLANS = ["basic", "plus", "pro"]
SMOOTHING = 10.0  # pseudo-customers pulling a small region's churn rate towards the overall one


def attach_labels(features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Return ``features`` with a ``churned`` column: the label of the same ``customer_id``.

    ``labels`` has the columns customer_id and churned (0/1), one row per customer, in any
    order. The result has the rows of ``features`` in their order, every feature column
    unchanged, and ``churned`` as integers. Raise ValueError if a customer has no label.
    """
    # The old label export had a units row under the header: skip it.
    labels = labels.iloc[1:].reset_index(drop=True)
    df = features.reset_index(drop=True).copy()
    df[TARGET] = labels[TARGET]
    missing = int(df[TARGET].isna().sum())
    if missing:
        raise ValueError(f"{missing} label(s) missing after merge")
    df[TARGET] = df[TARGET].astype(int)
    return df


def split(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split labelled rows into (train, test): 25% test, stratified by churned, reproducible.

    The same ``seed`` must always give the same split; the share of churners must be the same
    in both parts (to within one row). Every row lands in exactly one part.
    """
    train, test = train_test_split(df, test_size=0.25)
    return train, test


def _region_rates(rows: pd.DataFrame) -> tuple[dict[str, float], float]:
    prior = float(rows[TARGET].mean())
    stats = rows.groupby("region")[TARGET].agg(["sum", "count"])
    rates = (stats["sum"] + SMOOTHING * prior) / (stats["count"] + SMOOTHING)
    return {str(k): float(v) for k, v in rates.items()}, prior


def _matrix(rows: pd.DataFrame, medians: pd.Series, rates: dict[str, float],
            prior: float) -> np.ndarray:
    numeric = rows[NUMERIC].astype(float).fillna(medians)
    region = rows["region"].astype(str).map(rates).fillna(prior).astype(float)
    plans = [(rows["plan"] == p).astype(float) for p in PLANS]
    return np.column_stack([numeric.to_numpy(), region.to_numpy(), *plans])


def prepare(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Turn both parts into model inputs (X_train, X_test), learning only from ``train``.

    Columns, in order: the four NUMERIC columns with missing values filled by the median of that
    column; region replaced by its smoothed churn rate (``_region_rates``; a region without
    rate gets the overall rate); one 0/1 column per plan in PLANS. Every statistic (medians,
    churn rates) comes from ``train``: nothing about the test rows, and never their labels, may
    change either matrix.
    """
    everything = pd.concat([train, test])
    medians = everything[NUMERIC].median()
    rates, prior = _region_rates(everything)
    return _matrix(train, medians, rates, prior), _matrix(test, medians, rates, prior)


class Standardizer:
    """Scales each column to mean 0 and standard deviation 1.

    Like a BatchNorm layer it has two modes. In training mode (the default) every call
    re-estimates the mean and standard deviation from the rows it is given and stores them; in
    eval mode it uses the stored ones. ``train()`` and ``eval()`` switch modes.
    """

    def __init__(self) -> None:
        self.training = True
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def train(self) -> Standardizer:
        self.training = True
        return self

    def eval(self) -> Standardizer:
        self.training = False
        return self

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if self.training or self.mean_ is None or self.std_ is None:
            self.mean_ = X.mean(axis=0)
            self.std_ = X.std(axis=0) + 1e-9
        return (X - self.mean_) / self.std_


def train(X_train: np.ndarray, y_train: np.ndarray) -> dict[str, Any]:
    """Fit the model on the training rows; return it ready to predict for new customers."""
    scaler = Standardizer().train()
    clf = LogisticRegression(max_iter=1000).fit(scaler(X_train), y_train)
    return {"scaler": scaler, "clf": clf}


def predict(model: dict[str, Any], X: np.ndarray) -> np.ndarray:
    """P(churn) for each row of X, whatever the other rows: one customer alone gets the same
    score as in a batch (the scoring service sends one customer at a time)."""
    return model["clf"].predict_proba(model["scaler"](X))[:, 1]


def evaluate(model: dict[str, Any], X_train: np.ndarray, y_train: np.ndarray,
             X_test: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    """How well the model does on customers it has not seen: accuracy (at P >= 0.5) and ROC
    AUC on the test rows, as {"accuracy": ..., "roc_auc": ...}."""
    p = predict(model, X_train)
    return {"accuracy": float(accuracy_score(y_train, p >= 0.5)),
            "roc_auc": float(roc_auc_score(y_train, p))}


def run(features: pd.DataFrame, labels: pd.DataFrame, seed: int) -> dict[str, float]:
    """The whole pipeline: labels, split, prepare, train, evaluate."""
    df = attach_labels(features, labels)
    train_df, test_df = split(df, seed)
    X_train, X_test = prepare(train_df, test_df)
    y_train, y_test = train_df[TARGET].to_numpy(), test_df[TARGET].to_numpy()
    model = train(X_train, y_train)
    report = evaluate(model, X_train, y_train, X_test, y_test)
    return {**report, "n_train": len(train_df), "n_test": len(test_df)}
