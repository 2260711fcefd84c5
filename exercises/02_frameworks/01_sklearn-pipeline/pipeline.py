"""Will this flight arrive late? A scikit-learn pipeline on raw, mixed-type, incomplete data.

Each row of ``data/flights_train.csv`` is one flight out of New York in 2013, described only by
what is known before departure. ``late`` (the target) is 1 when it arrived 15 minutes late or
more, or was cancelled. Read the README for the tasks; the notebook walks through them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

TARGET = "late"
NUMERIC = ["month", "sched_dep_hour", "distance", "temp", "humid", "wind_speed", "precip",
           "visib", "pressure", "plane_year", "seats"]
CATEGORICAL = ["weekday", "carrier", "origin", "dest", "engine", "manufacturer"]


def build_pipeline(seed: int = 0) -> Pipeline:
    """Return an unfitted ``Pipeline``: a ``ColumnTransformer`` that imputes and scales the
    NUMERIC columns and imputes and one-hot encodes the CATEGORICAL ones, then a classifier
    with ``predict_proba``. Pass ``seed`` as ``random_state`` to anything random."""
    raise NotImplementedError


def cross_validate(df: pd.DataFrame, n_splits: int = 5, seed: int = 0) -> dict:
    """Estimate ROC-AUC with ``StratifiedKFold(n_splits, shuffle=True, random_state=seed)``.

    ``df`` holds the feature columns and TARGET. For each fold, fit a fresh
    ``build_pipeline(seed)`` on the training part and score ``predict_proba(...)[:, 1]`` on the
    held-out part. Return ``{"mean": float, "std": float, "scores": [one float per fold]}``.
    """
    raise NotImplementedError


def train_and_predict(train_df: pd.DataFrame, test_features_df: pd.DataFrame,
                      seed: int = 0) -> np.ndarray:
    """Fit ``build_pipeline(seed)`` on ``train_df`` (features + TARGET) and return a 1-D float
    array with P(late) for each row of ``test_features_df`` (features only), in order."""
    raise NotImplementedError


def save_model(model: Pipeline, path: str) -> None:
    """Write the fitted pipeline ``model`` to ``path`` in skops format (never pickle/joblib)."""
    raise NotImplementedError


def load_model(path: str) -> Pipeline:
    """Read a pipeline written by ``save_model``, after checking which types the file holds."""
    raise NotImplementedError
