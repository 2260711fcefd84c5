"""Trusted helpers for pandas-cleaning: a seeded messy-export generator with per-step truth.

``make(seed)`` starts from the real Palmer penguins records (``penguins-raw.csv`` shipped in the
palmerpenguins package), corrupts them the way a field-station export gets corrupted, and keeps,
for every cell, what each cleaning step should turn it into. So each step can be graded on its
own input (the truth of the step before) and a wrong step does not sink the others.

``explain(step, got, dataset)`` compares a learner's result with the truth and returns a message
that names the step, the column and the *kind* of row mishandled (never a hidden value), or None.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MESSY_COLUMNS = ["sample_id", "species", "island", "date_egg", "bill_length", "bill_depth",
                 "flipper_length", "body_mass", "sex"]
# raw column -> (clean column, unit, other unit, factor other->unit, decimals)
MEASURES = {
    "bill_length": ("bill_length_mm", "mm", "cm", 10.0, 1),
    "bill_depth": ("bill_depth_mm", "mm", "cm", 10.0, 1),
    "flipper_length": ("flipper_length_mm", "mm", "cm", 10.0, 0),
    "body_mass": ("body_mass_g", "g", "kg", 1000.0, 0),
}
CLEAN_COLUMNS = [MEASURES[c][0] if c in MEASURES else c for c in MESSY_COLUMNS]
RAW_NAME = {MEASURES[c][0]: c for c in MEASURES} | {c: c for c in MESSY_COLUMNS}
RANGES = {"bill_length_mm": (25.0, 70.0), "bill_depth_mm": (10.0, 25.0),
          "flipper_length_mm": (150.0, 250.0), "body_mass_g": (2000.0, 7000.0)}
STUDY_YEARS = (2007, 2009)
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
STEPS = ("missing", "dedupe", "categories", "dates", "units", "swapped", "impossible")
_MEASURED = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
STEP_COLUMNS = {  # the columns each step may change; the others must come back as they went in
    "missing": tuple(MESSY_COLUMNS), "dedupe": tuple(MESSY_COLUMNS),
    "categories": ("species", "island", "sex"), "dates": ("date_egg",), "units": _MEASURED,
    "swapped": _MEASURED, "impossible": ("date_egg", *_MEASURED), "pipeline": tuple(CLEAN_COLUMNS),
}
FUNCTIONS = {"missing": "standardise_missing", "dedupe": "dedupe",
             "categories": "normalise_categories", "dates": "parse_dates",
             "units": "parse_units", "swapped": "fix_swapped_units",
             "impossible": "flag_impossible", "pipeline": "clean"}
VISIBLE_CSV = "data/penguins_messy_seed0.csv"

_MARKERS_USED = ["", "NA", "n/a", "N/A", "?", "-", "null", "NULL", "  "]
_SPECIES_FULL = {"Adelie": "Adelie Penguin (Pygoscelis adeliae)",
                 "Chinstrap": "Chinstrap penguin (Pygoscelis antarctica)",
                 "Gentoo": "Gentoo penguin (Pygoscelis papua)"}
_LATIN = {"Adelie": "Pygoscelis adeliae", "Chinstrap": "Pygoscelis antarctica",
          "Gentoo": "P. papua"}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_GOOD = {  # kinds a re-entered row may be re-typed in (same meaning, other spelling)
    "species": ["canonical", "lower", "upper", "full", "latin"],
    "island": ["canonical", "lower", "upper", "suffix"],
    "date_egg": ["iso", "us", "text"],
    "measure": ["bare", "unit", "nospace", "alt"],
}


def read_export(path: Path | str) -> pd.DataFrame:
    """Read an export the way the README tells learners to: every cell as the text it holds."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def _records() -> tuple[dict[str, Any], ...]:
    return tuple(base_records().to_dict("records"))


@lru_cache(maxsize=1)
def base_records() -> pd.DataFrame:
    """The 344 real records, tidied: one row per bird, canonical values, NaN where unmeasured."""
    import palmerpenguins

    path = Path(palmerpenguins.__file__).parent / "data" / "penguins-raw.csv"
    raw = pd.read_csv(path)
    sex = raw["Sex"].str.lower()
    return pd.DataFrame({
        "sample_id": (raw["studyName"] + "-" + raw["Individual ID"]).astype(object),
        "species": raw["Species"].str.split().str[0].astype(object),
        "island": raw["Island"].astype(object),
        "date_egg": pd.to_datetime(raw["Date Egg"], format="%Y-%m-%d"),
        "bill_length": raw["Culmen Length (mm)"].astype(float),
        "bill_depth": raw["Culmen Depth (mm)"].astype(float),
        "flipper_length": raw["Flipper Length (mm)"].astype(float),
        "body_mass": raw["Body Mass (g)"].astype(float),
        "sex": sex.where(sex.isin(["male", "female"])).astype(object),
    })


# -- one cell: its raw text, its kind, and what each step should make of it -----------------


@dataclass
class Cell:
    raw: str
    kind: str
    values: dict[str, Any]  # step -> value after that step, where the step changes it
    padded: bool = False


def _pick(rng: np.random.Generator, options: dict[str, float]) -> str:
    point = rng.random() * sum(options.values())
    for name, weight in options.items():
        point -= weight
        if point < 0:
            return name
    return name


def _marker(rng: np.random.Generator) -> Cell:
    return Cell(_MARKERS_USED[int(rng.integers(len(_MARKERS_USED)))], "marker", {})


def _species(rng: np.random.Generator, value: str, kind: str | None = None) -> Cell:
    kind = kind or _pick(rng, {"canonical": 35, "lower": 12, "upper": 10, "full": 28, "latin": 6,
                               "accent": 6, "unknown": 1.5, "marker": 1.5})
    if kind == "marker":
        return _marker(rng)
    if kind == "accent" and value != "Adelie":
        kind = "lower"
    text = {"canonical": value, "lower": value.lower(), "upper": value.upper(),
            "full": _SPECIES_FULL[value], "latin": _LATIN[value], "accent": "Adélie",
            "unknown": ["unidentified", "Pygoscelis sp.", "penguin"][int(rng.integers(3))]}[kind]
    return Cell(text, kind, {"categories": np.nan if kind == "unknown" else value})


def _island(rng: np.random.Generator, value: str, kind: str | None = None) -> Cell:
    kind = kind or _pick(rng, {"canonical": 55, "lower": 12, "upper": 10, "suffix": 15,
                               "misspelled": 0 if value != "Torgersen" else 25, "region": 1.5,
                               "marker": 1.5})
    if kind == "marker":
        return _marker(rng)
    suffix = [" Island", " Is.", " island"][int(rng.integers(3))]
    text = {"canonical": value, "lower": value.lower(), "upper": value.upper(),
            "suffix": value + suffix, "misspelled": "Torgerson", "region": "Anvers"}[kind]
    return Cell(text, kind, {"categories": np.nan if kind == "region" else value})


def _sex(rng: np.random.Generator, value: Any) -> Cell:
    if not isinstance(value, str):
        return Cell(".", "unknown", {"categories": np.nan}) if rng.random() < 0.5 \
            else _marker(rng)
    style = _pick(rng, {"upper": 45, "lower": 15, "title": 15, "letter": 15, "letter-lower": 7,
                        "marker": 3})
    if style == "marker":
        return _marker(rng)
    text = {"upper": value.upper(), "lower": value, "title": value.title(),
            "letter": value[0].upper(), "letter-lower": value[0]}[style]
    return Cell(text, f"{style}:{value}", {"categories": value})


def _date_text(day: pd.Timestamp | tuple[int, int, int], fmt: str) -> str:
    y, m, d = (day.year, day.month, day.day) if isinstance(day, pd.Timestamp) else day
    if fmt == "us":
        return f"{m}/{d}/{y}"
    if fmt == "text":
        return f"{d} {_MONTHS[m - 1]} {y}"
    return f"{y:04d}-{m:02d}-{d:02d}"


def _date(rng: np.random.Generator, value: pd.Timestamp, kind: str | None = None) -> Cell:
    kind = kind or _pick(rng, {"iso": 58, "us": 20, "text": 17, "invalid": 1.5, "typo": 2,
                               "marker": 1.5})
    if kind == "marker":
        return _marker(rng)
    if kind == "invalid":
        return Cell(_date_text((value.year, 11, 31), "iso"), kind, {"dates": pd.NaT})
    if kind == "typo":
        shifted = value.replace(year=value.year + int(rng.choice([-100, -10, 10, 100])))
        fmt = ["iso", "us", "text"][int(rng.integers(3))]
        return Cell(_date_text(shifted, fmt), f"typo-{fmt}",
                    {"dates": shifted, "impossible": pd.NaT})
    return Cell(_date_text(value, kind), kind, {"dates": value})


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _measure(rng: np.random.Generator, column: str, value: float,
             kind: str | None = None) -> Cell:
    _, unit, other, factor, decimals = MEASURES[column]
    if math.isnan(value):
        return _marker(rng)
    kind = kind or _pick(rng, {"bare": 52, "unit": 18, "nospace": 6, "alt": 10,
                               "thousands": 6 if unit == "g" else 0, "swapped": 3.5,
                               "impossible": 2.5, "marker": 2})
    if kind == "marker":
        return _marker(rng)
    plain = f"{value:.{decimals}f}"
    scaled = _trim(f"{value / factor:.{decimals + (1 if factor == 10 else 3)}f}")
    if kind in ("bare", "unit", "nospace", "thousands"):
        text = {"bare": plain, "unit": f"{plain} {unit}", "nospace": f"{plain}{unit}",
                "thousands": f"{value:,.0f} {unit}"}[kind]
        return Cell(text, kind, {"units": value})
    if kind == "alt":
        return Cell(f"{scaled} {other}", kind, {"units": float(scaled) * factor})
    if kind == "swapped":
        return Cell(scaled, kind, {"units": float(scaled), "swapped": float(scaled) * factor})
    sub = _pick(rng, {"negative": 3, "zero": 1, "digit": 3, "sentinel": 2})
    text = {"negative": f"-{plain}", "zero": "0", "digit": f"{value * 10:.0f}",
            "sentinel": ["999", "-99", "9999"][int(rng.integers(3))]}[sub]
    return Cell(text, f"impossible-{sub}", {"units": float(text), "impossible": np.nan})


def _pad(rng: np.random.Generator, cell: Cell) -> Cell:
    if cell.kind == "marker" or rng.random() >= 0.04:
        return cell
    left, right = [("  ", ""), ("", " "), (" ", "  ")][int(rng.integers(3))]
    return Cell(left + cell.raw + right, cell.kind, cell.values, padded=True)


def _row(rng: np.random.Generator, rec: dict[str, Any], forced: dict[str, str] | None = None
         ) -> dict[str, Cell]:
    forced = forced or {}
    cells = {"sample_id": Cell(rec["sample_id"], "id", {})}
    cells["species"] = _species(rng, rec["species"], forced.get("species"))
    cells["island"] = _island(rng, rec["island"], forced.get("island"))
    cells["date_egg"] = _date(rng, rec["date_egg"], forced.get("date_egg"))
    for col in MEASURES:
        cells[col] = _measure(rng, col, rec[col], forced.get(col))
    cells["sex"] = _sex(rng, rec["sex"])
    return {col: _pad(rng, cell) for col, cell in cells.items()}


def _stripped(raw: str) -> Any:
    text = raw.strip()
    return np.nan if text.lower() in MISSING_MARKERS else text


# -- a whole dataset -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """One generated export: the messy frame and what every step should return."""

    seed: int
    messy: pd.DataFrame
    stages: dict[str, pd.DataFrame]  # step -> expected output (index: row numbers in messy)
    kinds: pd.DataFrame  # messy row -> column -> how that cell was written
    padded: pd.DataFrame  # messy row -> column -> whether spaces were added around it
    row_kinds: pd.Series  # messy row -> its role among rows sharing a sample_id

    def step_input(self, step: str) -> pd.DataFrame:
        """What the step receives: the messy export, or the truth of the step before."""
        if step in ("missing", "pipeline"):
            return self.messy.copy()
        return self.stages[STEPS[STEPS.index(step) - 1]].copy()

    def expected(self, step: str) -> pd.DataFrame:
        """What the step should return."""
        return self.stages["impossible" if step == "pipeline" else step].copy()

    @property
    def truth(self) -> pd.DataFrame:
        """The fully cleaned table."""
        return self.expected("pipeline")


@lru_cache(maxsize=16)
def make(seed: int) -> Dataset:
    """Generate the messy export for ``seed`` (seed 0 is the one learners see)."""
    rng = np.random.default_rng(seed % 2**63)  # --seed may be negative
    base = _records()
    n = int(rng.integers(290, 331))
    picks = rng.choice(len(base), size=n, replace=False)
    rows: list[dict[str, Cell]] = []
    keys: list[float] = []
    roles: list[str] = []
    for i, idx in enumerate(picks):
        rows.append(_row(rng, base[int(idx)]))
        keys.append(float(i))
        roles.append("unique")
    n_exact, n_partial, n_tied = (int(rng.integers(6, 13)), int(rng.integers(5, 10)),
                                  int(rng.integers(3, 7)))
    chosen = rng.choice(n, size=n_exact + n_partial + n_tied, replace=False)
    groups: list[tuple[str, int, int]] = []  # (kind, base row, copy row)
    for j, i in enumerate(int(c) for c in chosen):
        kind = "exact" if j < n_exact else "partial" if j < n_exact + n_partial else "tied"
        src = rows[i]
        if kind == "exact":
            copy = dict(src)
            key = keys[i] + float(rng.uniform(0.05, 6.0))
        elif kind == "partial":
            filled = [c for c in MESSY_COLUMNS[1:] if not _is_missing(src[c])]
            blank = rng.choice(filled, size=min(len(filled), int(rng.integers(1, 4))),
                               replace=False)
            copy = dict(src)
            for col in blank:
                copy[str(col)] = _marker(rng)
            key = _copy_key(rng, keys[i], before=j % 2 == 0)
        else:
            copy = _retyped(rng, src, base[int(picks[i])])
            key = _copy_key(rng, keys[i], before=j % 2 == 0)
        rows.append(copy)
        keys.append(key)
        roles.append(kind)
        groups.append((kind, i, len(rows) - 1))
    order = sorted(range(len(rows)), key=lambda r: (keys[r], r))
    position = {r: p for p, r in enumerate(order)}
    role = dict(enumerate(roles))
    dropped: set[int] = set()
    for kind, orig, copy in groups:
        first, later = sorted((orig, copy), key=lambda r: position[r])
        if kind == "partial":
            role[orig], role[copy] = "more complete copy", "less complete copy"
            dropped.add(copy)
        else:
            label = "identical" if kind == "exact" else "equally complete"
            role[first], role[later] = f"first of {label} copies", f"later {label} copy"
            dropped.add(later)
    return _assemble(seed, [rows[r] for r in order], [role[r] for r in order],
                     [r not in dropped for r in order])


def _copy_key(rng: np.random.Generator, key: float, before: bool) -> float:
    """Where a re-entered copy goes: half of them before the row they copy, so that "keep
    the first" and "keep the most complete" disagree in every export."""
    gap = float(rng.uniform(0.5, 40.0))
    return key - gap if before else key + gap


def _is_missing(cell: Cell) -> bool:
    return isinstance(_stripped(cell.raw), float)


def _retyped(rng: np.random.Generator, src: dict[str, Cell],
             rec: dict[str, Any]) -> dict[str, Cell]:
    """A re-entry of the same bird with one or two values written another (correct) way."""
    copy = dict(src)
    options = [c for c in ("species", "island", "date_egg", *MEASURES)
               if src[c].kind in _GOOD["measure" if c in MEASURES else c]]
    if not options:
        return copy
    for col in rng.choice(options, size=min(len(options), int(rng.integers(1, 3))),
                          replace=False):
        col = str(col)
        family = _GOOD["measure" if col in MEASURES else col]
        kind = str(rng.choice([k for k in family if k != src[col].kind]))
        if col == "species":
            copy[col] = _species(rng, rec[col], kind)
        elif col == "island":
            copy[col] = _island(rng, rec[col], kind)
        elif col == "date_egg":
            copy[col] = _date(rng, rec[col], kind)
        else:
            copy[col] = _measure(rng, col, rec[col], kind)
        copy[col] = _pad(rng, copy[col])
    return copy


def _assemble(seed: int, rows: list[dict[str, Cell]], roles: list[str],
              kept: list[bool]) -> Dataset:
    messy = pd.DataFrame({c: [r[c].raw for r in rows] for c in MESSY_COLUMNS}, dtype="str")
    stages: dict[str, pd.DataFrame] = {}
    current = {c: [_stripped(r[c].raw) for r in rows] for c in MESSY_COLUMNS}
    stages["missing"] = _frame(current, MESSY_COLUMNS, np.arange(len(rows)), {})
    keep = np.flatnonzero(kept)
    current = {c: [current[c][i] for i in keep] for c in MESSY_COLUMNS}
    stages["dedupe"] = _frame(current, MESSY_COLUMNS, keep, {})
    names = dict(zip(MESSY_COLUMNS, MESSY_COLUMNS, strict=True))
    for step in STEPS[2:]:
        for col in MESSY_COLUMNS:
            for pos, i in enumerate(keep):
                cell = rows[i][col]
                if step in cell.values and not _is_missing(cell):
                    current[col][pos] = cell.values[step]
        if step == "units":
            names.update({c: MEASURES[c][0] for c in MEASURES})
        stages[step] = _frame(current, [names[c] for c in MESSY_COLUMNS], keep, names)
    kinds = pd.DataFrame({c: [r[c].kind for r in rows] for c in MESSY_COLUMNS}, dtype=object)
    padded = pd.DataFrame({c: [r[c].padded for r in rows] for c in MESSY_COLUMNS}, dtype=bool)
    return Dataset(seed, messy, stages, kinds, padded, pd.Series(roles, dtype=object))


def _frame(values: dict[str, list[Any]], columns: list[str], index: np.ndarray,
           names: dict[str, str]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for raw_col in MESSY_COLUMNS:
        col = names.get(raw_col, raw_col)
        vals = values[raw_col]
        if col == "date_egg" and any(isinstance(v, pd.Timestamp) for v in vals):
            data[col] = pd.Series(
                [v.to_datetime64() if isinstance(v, pd.Timestamp) else np.datetime64("NaT")
                 for v in vals], dtype="datetime64[us]")
        elif col in RANGES:
            data[col] = pd.Series(vals, dtype=float)
        else:
            data[col] = pd.Series(vals, dtype="str")
    frame = pd.DataFrame(data)[columns]
    frame.index = pd.Index(index, dtype="int64")
    return frame


def visible(exercise_dir: Path) -> Dataset:
    """Seed 0, after checking that the committed CSV is exactly what the generator makes."""
    ds = make(0)
    on_disk = read_export(Path(exercise_dir) / VISIBLE_CSV)
    if not on_disk.equals(ds.messy):
        raise RuntimeError(f"{VISIBLE_CSV} is out of date with tests/support.py: regenerate it "
                           "with scripts/make_pandas_cleaning_data.py")
    return ds


def write_visible(path: Path) -> None:
    """Write the seed-0 export learners see."""
    make(0).messy.to_csv(path, index=False)


# -- comparing a learner's result with the truth --------------------------------------------------

_EXAMPLES = {  # (column family, kind) -> how such a cell looks, in general terms
    ("any", "marker"): "a missing marker (like 'NA', 'n/a', '?', '-' or an empty cell)",
    ("any", "padded"): "text with spaces around it (like ' Dream  ')",
    ("sample_id", "id"): "sample ids (this step should leave them as they are)",
    ("species", "canonical"): "already-clean names (like 'Gentoo')",
    ("species", "lower"): "lower-case names (like 'gentoo')",
    ("species", "upper"): "upper-case names (like 'CHINSTRAP')",
    ("species", "full"): "full names (like 'Gentoo penguin (Pygoscelis papua)')",
    ("species", "latin"): "Latin names (like 'Pygoscelis antarctica' or 'P. papua')",
    ("species", "accent"): "the accented spelling 'Adélie'",
    ("species", "unknown"): "text that names no Pygoscelis species (like 'unidentified'), "
                            "which should become missing",
    ("island", "canonical"): "already-clean names (like 'Dream')",
    ("island", "lower"): "lower-case names (like 'biscoe')",
    ("island", "upper"): "upper-case names (like 'DREAM')",
    ("island", "suffix"): "names with a suffix (like 'Biscoe Island' or 'Dream Is.')",
    ("island", "misspelled"): "the misspelling 'Torgerson'",
    ("island", "region"): "the region 'Anvers' instead of an island, which should become missing",
    ("sex", "unknown"): "the placeholder '.', which should become missing",
    ("date_egg", "iso"): "ISO dates (like '2008-11-09')",
    ("date_egg", "us"): "US dates, month first (like '11/9/2008' for 9 November)",
    ("date_egg", "text"): "dates with a month name (like '9 Nov 2008')",
    ("date_egg", "invalid"): "dates that do not exist (like '2008-11-31'), which should be NaT",
    ("date_egg", "typo"): "dates with a mistyped year outside the study (like 2018 or 1908)",
    ("measure", "bare"): "bare numbers already in {unit} (like '{plain}')",
    ("measure", "unit"): "numbers with their unit (like '{plain} {unit}')",
    ("measure", "nospace"): "numbers with the unit and no space (like '{plain}{unit}')",
    ("measure", "thousands"): "numbers with a thousands separator (like '3,750 g')",
    ("measure", "alt"): "values written in {other} (like '{alt} {other}'): convert to {unit}",
    ("measure", "swapped"): "bare numbers that were really in {other} (like '{alt}' in a "
                            "{unit} column)",
    ("measure", "impossible-negative"): "negative values (like '-{plain}')",
    ("measure", "impossible-zero"): "zeros",
    ("measure", "impossible-digit"): "values with an extra digit (like '{digit}' for {plain})",
    ("measure", "impossible-sentinel"): "placeholder numbers (like '999' or '-99')",
}
_SEX = {"upper": "upper case (like '{V}')", "lower": "lower case (like '{v}')",
        "title": "title case (like '{T}')", "letter": "a single letter (like '{L}')",
        "letter-lower": "a single lower-case letter (like '{l}')"}
_MEASURE_EXAMPLE = {"bill_length": ("39.1", "3.91"), "bill_depth": ("18.7", "1.87"),
                    "flipper_length": ("181", "18.1"), "body_mass": ("3750", "3.75")}


def describe_kind(column: str, kind: str) -> str:
    """A general description of how a cell was written (no hidden values)."""
    raw_col = RAW_NAME.get(column, column)
    if kind in ("marker", "padded"):
        return _EXAMPLES[("any", kind)]
    if raw_col == "sex" and ":" in kind:
        style, value = kind.split(":")
        text = _SEX[style].format(V=value.upper(), v=value, T=value.title(), L=value[0].upper(),
                                  l=value[0])
        return f"'{value}' written in {text}"
    if raw_col in MEASURES:
        _, unit, other, _, _ = MEASURES[raw_col]
        plain, alt = _MEASURE_EXAMPLE[raw_col]
        template = _EXAMPLES[("measure", kind)]
        digit = f"{float(plain) * 10:.0f}"
        return template.format(unit=unit, other=other, plain=plain, alt=alt, digit=digit)
    family = kind.split("-")[0]
    return _EXAMPLES.get((raw_col, family), f"cells of kind '{kind}'")


_ADVICE = {
    "missing": "this step should only strip surrounding spaces and turn missing markers into "
               "NaN, leaving every other text as it is",
    "dedupe": "keep one row per sample_id: the one with the most non-missing values, the first "
              "one on a tie, in the input's order",
    "categories": "read the docstring's rules for species, island and sex; anything that matches "
                  "no rule becomes missing, and the other columns stay as they are",
    "dates": "parse the three formats in the docstring (US dates are month first); anything "
             "else becomes NaT",
    "units": "strip the unit, drop thousands separators, convert cm to mm and kg to g; a bare "
             "number is already in mm or g",
    "swapped": "only convert values outside the plausible range that land inside it once "
               "multiplied (x10 for lengths, x1000 for mass)",
    "impossible": "set values outside the plausible ranges (limits included as valid) to NaN, "
                  "and dates outside 2007-2009 to NaT",
    "pipeline": "clean() should call the seven steps in the README's order; if a step's own "
                "tests fail, fix that step first",
}


def where(ds: Dataset) -> str:
    """How a message names the dataset a result was checked on."""
    return f"the visible data ({VISIBLE_CSV})" if ds.seed == 0 else "a hidden dataset"


def _normal_text(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value if isinstance(value, str) else ("not text", type(value).__name__)


def _column_problem(col: str, got: pd.Series, exp: pd.Series) -> tuple[np.ndarray, str]:
    """A mask of mismatching rows and, when the whole column has the wrong type, why."""
    if pd.api.types.is_datetime64_any_dtype(exp.dtype):
        if isinstance(got.dtype, pd.DatetimeTZDtype):
            return np.ones(len(exp), bool), f"{col} has a time zone; return naive dates"
        if not pd.api.types.is_datetime64_dtype(got.dtype):
            if got.isna().all() and exp.isna().all():
                return np.zeros(len(exp), bool), ""
            return np.ones(len(exp), bool), (f"{col} should be a datetime64 column, not "
                                             f"{got.dtype} (use pd.to_datetime)")
        g = got.astype("datetime64[ns]").to_numpy()
        e = exp.astype("datetime64[ns]").to_numpy()
        return ~((g == e) | (np.isnat(g) & np.isnat(e))), ""
    if exp.dtype.kind == "f":
        if not (pd.api.types.is_numeric_dtype(got.dtype)
                and not pd.api.types.is_bool_dtype(got.dtype)):
            if got.isna().all() and exp.isna().all():
                return np.zeros(len(exp), bool), ""
            return np.ones(len(exp), bool), (f"{col} should hold numbers (float), not "
                                             f"{got.dtype} text")
        g = got.to_numpy(dtype=float, na_value=np.nan)
        e = exp.to_numpy(dtype=float)
        return ~np.isclose(g, e, rtol=1e-6, atol=1e-6, equal_nan=True), ""
    g_vals = [_normal_text(v) for v in got.astype(object)]
    e_vals = [_normal_text(v) for v in exp.astype(object)]
    mask = np.array([a != b for a, b in zip(g_vals, e_vals, strict=True)], dtype=bool)
    wrong_type = [v for v in g_vals if isinstance(v, tuple)]
    if wrong_type and mask.all():
        return mask, f"{col} should still hold text, not {wrong_type[0][1]} values"
    return mask, ""


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "missing"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return repr(value)


def explain(step: str, got: Any, ds: Dataset) -> str | None:
    """None when ``got`` is what ``step`` should return on ``ds``, else a learner's message."""
    func = FUNCTIONS[step]
    expected = ds.expected(step)
    if type(got) is not pd.DataFrame:
        return (f"{func}() returned a {type(got).__name__}, not a DataFrame. Return the cleaned "
                "frame (work on df.copy(), then `return` it)")
    cols = list(got.columns)
    missing = [c for c in expected.columns if c not in cols]
    extra = [c for c in cols if c not in expected.columns]
    if missing or extra or len(set(cols)) != len(cols):
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        if len(set(cols)) != len(cols):
            parts.append("repeated column names")
        return (f"{func}() on {where(ds)}: {'; '.join(parts)}. It should return exactly the "
                f"columns {list(expected.columns)}")
    if step == "dedupe":
        return _explain_dedupe(got, ds)
    if len(got) != len(expected):
        why = ("clean() should drop only the duplicate rows (look at dedupe)" if step == "pipeline"
               else "this step must keep every row (only dedupe drops rows)")
        return (f"{func}() on {where(ds)} returned {len(got)} rows, but {len(expected)} were "
                f"expected: {why}")
    notes = []
    if step == "pipeline":
        if cols != list(expected.columns):
            return (f"clean() on {where(ds)} returned the right columns in another order: return "
                    f"them as {list(expected.columns)}")
        got, note = _align_by_id(got, expected)
        if got is None:
            return f"clean() on {where(ds)}: {note}. Next: {_ADVICE['dedupe']}."
        notes += [note] if note else []
    source = ds.step_input(step)
    lines = []
    total = 0
    for col in expected.columns:
        mask, why = _column_problem(col, got[col].reset_index(drop=True),
                                    expected[col].reset_index(drop=True))
        if not mask.any():
            continue
        total += int(mask.sum())
        if why:
            lines.append(f"  - {why}")
            continue
        rows = expected.index.to_numpy()[mask]
        raw_col = RAW_NAME[col]
        if col not in STEP_COLUMNS[step]:
            lines.append(f"  - {int(mask.sum())} rows of {col} changed, but {func}() should leave "
                         f"{col} as it is")
            continue
        if step == "missing":
            kinds = Counter(_missing_kind(ds, row, raw_col) for row in rows)
        else:
            kinds = Counter(describe_kind(col, k) for k in ds.kinds.loc[rows, raw_col])
        detail = ", ".join(f"{n} {k}" for k, n in kinds.most_common(3))
        if len(kinds) > 3:
            detail += ", and others"
        line = f"  - {int(mask.sum())} rows of {col} differ: {detail}"
        if ds.seed == 0:
            pos = int(np.flatnonzero(mask)[0])
            src_col = col if col in source.columns else raw_col
            line += (f". For example sample_id {ds.messy.loc[rows[0], 'sample_id'].strip()}: "
                     f"the input was {_show(source.loc[rows[0], src_col])}, you returned "
                     f"{_show(got[col].iloc[pos])}")
        lines.append(line)
    if not lines and not notes:
        return None
    more = f"\n  - and {len(lines) - 6} more columns" if len(lines) > 6 else ""
    head = (f"{func}() on {where(ds)}: {total} values differ from the expected result."
            if lines else f"{func}() on {where(ds)}:")
    return "\n".join([head, *(f"  - {n}" for n in notes), *lines[:6]]) + more + \
        f"\n  Next: {_ADVICE[step]}."


def _align_by_id(got: pd.DataFrame, expected: pd.DataFrame) -> tuple[Any, str]:
    """Put clean()'s rows in the expected order by sample_id, or say why they cannot be."""
    got_ids = [_normal_text(v) for v in got["sample_id"].astype(object)]
    exp_ids = list(expected["sample_id"].astype(object))
    have, want = Counter(got_ids), Counter(exp_ids)
    if have != want:
        repeated = sum(n - 1 for i, n in have.items() if n > 1)
        lost = sum(1 for i in want if i not in have)
        strange = sum(n for i, n in have.items() if i not in want)
        parts = [f"{n} {text}" for n, text in ((repeated, "sample_ids appear more than once"),
                                               (lost, "sample_ids are missing"),
                                               (strange, "rows have a sample_id not in the "
                                                         "export (changed while cleaning?)"))
                 if n]
        return None, "the rows are not one per sample_id of the export: " + ", ".join(parts)
    if got_ids == exp_ids:
        return got, ""
    where_is = {i: p for p, i in enumerate(got_ids)}
    order = [where_is[i] for i in exp_ids]
    moved = sum(1 for p, q in enumerate(order) if p != q)
    return got.iloc[order], (f"{moved} rows are not in the export's order (a kept row should "
                             "stay where it was: look at dedupe); the checks below match rows "
                             "by sample_id")


def _missing_kind(ds: Dataset, row: int, column: str) -> str:
    if ds.kinds.loc[row, column] == "marker":
        return f"holding the missing marker {ds.messy.loc[row, column]!r}"
    if ds.padded.loc[row, column]:
        return _EXAMPLES[("any", "padded")]
    return "ordinary values, which this step should leave as they are"


def _row_keys(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    columns = [[_normal_text(v) for v in frame[c].astype(object)] for c in MESSY_COLUMNS]
    return [tuple(row) for row in zip(*columns, strict=True)]


def _explain_dedupe(got: pd.DataFrame, ds: Dataset) -> str | None:
    source = ds.step_input("dedupe")
    expected = ds.expected("dedupe")
    got_keys = _row_keys(got)
    exp_keys = _row_keys(expected)
    if got_keys == exp_keys:
        return None
    src_keys = _row_keys(source)
    roles = ds.row_kinds.to_numpy()
    want, have = Counter(exp_keys), Counter(got_keys)
    kept_wrongly: Counter[str] = Counter()
    dropped_wrongly: Counter[str] = Counter()
    invented = 0
    kept_rows = set(expected.index)
    for key in set(want) | set(have):
        diff = have[key] - want[key]
        rows = [i for i, k in enumerate(src_keys) if k == key]
        if not rows:
            invented += max(diff, 0)
        elif diff > 0:
            dropped_roles = [roles[i] for i in rows if i not in kept_rows] or [roles[rows[-1]]]
            kept_wrongly[dropped_roles[-1]] += diff
        elif diff < 0:
            kept = [roles[i] for i in rows if i in kept_rows] or [roles[rows[0]]]
            dropped_wrongly[kept[0]] += -diff
    head = f"dedupe() on {where(ds)} returned {len(got)} rows; {len(expected)} were expected."
    lines = []
    for role, n in kept_wrongly.most_common():
        lines.append(f"  - {n} kept that should go: {_ROLE_TEXT[role]}")
    for role, n in dropped_wrongly.most_common():
        lines.append(f"  - {n} dropped that should stay: {_ROLE_TEXT[role]}")
    if invented:
        lines.append(f"  - {invented} rows are not rows of the input: dedupe should only remove "
                     "rows, never change values")
    if not lines:
        lines.append("  - the right rows, in another order: keep the input's row order")
    return head + "\n" + "\n".join(lines) + f"\n  Next: {_ADVICE['dedupe']}."


_ROLE_TEXT = {
    "unique": "rows whose sample_id appears only once",
    "first of identical copies": "the first of identical duplicate rows",
    "later identical copy": "repeats of an identical row",
    "more complete copy": "the most complete copy of a sample_id (another copy has more "
                          "missing values)",
    "less complete copy": "copies of a sample_id with more missing values than another copy, "
                          "even when they come first",
    "first of equally complete copies": "the first of copies of a sample_id that are equally "
                                        "complete",
    "later equally complete copy": "later copies of a sample_id that are no more complete than "
                                   "the first",
}


def unchanged(before: Any, after: Any) -> bool:
    """Whether a frame is exactly as it was (values, dtypes, index, columns)."""
    if type(before) is not pd.DataFrame or type(after) is not pd.DataFrame:
        return False
    try:
        pd.testing.assert_frame_equal(before, after, check_exact=True)
    except AssertionError:
        return False
    return True


def changes(before: pd.DataFrame, after: Any) -> str:
    """What a step changed in the frame it was given, in a few words."""
    if type(after) is not pd.DataFrame:
        return "it is no longer a DataFrame"
    parts = []
    if len(after) != len(before):
        parts.append(f"its number of rows ({len(before)} -> {len(after)})")
    if list(after.columns) != list(before.columns):
        parts.append("its column names")
    elif len(after) == len(before):
        changed = [c for c in before.columns
                   if str(before[c].dtype) != str(after[c].dtype)
                   or _column_problem(c, after[c].reset_index(drop=True),
                                      before[c].reset_index(drop=True))[0].any()]
        if changed:
            parts.append(f"column(s) {', '.join(changed)}")
    if not parts and not before.index.equals(after.index):
        parts.append("its index")
    return " and ".join(parts) or "its contents"


def compare_small(func: str, got: Any, expected: pd.DataFrame, source: pd.DataFrame | None,
                  case: str) -> str | None:
    """Compare a result on a small hand-made frame; show inputs and results, never answers.

    ``source`` is the input, row for row with ``expected`` (None when rows are dropped).
    """
    if type(got) is not pd.DataFrame:
        return (f"{func}() on {case} returned a {type(got).__name__}, not a DataFrame: return "
                "the new frame")
    if sorted(map(str, got.columns)) != sorted(expected.columns):
        return (f"{func}() on {case} returned columns {list(got.columns)}; expected "
                f"{list(expected.columns)}")
    if len(got) != len(expected):
        return f"{func}() on {case} returned {len(got)} rows; expected {len(expected)}"
    lines = []
    for col in expected.columns:
        mask, why = _column_problem(col, got[col].reset_index(drop=True),
                                    expected[col].reset_index(drop=True))
        if not mask.any():
            continue
        if why:
            lines.append(f"  - {why}")
            continue
        shown = []
        for pos in np.flatnonzero(mask)[:3]:
            prefix = ""
            if source is not None:
                given = source[col if col in source.columns else RAW_NAME[col]].iloc[pos]
                prefix = f"input {_show(given)} -> "
            shown.append(f"{prefix}you returned {_show(got[col].iloc[pos])}")
        lines.append(f"  - {col}, {int(mask.sum())} row(s): {'; '.join(shown)}")
    if not lines:
        return None
    return f"{func}() on {case} is not right:\n" + "\n".join(lines)
