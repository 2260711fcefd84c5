"""Penguin species API: a FastAPI app serving the tiny model in model.json.

Run it locally (from this exercise's folder, with the lab's environment):

    uvicorn app.main:app --port 8000

GET /health answers {"status": "ok", ...}; POST /predict takes
{"instances": [{"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181,
"body_mass_g": 3750}]} and answers {"predictions": [{"species": "Adelie", "probabilities":
{...}}]}. MODEL_PATH overrides where the model is read from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

try:
    from app.model import SpeciesModel
except ModuleNotFoundError:  # started as a script: python app/main.py
    from model import SpeciesModel  # type: ignore[no-redef]

MODEL_PATH = Path(os.environ.get("MODEL_PATH") or Path(__file__).with_name("model.json"))
MODEL = SpeciesModel.load(MODEL_PATH)

app = FastAPI(title="Penguin species API", version=MODEL.version)


class Penguin(BaseModel):
    """The four body measurements of one penguin."""

    bill_length_mm: float = Field(gt=0, lt=1000)
    bill_depth_mm: float = Field(gt=0, lt=1000)
    flipper_length_mm: float = Field(gt=0, lt=1000)
    body_mass_g: float = Field(gt=0, lt=100_000)


class PredictRequest(BaseModel):
    """A batch of penguins to classify."""

    instances: list[Penguin] = Field(min_length=1, max_length=1000)


@app.get("/health")
def health() -> dict[str, str]:
    """Liveness and readiness: the model is loaded and the server answers."""
    return {"status": "ok", "model": MODEL.name, "version": MODEL.version}


@app.post("/predict")
def predict(request: PredictRequest) -> dict[str, Any]:
    """The species and per-species probabilities of every penguin in the batch."""
    return {"predictions": [MODEL.predict_one(p.model_dump()) for p in request.instances]}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host=os.environ.get("HOST", "0.0.0.0"),
                port=int(os.environ.get("PORT", "8000")))
