"""A data-quality pipeline for raw sensor readings (starter).

landing/<day>/*.csv|*.jsonl  ->  read  ->  validate  ->  out/readings/date=YYYY-MM-DD/*.parquet
                                                     ->  out/quarantine/*.parquet
The README states every rule; the notebook walks through the data.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa  # noqa: F401 - declare your schema with it (see the README)

# The clean schema, in this column order.
COLUMNS = ["station", "observed_at", "site", "temp_f", "humidity", "wind_speed_mph",
           "pressure_hpa"]
# Columns some upstream files use instead of the canonical names.
ALIASES = {"temperature_f": "temp_f", "wind_mph": "wind_speed_mph"}
REQUIRED = ["station", "observed_at", "temp_f", "humidity"]
NUMERIC = ["temp_f", "humidity", "wind_speed_mph", "pressure_hpa"]
# Quarantine reasons, in the order the rules are checked.
REASONS = ["missing_value", "bad_type", "out_of_range", "duplicate"]

# TODO: declare the schema of a clean reading, e.g.
# SCHEMA = pa.DataFrameSchema({"station": pa.Column(str, pa.Check.isin([...])), ...})


def read_landing(landing_dir: str, day: str) -> pd.DataFrame:
    """Read every file of one landing day into one frame of raw text.

    Files are ``<landing_dir>/<day>/*.csv`` and ``*.jsonl``, in file-name order. Decode each
    file as UTF-8 (a byte-order mark is allowed) and fall back to Windows-1252. Rename aliased
    columns, drop columns that are not in COLUMNS. Return one row per data row with columns
    ``source_file`` ("<day>/<file name>"), ``row_number`` (from 1 within each file) and
    COLUMNS, every value as text or None (JSON values that are not strings become their JSON
    text: 54.3 -> "54.3", true -> "true").
    """
    raise NotImplementedError


def validate(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split raw rows (as read_landing returns them) into clean and quarantined rows.

    Return {"clean": typed rows with exactly COLUMNS (the README gives the types),
    "quarantine": the raw rows that break a rule, with source_file, row_number and a reason
    column}. A row gets the reason of the first rule it breaks: missing_value, bad_type,
    out_of_range, then duplicate (a station and observed_at already seen earlier in ``raw``).
    """
    raise NotImplementedError


def run(landing_dir: str, out_dir: str, day: str | None = None) -> dict[str, Any]:
    """Process one landing day (``day``), or rebuild everything from all days (``day=None``).

    Write clean rows to ``<out_dir>/readings/date=YYYY-MM-DD/*.parquet`` (the UTC date of
    observed_at) and quarantined rows to ``<out_dir>/quarantine/*.parquet``. Running twice
    must leave the same outputs. Return the report of this run:
    {"rows_in": int, "rows_out": int, "quarantined": {reason: count}}.
    """
    raise NotImplementedError
