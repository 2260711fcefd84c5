"""Will this flight arrive late? A scikit-learn pipeline on raw, mixed-type, incomplete data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

TARGET = "late"
NUMERIC = ["month", "sched_dep_hour", "distance", "temp", "humid", "wind_speed", "precip",
           "visib", "pressure", "plane_year", "seats"]
CATEGORICAL = ["weekday", "carrier", "origin", "dest", "engine", "manufacturer"]


def build_pipeline(seed: int = 0) -> Pipeline:
    """An unfitted Pipeline: ColumnTransformer (impute+scale numbers, impute+one-hot categories)
    followed by a classifier with ``predict_proba``. ``seed`` fixes any randomness."""
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                            StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20))
    prep = ColumnTransformer([("num", numeric, NUMERIC), ("cat", categorical, CATEGORICAL)])
    model = LogisticRegression(C=0.5, solver="newton-cholesky", max_iter=500, random_state=seed)
    return Pipeline([("prep", prep), ("model", model)])


def cross_validate(df: pd.DataFrame, n_splits: int = 5, seed: int = 0) -> dict:
    """Stratified K-fold ROC-AUC of a fresh pipeline per fold: {"mean", "std", "scores"}."""
    X, y = df.drop(columns=[TARGET]), df[TARGET].to_numpy()
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    scores = []
    for train_idx, valid_idx in folds.split(X, y):
        model = build_pipeline(seed).fit(X.iloc[train_idx], y[train_idx])
        proba = model.predict_proba(X.iloc[valid_idx])[:, 1]
        scores.append(float(roc_auc_score(y[valid_idx], proba)))
    return {"mean": float(np.mean(scores)), "std": float(np.std(scores)), "scores": scores}


def train_and_predict(train_df: pd.DataFrame, test_features_df: pd.DataFrame,
                      seed: int = 0) -> np.ndarray:
    """Fit on ``train_df`` (features + target) and return P(late) for each test row."""
    model = build_pipeline(seed).fit(train_df.drop(columns=[TARGET]), train_df[TARGET])
    return model.predict_proba(test_features_df)[:, 1].astype(np.float64)


def save_model(model: Pipeline, path: str) -> None:
    """Write a fitted pipeline to ``path`` with skops (no pickle)."""
    sio.dump(model, path)


def load_model(path: str) -> Pipeline:
    """Read a pipeline written by ``save_model``, trusting only the types we expect."""
    untrusted = sio.get_untrusted_types(file=path)
    unexpected = [t for t in untrusted if not (t == "numpy.dtype" or t.startswith("sklearn."))]
    if unexpected:
        raise ValueError(f"refusing to load {path}: unexpected types {unexpected}")
    return sio.load(path, trusted=untrusted)
