"""Train a scikit-learn model and export it as plain JSON for predict.mjs (provided; no edits).

    python export_model.py                        # all three models into models/
    python export_model.py --dataset wine --model mlp --out my_model.json

The JSON holds only numbers, strings and lists (no pickle), so any language can read it:

    {"format": "ml-engineer-lab/sklearn-json", "version": 1,
     "n_features": 13, "feature_names": [...], "classes": ["class_0", "class_1", "class_2"],
     "steps": [
       {"type": "standard_scaler", "mean": [...13], "scale": [...13]},
       {"type": "logistic_regression", "coef": [[...13], ...one row per output],
        "intercept": [...]}
       -- or --
       {"type": "mlp", "activation": "relu" | "tanh" | "logistic" | "identity",
        "output": "logistic" | "softmax",
        "weights": [[[...], ...], ...one (inputs x outputs) matrix per layer],
        "biases": [[...], ...one vector per layer]}
     ]}

A logistic regression on two classes has ONE coef row: its sigmoid is the probability of
``classes[1]``. With three or more classes there is one row per class and a softmax.
An MLP's last layer has one unit with a logistic output for two classes, else one unit per
class with a softmax.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

FORMAT = "ml-engineer-lab/sklearn-json"
DATASETS = {"breast_cancer": load_breast_cancer, "wine": load_wine, "iris": load_iris}
HERE = Path(__file__).resolve().parent


def bundled_dataset(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features, string class labels and feature names of a dataset bundled with sklearn."""
    bunch = DATASETS[name]()
    labels = np.asarray(bunch.target_names)[bunch.target]
    return bunch.data.astype(float), labels.astype(str), [str(f) for f in bunch.feature_names]


def make_pipeline(model: str, seed: int = 0, hidden: tuple[int, ...] = (16,),
                  activation: str = "relu", max_iter: int = 400) -> Pipeline:
    """StandardScaler followed by a logistic regression or a small MLP."""
    if model == "logreg":
        head: Any = LogisticRegression(max_iter=5000)
    elif model == "mlp":
        head = MLPClassifier(hidden_layer_sizes=hidden, activation=activation,
                             max_iter=max_iter, random_state=seed)
    else:
        raise ValueError(f"unknown model {model!r} (logreg or mlp)")
    return Pipeline([("scale", StandardScaler()), ("model", head)])


def fit(pipeline: Pipeline, x: np.ndarray, y: np.ndarray) -> Pipeline:
    """Fit quietly (a small MLP may stop before it fully converges: that is fine here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline.fit(x, y)


def _floats(values: Any) -> Any:
    return np.asarray(values, dtype=float).tolist()


def export(pipeline: Pipeline, feature_names: list[str] | None = None) -> dict[str, Any]:
    """A fitted StandardScaler + (LogisticRegression | MLPClassifier) pipeline as plain data."""
    scaler, head = pipeline.named_steps["scale"], pipeline.named_steps["model"]
    n = int(scaler.n_features_in_)
    steps: list[dict[str, Any]] = [{
        "type": "standard_scaler",
        "mean": _floats(scaler.mean_ if scaler.mean_ is not None else np.zeros(n)),
        "scale": _floats(scaler.scale_ if scaler.scale_ is not None else np.ones(n)),
    }]
    if isinstance(head, LogisticRegression):
        steps.append({"type": "logistic_regression", "coef": _floats(head.coef_),
                      "intercept": _floats(head.intercept_)})
    elif isinstance(head, MLPClassifier):
        steps.append({"type": "mlp", "activation": head.activation,
                      "output": head.out_activation_,
                      "weights": [_floats(w) for w in head.coefs_],
                      "biases": [_floats(b) for b in head.intercepts_]})
    else:
        raise TypeError(f"cannot export {type(head).__name__}")
    classes = [c.item() if isinstance(c, np.generic) else c for c in head.classes_]
    return {"format": FORMAT, "version": 1, "n_features": n,
            "feature_names": feature_names or [f"x{i}" for i in range(n)],
            "classes": classes, "steps": steps}


def main() -> None:
    """Train on a bundled dataset and write the model's JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS))
    parser.add_argument("--model", choices=["logreg", "mlp"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    jobs = [(args.dataset, args.model, args.out)] if args.dataset else [
        ("breast_cancer", "logreg", HERE / "models" / "breast_cancer_logreg.json"),
        ("wine", "logreg", HERE / "models" / "wine_logreg.json"),
        ("wine", "mlp", HERE / "models" / "wine_mlp.json"),
    ]
    for dataset, model, out in jobs:
        x, y, names = bundled_dataset(dataset)
        out = out or HERE / "models" / f"{dataset}_{model or 'logreg'}.json"
        pipeline = fit(make_pipeline(model or "logreg"), x, y)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(export(pipeline, names)) + "\n", encoding="utf-8")
        print(f"wrote {out} (accuracy on its training data {pipeline.score(x, y):.3f})")


if __name__ == "__main__":
    main()
