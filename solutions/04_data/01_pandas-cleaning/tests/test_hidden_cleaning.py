"""Hidden tests for pandas-cleaning: more fresh exports, untouched inputs and edge cases.

Edge-case frames are built here, in the grader's process; only the inputs reach the worker.
"""

import numpy as np
import pandas as pd
import pytest

from grader.testing import expect

STEPS = ["missing", "dedupe", "categories", "dates", "units", "swapped", "impossible"]
BY_STEP = [pytest.param(step, marks=pytest.mark.task(step), id=step) for step in STEPS]
NAN = np.nan


def _run(submission, support, step, ds):
    got = getattr(submission, support.FUNCTIONS[step])(ds.step_input(step))
    problem = support.explain(step, got, ds)
    expect(problem is None, problem)


def _text(values):
    return pd.Series(values, dtype="str")


def _frame_like(template, n, **columns):
    """The first n rows of a truth frame, with some columns replaced."""
    frame = template.iloc[:n].reset_index(drop=True)
    for name, values in columns.items():
        frame[name] = values
    return frame


# fails for: hardcoded-seed0, do-nothing, no-unit-conversion, keep-first-id, do-nothing-dedupe
@pytest.mark.points(1)
@pytest.mark.parametrize("k", [3, 4], ids=["hidden3", "hidden4"])
@pytest.mark.parametrize("step", BY_STEP)
def test_step_on_hidden_export(submission, support, grading_seed, step, k):
    _run(submission, support, step, support.make(grading_seed + k))


# fails for: hardcoded-seed0, do-nothing, keep-first-id, do-nothing-dedupe
@pytest.mark.task("pipeline")
@pytest.mark.points(2)
@pytest.mark.parametrize("k", [3, 4], ids=["hidden3", "hidden4"])
def test_clean_on_hidden_export(submission, support, grading_seed, k):
    _run(submission, support, "pipeline", support.make(grading_seed + k))


# fails for: mutates-input, do-nothing (its results are wrong first)
@pytest.mark.points(1)
@pytest.mark.parametrize("step", [*BY_STEP, pytest.param("pipeline", id="clean",
                                                         marks=pytest.mark.task("pipeline"))])
def test_step_leaves_its_input_unchanged(submission, support, grading_seed, step):
    ds = support.make(grading_seed + 3)
    func = support.FUNCTIONS[step]
    result, before, after = submission.harness.call_and_keep_input(func, ds.step_input(step))
    problem = support.explain(step, result, ds)
    expect(problem is None, f"{func}() has to return the right result before this check (that "
                            f"it leaves its input alone) can pass. {problem}")
    expect(support.unchanged(before, after),
           f"{func}() changed the DataFrame it was given ({support.changes(before, after)}). "
           "Callers keep using their frame: start with `df = df.copy()`, avoid inplace=True, "
           "and return the new frame")


# fails for: do-nothing
@pytest.mark.task("missing")
@pytest.mark.points(1)
def test_missing_all_missing_column_and_rare_markers(submission, support):
    raw = pd.DataFrame({
        "sample_id": _text(["A1", " A2 ", "A3", "A4"]),
        "species": _text(["N/A", "na", "None", "NaN"]),
        "island": _text(["Dream ", "  Biscoe", "?", "null"]),
        "date_egg": _text(["2008-11-09", "", "   ", "-"]),
        "bill_length": _text(["-39.1", "0", "?", "39.1 mm"]),
        "bill_depth": _text(["NULL", "n/A", "18.7", " 1.87 cm "]),
        "flipper_length": _text(["", "", "", ""]),
        "body_mass": _text(["3,750 g", "nan", "3750", "none"]),
        "sex": _text(["MALE", "f", ".", "NA"]),
    })
    expected = pd.DataFrame({
        "sample_id": _text(["A1", "A2", "A3", "A4"]),
        "species": _text([NAN] * 4),
        "island": _text(["Dream", "Biscoe", NAN, NAN]),
        "date_egg": _text(["2008-11-09", NAN, NAN, NAN]),
        "bill_length": _text(["-39.1", "0", NAN, "39.1 mm"]),
        "bill_depth": _text([NAN, NAN, "18.7", "1.87 cm"]),
        "flipper_length": _text([NAN] * 4),
        "body_mass": _text(["3,750 g", NAN, "3750", NAN]),
        "sex": _text(["MALE", "f", ".", NAN]),
    })
    got = submission.standardise_missing(raw)
    problem = support.compare_small("standardise_missing", got, expected, raw,
                                    "a small frame with an all-missing column and every marker "
                                    "in MISSING_MARKERS, in several cases")
    expect(problem is None, problem)


# fails for: keep-first-id (dedupe_three_copies fails, so this one is not graded),
# do-nothing-dedupe (gated: returning the frame unchanged passes the check itself)
@pytest.mark.task("dedupe")
@pytest.mark.points(1)
@pytest.mark.requires("test_dedupe_three_copies_most_complete_last")
def test_dedupe_leaves_a_frame_without_duplicates_alone(submission, support, grading_seed):
    ds = support.make(grading_seed + 4)
    unique = ds.expected("dedupe")
    got = submission.dedupe(unique)
    problem = support.compare_small("dedupe", got, unique, unique,
                                    "a frame whose sample_ids are all different")
    expect(problem is None, f"{problem}\n  Every row should come back, in the same order.")


# fails for: keep-first-id, do-nothing-dedupe, do-nothing
@pytest.mark.task("dedupe")
@pytest.mark.points(1)
def test_dedupe_three_copies_most_complete_last(submission, support):
    ids = ["X", "W", "X", "Y", "Y", "Z", "X", "Z"]
    frame = pd.DataFrame({
        "sample_id": _text(ids),
        "species": _text(["Adelie", "Gentoo", "Adelie", "Adelie", "Adelie", "Chinstrap",
                          "Adelie", "Chinstrap"]),
        "island": _text([NAN, "Biscoe", "Dream", "Dream", "Dream", "Dream", "Dream", "Dream"]),
        "date_egg": _text([NAN, "2008-11-09", NAN, "2007-11-11", "11/11/2007", "9 Nov 2008",
                           "2009-11-15", "9 Nov 2008"]),
        "bill_length": _text(["39.1", "45.0", "39.1", "40.0", "40.0", "50.1", "39.1", "50.1"]),
        "bill_depth": _text(["18.7", "14.1", "18.7", "17.0", "17.0", "19.0", "18.7", "19.0"]),
        "flipper_length": _text(["181", "210", "181", "190", "190", "195", "181", "195"]),
        "body_mass": _text(["3750", "4500", "3750", "3600", "3.6 kg", "3800", "3750", "3800"]),
        "sex": _text(["male", "female", NAN, "male", "male", "female", "male", "female"]),
    })
    # X: three copies, the last is the only complete one; Y: a tie, keep the first;
    # Z: identical rows, keep one; W: unique.
    expected = frame.iloc[[1, 3, 5, 6]].reset_index(drop=True)
    got = submission.dedupe(frame)
    case = ("dedupe() on a small frame where sample_id X has three copies and only the last is "
            "complete, Y has two equally complete copies and Z two identical ones")
    problem = support.compare_small("dedupe", got, expected, None, case)
    if problem is not None and type(got) is pd.DataFrame and "sample_id" in got:
        ids = list(got["sample_id"])
        wrong = [f"{i} appears {ids.count(i)} times" for i in "WXYZ" if ids.count(i) != 1]
        if not wrong:
            x, y = got.iloc[ids.index("X")], got.iloc[ids.index("Y")]
            if x.isna().any():
                wrong.append(f"for X you kept a copy with {int(x.isna().sum())} missing "
                             "values, but a complete copy exists")
            if str(y["body_mass"]) != "3600":
                wrong.append("for Y you kept the later of two equally complete copies")
            if not wrong and ids != ["W", "Y", "Z", "X"]:
                wrong.append(f"the rows come back as {ids}, not in the input's order")
        problem = f"{case}: " + ("; ".join(wrong) or "the kept rows were changed")
    expect(problem is None, f"{problem}. Keep, per sample_id, the row with the most "
                            "non-missing values (the first on a tie), in the input's order.")


# fails for: do-nothing
@pytest.mark.task("categories")
@pytest.mark.points(1)
def test_categories_unknown_and_accented_values(submission, support, grading_seed):
    template = support.make(grading_seed + 3).step_input("categories")
    frame = _frame_like(
        template, 6,
        species=_text(["Emperor penguin (Aptenodytes forsteri)", "ADÉLIE", "pygoscelis papua",
                       "Chinstrap Penguin", NAN, "adélie penguin"]),
        island=_text(["Torgersen", "torgerson island", "Anvers", "DREAM", NAN, "Biscoe Is."]),
        sex=_text(["F", "Female", "fem", "male", NAN, "MALE"]))
    expected = _frame_like(
        frame, 6,
        species=_text([NAN, "Adelie", "Gentoo", "Chinstrap", NAN, "Adelie"]),
        island=_text(["Torgersen", "Torgersen", NAN, "Dream", NAN, "Biscoe"]),
        sex=_text(["female", "female", NAN, "male", NAN, "male"]))
    got = submission.normalise_categories(frame)
    problem = support.compare_small("normalise_categories", got, expected, frame,
                                    "a small frame with another penguin genus, accents in upper "
                                    "case, a region instead of an island and an abbreviation")
    expect(problem is None, problem)


# fails for: do-nothing
@pytest.mark.task("dates")
@pytest.mark.points(1)
def test_dates_month_first_leap_days_and_junk(submission, support, grading_seed):
    template = support.make(grading_seed + 3).step_input("dates")
    texts = ["01/02/2008", "2/29/2008", "2/29/2007", "31 Dec 2009", "not recorded", NAN,
             "2009-12-01"]
    frame = _frame_like(template, 7, date_egg=_text(texts))
    expected = _frame_like(frame, 7, date_egg=pd.to_datetime(pd.Series(
        ["2008-01-02", "2008-02-29", None, "2009-12-31", None, None, "2009-12-01"])))
    got = submission.parse_dates(frame)
    problem = support.compare_small("parse_dates", got, expected, frame,
                                    "a small frame with an ambiguous US date, leap days and "
                                    "text that is not a date")
    expect(problem is None, problem)


# fails for: no-unit-conversion, do-nothing
@pytest.mark.task("units")
@pytest.mark.points(1)
def test_units_any_case_no_space_and_unknown_units(submission, support, grading_seed):
    template = support.make(grading_seed + 3).step_input("units")
    frame = _frame_like(
        template, 6,
        bill_length=_text(["39.1 MM", "3.91CM", "-39.1", "39", "4 cm", NAN]),
        bill_depth=_text(["18.7mm", "1.87 Cm", "18.7 in", "0", "18,7", NAN]),
        flipper_length=_text(["181", "18.1 cm", "181.0 mm", "1810", "19cm", "181 m"]),
        body_mass=_text(["3,750 g", "3.75 KG", "4 kg", "3750G", "12 lb", "kg"]))
    expected = _frame_like(
        support.make(grading_seed + 3).expected("units"), 6,
        bill_length_mm=[39.1, 39.1, -39.1, 39.0, 40.0, NAN],
        bill_depth_mm=[18.7, 18.7, NAN, 0.0, 187.0, NAN],
        flipper_length_mm=[181.0, 181.0, 181.0, 1810.0, 190.0, NAN],
        body_mass_g=[3750.0, 3750.0, 4000.0, 3750.0, NAN, NAN])
    got = submission.parse_units(frame)
    problem = support.compare_small("parse_units", got, expected, frame,
                                    "a small frame with upper-case units, no spaces, negative "
                                    "numbers and units that are not allowed")
    expect(problem is None, problem)


# fails for: do-nothing
@pytest.mark.task("swapped")
@pytest.mark.points(1)
def test_swapped_at_the_range_limits(submission, support, grading_seed):
    template = support.make(grading_seed + 3).step_input("swapped")
    frame = _frame_like(
        template, 7,
        bill_length_mm=[2.5, 7.0, 2.4, 70.0, 71.0, NAN, -3.9],
        bill_depth_mm=[1.0, 2.5, 0.9, 25.0, 2.6, NAN, 0.0],
        flipper_length_mm=[15.0, 25.0, 14.9, 250.0, 25.1, NAN, 1810.0],
        body_mass_g=[2.0, 7.0, 1.9, 7000.0, 7.5, NAN, -3.75])
    expected = _frame_like(
        frame, 7,
        bill_length_mm=[25.0, 70.0, 2.4, 70.0, 71.0, NAN, -3.9],
        bill_depth_mm=[10.0, 25.0, 0.9, 25.0, 2.6, NAN, 0.0],
        flipper_length_mm=[150.0, 250.0, 14.9, 250.0, 25.1, NAN, 1810.0],
        body_mass_g=[2000.0, 7000.0, 1.9, 7000.0, 7.5, NAN, -3.75])
    got = submission.fix_swapped_units(frame)
    problem = support.compare_small("fix_swapped_units", got, expected, frame,
                                    "a small frame with values at the limits of the plausible "
                                    "ranges, before and after multiplying")
    expect(problem is None, problem)


# fails for: do-nothing
@pytest.mark.task("impossible")
@pytest.mark.points(1)
def test_impossible_at_the_range_limits(submission, support, grading_seed):
    template = support.make(grading_seed + 3).step_input("impossible")
    dates = pd.to_datetime(pd.Series(["2007-01-01", "2009-12-31", "2006-12-31", "2010-01-01",
                                      None, "2008-11-09"]))
    frame = _frame_like(
        template, 6,
        date_egg=dates,
        bill_length_mm=[25.0, 70.0, 24.9, 70.1, NAN, 45.0],
        bill_depth_mm=[10.0, 25.0, 9.99, 25.01, NAN, -18.0],
        flipper_length_mm=[150.0, 250.0, 149.0, 251.0, NAN, 0.0],
        body_mass_g=[2000.0, 7000.0, 1999.9, 7000.1, NAN, 4000.0])
    expected = _frame_like(
        frame, 6,
        date_egg=pd.to_datetime(pd.Series(["2007-01-01", "2009-12-31", None, None, None,
                                           "2008-11-09"])),
        bill_length_mm=[25.0, 70.0, NAN, NAN, NAN, 45.0],
        bill_depth_mm=[10.0, 25.0, NAN, NAN, NAN, NAN],
        flipper_length_mm=[150.0, 250.0, NAN, NAN, NAN, NAN],
        body_mass_g=[2000.0, 7000.0, NAN, NAN, NAN, 4000.0])
    got = submission.flag_impossible(frame)
    problem = support.compare_small("flag_impossible", got, expected, frame,
                                    "a small frame with values exactly at, just inside and just "
                                    "outside the plausible ranges and study years")
    expect(problem is None, problem)
