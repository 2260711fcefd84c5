"""Score penguins with the logistic-regression coefficients stored in model.json (no numpy)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SpeciesModel:
    """A standardised multinomial logistic regression, read from plain JSON numbers."""

    name: str
    version: str
    features: list[str]
    classes: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[list[float]]
    intercept: list[float]

    @classmethod
    def load(cls, path: Path) -> SpeciesModel:
        """Read the model file written by train_model.py."""
        doc = json.loads(Path(path).read_text())
        return cls(name=doc["name"], version=doc["version"], features=doc["features"],
                   classes=doc["classes"], mean=doc["mean"], scale=doc["scale"],
                   coef=doc["coef"], intercept=doc["intercept"])

    def predict_one(self, measurements: dict[str, float]) -> dict[str, Any]:
        """The most likely species and the probability of each species for one penguin."""
        z = [(measurements[f] - m) / s for f, m, s in zip(self.features, self.mean, self.scale,
                                                           strict=True)]
        logits = [b + sum(w * v for w, v in zip(row, z, strict=True))
                  for row, b in zip(self.coef, self.intercept, strict=True)]
        top = max(logits)
        weights = [math.exp(v - top) for v in logits]
        total = sum(weights)
        probabilities = {c: w / total for c, w in zip(self.classes, weights, strict=True)}
        species = max(probabilities, key=probabilities.__getitem__)
        return {"species": species, "probabilities": probabilities}
