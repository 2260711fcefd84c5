"""Clean a messy field-station export of penguin samples (reference solution).

Every function takes a DataFrame and returns a new one; none of them changes its input.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

MISSING_MARKERS = ["", "na", "n/a", "nan", "null", "none", "?", "-"]

# raw column -> (clean column, {unit: factor to the clean unit})
MEASURES = {
    "bill_length": ("bill_length_mm", {"": 1.0, "mm": 1.0, "cm": 10.0}),
    "bill_depth": ("bill_depth_mm", {"": 1.0, "mm": 1.0, "cm": 10.0}),
    "flipper_length": ("flipper_length_mm", {"": 1.0, "mm": 1.0, "cm": 10.0}),
    "body_mass": ("body_mass_g", {"": 1.0, "g": 1.0, "kg": 1000.0}),
}

PLAUSIBLE = {
    "bill_length_mm": (25.0, 70.0),
    "bill_depth_mm": (10.0, 25.0),
    "flipper_length_mm": (150.0, 250.0),
    "body_mass_g": (2000.0, 7000.0),
}
# what a bare number recorded in the other unit (cm, kg) must be multiplied by
SWAP_FACTOR = {"bill_length_mm": 10.0, "bill_depth_mm": 10.0, "flipper_length_mm": 10.0,
               "body_mass_g": 1000.0}
STUDY_YEARS = (2007, 2009)

SPECIES = {"Adelie": ("adelie", "adeliae"), "Chinstrap": ("chinstrap", "antarctica"),
           "Gentoo": ("gentoo", "papua")}
ISLANDS = {"Biscoe": ("biscoe",), "Dream": ("dream",), "Torgersen": ("torgersen", "torgerson")}
SEXES = {"male": ("male", "m"), "female": ("female", "f")}

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d %b %Y")
_NUMBER_AND_UNIT = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+))\s*([a-z]*)$")


def standardise_missing(df: pd.DataFrame) -> pd.DataFrame:
    """Strip spaces around every text cell and turn missing markers into NaN."""
    out = df.copy()
    for col in out.columns:
        text = out[col].astype("str").str.strip()
        out[col] = text.mask(text.str.lower().isin(MISSING_MARKERS))
    return out


def dedupe(df: pd.DataFrame) -> pd.DataFrame:
    """One row per sample_id: the most complete one, the first on a tie, in input order."""
    filled = df.notna().sum(axis=1).to_numpy()
    ranking = pd.DataFrame({"id": df["sample_id"].to_numpy(), "filled": filled,
                            "pos": np.arange(len(df))})
    best = (ranking.sort_values(["filled", "pos"], ascending=[False, True], kind="stable")
            .drop_duplicates("id"))
    return df.iloc[np.sort(best["pos"].to_numpy())].copy()


def _fold(text: pd.Series) -> pd.Series:
    """Lower-case, accent-free text."""
    return (text.astype("str").str.normalize("NFKD").str.encode("ascii", "ignore")
            .str.decode("ascii").str.lower().str.strip())


def _match(text: pd.Series, names: dict[str, tuple[str, ...]], whole: bool) -> pd.Series:
    folded = _fold(text)
    out = pd.Series(np.nan, index=text.index, dtype="str")
    for name, spellings in names.items():
        if whole:
            hit = folded.isin(spellings)
        else:
            hit = folded.str.contains("|".join(spellings), regex=True, na=False)
        out = out.mask(hit & out.isna(), name)
    return out


def normalise_categories(df: pd.DataFrame) -> pd.DataFrame:
    """Map species, island and sex to their canonical spellings; unknown values become NaN."""
    out = df.copy()
    out["species"] = _match(out["species"], SPECIES, whole=False)
    out["island"] = _match(out["island"], ISLANDS, whole=False)
    out["sex"] = _match(out["sex"], SEXES, whole=True)
    return out


def parse_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Parse date_egg from its three export formats; anything else becomes NaT."""
    out = df.copy()
    text = out["date_egg"].astype("str").str.strip()
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        parsed = parsed.fillna(pd.to_datetime(text, format=fmt, errors="coerce"))
    out["date_egg"] = parsed
    return out


def parse_units(df: pd.DataFrame) -> pd.DataFrame:
    """Turn the four measurement texts into floats in mm and g, under their new names."""
    out = df.copy()
    for col, (_, units) in MEASURES.items():
        text = out[col].astype("str").str.strip().str.lower().str.replace(",", "", regex=False)
        parts = text.str.extract(_NUMBER_AND_UNIT)
        number = pd.to_numeric(parts[0], errors="coerce")
        factor = parts[1].map(units).astype(float)
        out[col] = (number * factor).astype(float)
    return out.rename(columns={col: new for col, (new, _) in MEASURES.items()})


def fix_swapped_units(df: pd.DataFrame) -> pd.DataFrame:
    """Convert values recorded in cm (lengths) or kg (mass) without a unit."""
    out = df.copy()
    for col, (low, high) in PLAUSIBLE.items():
        value = out[col]
        scaled = value * SWAP_FACTOR[col]
        swapped = ~value.between(low, high) & scaled.between(low, high)
        out[col] = value.mask(swapped, scaled)
    return out


def flag_impossible(df: pd.DataFrame) -> pd.DataFrame:
    """Blank out measurements outside the plausible ranges and dates outside the study."""
    out = df.copy()
    for col, (low, high) in PLAUSIBLE.items():
        out[col] = out[col].where(out[col].between(low, high))
    years = out["date_egg"].dt.year
    out["date_egg"] = out["date_egg"].where(years.between(*STUDY_YEARS))
    return out


def clean(df: pd.DataFrame) -> pd.DataFrame:
    """Run every step in order on a raw export."""
    steps = (standardise_missing, dedupe, normalise_categories, parse_dates, parse_units,
             fix_swapped_units, flag_impossible)
    for step in steps:
        df = step(df)
    return df
