"""Train the tiny penguin-species model the app serves and write it to app/model.json.

Maintainers run this once (``python train_model.py``); the image only needs the JSON it writes.
It is a standardised multinomial logistic regression on the four body measurements of the
Palmer penguins (CC0, from the ``palmerpenguins`` package; see data/SOURCE.md), stored as plain
numbers so that the app needs neither scikit-learn nor pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
OUT = Path(__file__).resolve().parent / "app" / "model.json"


def main() -> None:
    """Fit the model on every complete record and write its coefficients as JSON."""
    import palmerpenguins
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    frame = palmerpenguins.load_penguins().dropna(subset=[*FEATURES, "species"])
    x = frame[FEATURES].to_numpy(dtype=float)
    y = frame["species"].to_numpy()
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x), y)
    doc = {
        "name": "penguin-species",
        "version": "1.0.0",
        "features": FEATURES,
        "classes": [str(c) for c in model.classes_],
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
        "trained_on": f"palmerpenguins 0.1.6, {len(frame)} complete records",
        "trained_with": f"scikit-learn {sklearn.__version__}",
    }
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {OUT} (training accuracy {model.score(scaler.transform(x), y):.3f})")


if __name__ == "__main__":
    main()
