"""Clean a messy field-station export of penguin samples, one step per function.

The export is read with every cell kept as the text it holds:

    raw = pd.read_csv("data/penguins_messy_seed0.csv", dtype=str, keep_default_na=False)

Its columns are sample_id, species, island, date_egg, bill_length, bill_depth, flipper_length,
body_mass and sex. ``clean(raw)`` runs the seven steps below in order; the grader also calls each
step on its own, giving it a correct output of the step before.

Rules for every function:
- return a NEW DataFrame and never change the one you were given (start with ``df.copy()``);
- keep the rows in the order they came in (the index is not checked);
- only change the columns your step is about.

Only pandas, numpy and the standard library are available.
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (you will probably want it)
import pandas as pd

# Text that means "no value", compared after stripping spaces and lower-casing.
MISSING_MARKERS = ["", "na", "n/a", "nan", "null", "none", "?", "-"]

# Plausible ranges for an adult Pygoscelis penguin, limits included: (lowest, highest).
PLAUSIBLE = {
    "bill_length_mm": (25.0, 70.0),
    "bill_depth_mm": (10.0, 25.0),
    "flipper_length_mm": (150.0, 250.0),
    "body_mass_g": (2000.0, 7000.0),
}
STUDY_YEARS = (2007, 2009)  # eggs were laid in these seasons, first and last included


def standardise_missing(df: pd.DataFrame) -> pd.DataFrame:
    """Task 1 (`missing`): strip spaces and turn missing markers into NaN.

    Input: the raw export, every column text.
    For every column: remove spaces at both ends of each value; then a value whose lower-cased
    text is in MISSING_MARKERS ('NA', 'n/a', '?', '-', an empty or all-space cell, ...) becomes
    missing (NaN). Every other value stays exactly as it is, still as text: '-39.1' is a
    negative number, not a marker. Same rows, same columns.
    """
    raise NotImplementedError


def dedupe(df: pd.DataFrame) -> pd.DataFrame:
    """Task 2 (`dedupe`): keep one row per sample_id.

    Input: the output of standardise_missing (missing values are NaN).
    Some birds were entered more than once: exact repeats of a row, copies with some values
    left blank, and re-typed copies. For each sample_id keep the row with the most non-missing
    values; when several rows tie, keep the one that comes first. Drop the others. Kept rows stay
    in their input order and are not modified. Same columns.
    """
    raise NotImplementedError


def normalise_categories(df: pd.DataFrame) -> pd.DataFrame:
    """Task 3 (`categories`): one spelling per species, island and sex.

    Input: the output of dedupe. Missing values stay missing. Compare text lower-cased, with
    accents removed ('Adélie' -> 'adelie').
    - species: 'Adelie' if the text contains 'adelie' or 'adeliae'; 'Chinstrap' if it contains
      'chinstrap' or 'antarctica'; 'Gentoo' if it contains 'gentoo' or 'papua'.
    - island: 'Biscoe' if the text contains 'biscoe'; 'Dream' if it contains 'dream';
      'Torgersen' if it contains 'torgersen' or the misspelling 'torgerson'.
    - sex: 'male' if the whole text is 'male' or 'm'; 'female' if it is 'female' or 'f'
      (careful: 'female' contains 'male').
    Anything else becomes missing (NaN). Other columns are unchanged.
    """
    raise NotImplementedError


def parse_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Task 4 (`dates`): turn date_egg into real dates.

    Input: the output of normalise_categories. date_egg comes in three formats:
    '2008-11-09' (ISO), '11/9/2008' (US: month first, day and month may lack a leading zero)
    and '9 Nov 2008' (day, English month abbreviation, year). Return date_egg as a datetime64
    column; text in no such format, or naming a day that does not exist ('2008-11-31'), becomes
    NaT. Other columns are unchanged.
    """
    raise NotImplementedError


def parse_units(df: pd.DataFrame) -> pd.DataFrame:
    """Task 5 (`units`): numbers in one unit per column.

    Input: the output of parse_dates. bill_length, bill_depth and flipper_length hold a number,
    optionally followed by 'mm' or 'cm'; body_mass a number optionally followed by 'g' or 'kg'
    (any case, with or without a space: '39.1 mm', '3.91cm', '3750 g', '3.75 KG'). A comma is a
    thousands separator ('3,750 g'). Convert cm to mm and kg to g; a bare number is already in
    mm or g (leave it as it is, even if it looks wrong: that is the next step's job). Negative
    numbers are numbers. Anything else (or missing) becomes NaN.
    Return the four columns as float64, renamed bill_length_mm, bill_depth_mm,
    flipper_length_mm and body_mass_g (in the same places). Other columns are unchanged.
    """
    raise NotImplementedError


def fix_swapped_units(df: pd.DataFrame) -> pd.DataFrame:
    """Task 6 (`swapped`): repair bare numbers that were recorded in the other unit.

    Input: the output of parse_units. Some bare numbers were typed in cm (lengths) or kg
    (body mass) although the column is mm or g, e.g. a body_mass of 3.75 or a bill_length of
    3.91. For each column in PLAUSIBLE: a value outside its plausible range that lands inside
    the range once multiplied (by 10 for the three lengths, by 1000 for body_mass_g) is
    replaced by the multiplied value. Every other value, including impossible ones and NaN,
    stays as it is. Other columns are unchanged.
    """
    raise NotImplementedError


def flag_impossible(df: pd.DataFrame) -> pd.DataFrame:
    """Task 7 (`impossible`): blank out values that cannot be true.

    Input: the output of fix_swapped_units. A measurement outside its PLAUSIBLE range (limits
    included as valid) becomes NaN; a date_egg whose year is outside STUDY_YEARS becomes NaT.
    Keep the dtypes (float64, datetime64). Other columns are unchanged.
    """
    raise NotImplementedError


def clean(df: pd.DataFrame) -> pd.DataFrame:
    """Task 8 (`pipeline`): the whole cleaning, from the raw export to a tidy table.

    Run the seven steps in the order above and return the result, with the columns
    sample_id, species, island, date_egg, bill_length_mm, bill_depth_mm, flipper_length_mm,
    body_mass_g, sex in that order.
    """
    raise NotImplementedError
