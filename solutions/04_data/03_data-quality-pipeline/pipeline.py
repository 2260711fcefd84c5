"""A data-quality pipeline for raw sensor readings (reference solution).

landing/<day>/*.csv|*.jsonl  ->  read  ->  validate (pandera)  ->  out/readings/date=.../*.parquet
                                                              ->  out/quarantine/*.parquet
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

COLUMNS = ["station", "observed_at", "site", "temp_f", "humidity", "wind_speed_mph",
           "pressure_hpa"]
ALIASES = {"temperature_f": "temp_f", "wind_mph": "wind_speed_mph"}
REQUIRED = ["station", "observed_at", "temp_f", "humidity"]
NUMERIC = ["temp_f", "humidity", "wind_speed_mph", "pressure_hpa"]
REASONS = ["missing_value", "bad_type", "out_of_range", "duplicate"]
NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)"
TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})"

# The declared schema of a clean reading. Types come first (the frame is built typed), then
# these checks; a row failing any check is quarantined as out_of_range.
SCHEMA = pa.DataFrameSchema(
    {
        "station": pa.Column(str, pa.Check.isin(["EWR", "JFK", "LGA"])),
        "observed_at": pa.Column("datetime64[us, UTC]"),
        "site": pa.Column(str, nullable=True),
        "temp_f": pa.Column(float, pa.Check.in_range(-40, 130)),
        "humidity": pa.Column(float, pa.Check.in_range(0, 100)),
        "wind_speed_mph": pa.Column(float, pa.Check.in_range(0, 120), nullable=True),
        "pressure_hpa": pa.Column(float, pa.Check.in_range(900, 1100), nullable=True),
    },
    strict=True,
    ordered=True,
)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _records(path: Path) -> list[dict[str, Any]]:
    text = _decode(path.read_bytes())
    if path.suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_landing(landing_dir: str, day: str) -> pd.DataFrame:
    """All rows of one landing day, every value as text, with lineage columns."""
    folder = Path(landing_dir) / day
    rows = []
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".csv", ".jsonl")):
        for number, record in enumerate(_records(path), start=1):
            named = {ALIASES.get(str(k).strip(), str(k).strip()): v for k, v in record.items()}
            row: dict[str, Any] = {"source_file": f"{day}/{path.name}", "row_number": number}
            row.update({col: _as_text(named.get(col)) for col in COLUMNS})
            rows.append(row)
    frame = pd.DataFrame(rows, columns=["source_file", "row_number", *COLUMNS])
    frame["row_number"] = frame["row_number"].astype("int64")
    for col in COLUMNS:
        frame[col] = frame[col].astype(object)
    return frame


def _typed(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Typed columns, and each row's first reason so far (missing_value or bad_type)."""
    text = raw[COLUMNS].apply(lambda s: s.map(lambda v: v.strip() if isinstance(v, str) else v))
    text = text.mask(text.isna() | (text == ""))
    reason = pd.Series(None, index=raw.index, dtype=object)
    reason[text[REQUIRED].isna().any(axis=1)] = "missing_value"

    stamp_ok = text["observed_at"].fillna("").str.fullmatch(TIMESTAMP)
    observed = pd.to_datetime(text["observed_at"].where(stamp_ok), format="ISO8601", utc=True,
                              errors="coerce")
    bad = text["observed_at"].notna() & observed.isna()
    typed = pd.DataFrame({"station": text["station"], "observed_at": observed})
    typed["site"] = raw["site"].where(text["site"].notna(), None)
    for col in NUMERIC:
        ok = text[col].fillna("").str.fullmatch(NUMBER)
        bad |= text[col].notna() & ~ok
        typed[col] = pd.to_numeric(text[col].where(ok), errors="coerce").astype("float64")
    reason[reason.isna() & bad] = "bad_type"
    typed["observed_at"] = typed["observed_at"].dt.as_unit("us")
    return typed, reason


def _split(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clean rows with their lineage columns, quarantined raw rows with a reason)."""
    raw = raw.reset_index(drop=True)
    typed, reason = _typed(raw)
    candidates = typed[reason.isna()].astype({"station": str, "site": object})
    try:
        SCHEMA.validate(candidates, lazy=True)
    except pa.errors.SchemaErrors as errors:
        failed = errors.failure_cases["index"].dropna().astype(int).unique()
        reason[failed] = "out_of_range"
    valid = reason.isna()
    repeated = typed[valid].duplicated(["station", "observed_at"], keep="first")
    reason[repeated[repeated].index] = "duplicate"
    keep = reason.isna()
    clean = typed[keep][COLUMNS]
    clean.insert(0, "row_number", raw.loc[keep, "row_number"])
    clean.insert(0, "source_file", raw.loc[keep, "source_file"])
    clean = clean.reset_index(drop=True)
    clean["station"] = clean["station"].astype(str)
    clean["site"] = clean["site"].astype(object)
    quarantine = raw[~keep].copy()
    quarantine["reason"] = reason[~keep].astype(str)
    return clean, quarantine.reset_index(drop=True)


def validate(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split raw rows into typed clean rows and quarantined rows with a reason."""
    clean, quarantine = _split(raw)
    return {"clean": clean[COLUMNS], "quarantine": quarantine}


def _earlier_keys(out: Path, batch: str) -> set[tuple[str, pd.Timestamp]]:
    """(station, observed_at) of rows written by batches before this one."""
    keys: set[tuple[str, pd.Timestamp]] = set()
    for path in sorted((out / "readings").glob("date=*/part-*.parquet")):
        if path.stem.removeprefix("part-") < batch:
            frame = pd.read_parquet(path, columns=["station", "observed_at"])
            keys.update(zip(frame["station"], frame["observed_at"], strict=True))
    return keys


def _write_batch(out: Path, batch: str, clean: pd.DataFrame, quarantine: pd.DataFrame) -> None:
    """Replace everything this batch wrote before: one file per partition it touches."""
    readings = out / "readings"
    for old in readings.glob(f"date=*/part-{batch}.parquet"):
        old.unlink()
    dates = clean["observed_at"].dt.strftime("%Y-%m-%d")
    for date, part in clean.groupby(dates, sort=True):
        folder = readings / f"date={date}"
        folder.mkdir(parents=True, exist_ok=True)
        part = part.sort_values(["observed_at", "station"])[COLUMNS].reset_index(drop=True)
        part.to_parquet(folder / f"part-{batch}.parquet", index=False)
    for folder in readings.glob("date=*"):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    (out / "quarantine").mkdir(parents=True, exist_ok=True)
    quarantine = quarantine.sort_values(["source_file", "row_number"])
    quarantine.astype({c: "string" for c in COLUMNS}).to_parquet(
        out / "quarantine" / f"batch={batch}.parquet", index=False)


def run(landing_dir: str, out_dir: str, day: str | None = None) -> dict[str, Any]:
    """Process one landing day (``day``) or rebuild everything (``day=None``); return a report."""
    landing, out = Path(landing_dir), Path(out_dir)
    if day is None:
        batches = sorted(p.name for p in landing.iterdir() if p.is_dir())
        shutil.rmtree(out / "readings", ignore_errors=True)
        shutil.rmtree(out / "quarantine", ignore_errors=True)
    else:
        batches = [day]
    report: dict[str, Any] = {"rows_in": 0, "rows_out": 0,
                              "quarantined": dict.fromkeys(REASONS, 0)}
    for batch in batches:
        raw = read_landing(str(landing), batch)
        clean, quarantine = _split(raw)
        # Rows an earlier batch already wrote are duplicates too.
        seen = _earlier_keys(out, batch)
        again = [(s, t) in seen for s, t in zip(clean["station"], clean["observed_at"],
                                                  strict=True)]
        if any(again):
            lineage = set(zip(clean["source_file"][again], clean["row_number"][again],
                              strict=True))
            extra = raw[[k in lineage for k in zip(raw["source_file"], raw["row_number"],
                                                   strict=True)]].copy()
            extra["reason"] = "duplicate"
            quarantine = pd.concat([quarantine, extra], ignore_index=True)
            clean = clean[[not a for a in again]].reset_index(drop=True)
        _write_batch(out, batch, clean, quarantine)
        report["rows_in"] += len(raw)
        report["rows_out"] += len(clean)
        for reason, count in quarantine["reason"].value_counts().items():
            report["quarantined"][str(reason)] += int(count)
    return report
