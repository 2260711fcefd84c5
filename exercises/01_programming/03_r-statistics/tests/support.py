"""Trusted helpers for r-statistics: resampled datasets and the reference statistics.

Everything here runs in the grader's process. The reference logistic regression is fitted
with numpy (iteratively reweighted least squares, standard errors from the inverse of the
Fisher information X'WX), the t-test with scipy. R's glm stops iterating when the deviance
changes by less than a relative 1e-8 and computes standard errors from the weights of its last
iteration, which leaves them about 1e-4 (relative) from the fully converged values; so a
learner's number is accepted when it matches either R's default iterations (replayed here
step by step) or the fully converged fit, within a relative 1e-6.
"""

from __future__ import annotations

import io
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from grader.testing import MissingFunction, NotAttempted, SubmissionRaised

SCRIPT = "analysis.R"
DATA = "data/penguins.csv"
SPECIES = ("Adelie", "Chinstrap", "Gentoo")
MODEL_COLUMNS = ["sex", "species", "bill_length_mm", "bill_depth_mm", "body_mass_g"]
TERMS = ["(Intercept)", "speciesChinstrap", "speciesGentoo", "bill_length_mm",
         "bill_depth_mm", "body_mass_g"]
REL = 1e-6


# --- datasets --------------------------------------------------------------------------------

@cache
def _public_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def public_csv(exercise_dir: Path) -> str:
    """The visible dataset, exactly as the learner has it."""
    return _public_text(str(exercise_dir / DATA))


def frame(csv: str) -> pd.DataFrame:
    """A CSV read the way R's read.csv reads it (NA is missing, text stays text)."""
    return pd.read_csv(io.StringIO(csv), keep_default_na=False, na_values=["NA"])


def resample(exercise_dir: Path, seed: int, kind: str) -> str:
    """A hidden variant of the dataset as CSV text.

    ``subsample``: 80% of the rows in a new order; ``bootstrap``: as many rows drawn with
    replacement; ``holes``: a subsample with values missing in columns the model does not use
    (a model must keep those rows).
    """
    df = frame(public_csv(exercise_dir))
    rng = np.random.default_rng(seed)
    if kind == "bootstrap":
        rows = rng.integers(0, len(df), len(df))
    else:
        rows = rng.permutation(len(df))[: int(0.8 * len(df))]
    out = df.iloc[rows].reset_index(drop=True)
    if kind == "holes":
        for column in ("island", "flipper_length_mm", "year"):
            out[column] = out[column].astype(object)
            out.loc[rng.random(len(out)) < 0.08, column] = None
    return out.to_csv(index=False, na_rep="NA")


# --- reference statistics --------------------------------------------------------------------

def design(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """X (intercept, species dummies with Adelie as baseline, three measures) and y (male)."""
    d = df.dropna(subset=MODEL_COLUMNS)
    x = np.column_stack([np.ones(len(d)), d["species"].eq("Chinstrap"),
                         d["species"].eq("Gentoo"), d["bill_length_mm"], d["bill_depth_mm"],
                         d["body_mass_g"]]).astype(float)
    return x, d["sex"].eq("male").to_numpy(float)


def _linkinv(eta: np.ndarray) -> np.ndarray:
    eps = np.finfo(float).eps  # R's logit link clamps eta to +-30
    mu = 1.0 / (1.0 + np.exp(-np.clip(eta, -30, 30)))
    return np.where(eta < -30, eps, np.where(eta > 30, 1 - eps, mu))


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    return float(-2.0 * np.sum(np.where(y == 1, np.log(mu), np.log(1 - mu))))


def _summary(x: np.ndarray, beta: np.ndarray, weights: np.ndarray,
             dev: float) -> dict[str, Any]:
    cov = np.linalg.inv(x.T @ (x * weights[:, None]))
    se = np.sqrt(np.diag(cov))
    p = 2 * stats.norm.sf(np.abs(beta / se))
    z = stats.norm.ppf(0.975)
    return {"coefficients": dict(zip(TERMS, beta.tolist(), strict=True)),
            "std_errors": dict(zip(TERMS, se.tolist(), strict=True)),
            "p_values": dict(zip(TERMS, p.tolist(), strict=True)),
            "n_obs": len(x), "deviance": dev, "aic": dev + 2 * len(beta),
            "odds_ratios": {t: (math.exp(b), math.exp(b - z * s), math.exp(b + z * s))
                            for t, b, s in zip(TERMS[1:], beta[1:], se[1:], strict=True)}}


def logistic_references(df: pd.DataFrame) -> list[dict[str, Any]]:
    """[R's glm with default settings, replayed; the fully converged fit]."""
    x, y = design(df)
    mu = (y + 0.5) / 2  # glm.fit's start for binomial
    eta = np.log(mu / (1 - mu))
    dev_old = _deviance(y, mu)
    beta = np.zeros(x.shape[1])
    weights = mu * (1 - mu)
    for _ in range(25):  # glm.control(): maxit = 25, epsilon = 1e-8
        mu = _linkinv(eta)
        weights = mu * (1 - mu)  # mu.eta^2 / variance for the logit link
        z = eta + (y - mu) / weights
        root = np.sqrt(weights)
        beta = np.linalg.lstsq(x * root[:, None], z * root, rcond=None)[0]
        eta = x @ beta
        dev = _deviance(y, _linkinv(eta))
        if abs(dev - dev_old) / (abs(dev) + 0.1) < 1e-8:
            break
        dev_old = dev
    as_r = _summary(x, beta, weights, dev)  # R's standard errors use the last weights
    for _ in range(50):  # Newton to full convergence
        mu = _linkinv(x @ beta)
        weights = mu * (1 - mu)
        step = np.linalg.solve(x.T @ (x * weights[:, None]), x.T @ (y - mu))
        beta = beta + step
        if np.abs(step).max() <= 1e-13 * (1 + np.abs(beta).max()):
            break
    mu = _linkinv(x @ beta)
    exact = _summary(x, beta, mu * (1 - mu), _deviance(y, mu))
    return [as_r, exact]


def t_test_reference(df: pd.DataFrame, species: str) -> dict[str, Any]:
    """Welch's t-test of body mass, males against females, in one species (scipy)."""
    rows = df[df["species"].eq(species) & df["sex"].notna() & df["body_mass_g"].notna()]
    male = rows.loc[rows["sex"].eq("male"), "body_mass_g"].to_numpy(float)
    female = rows.loc[rows["sex"].eq("female"), "body_mass_g"].to_numpy(float)
    result = stats.ttest_ind(male, female, equal_var=False)
    low, high = result.confidence_interval(0.95)
    return {"species": species, "n_male": len(male), "n_female": len(female),
            "mean_male": float(male.mean()), "mean_female": float(female.mean()),
            "difference": float(male.mean() - female.mean()),
            "t_statistic": float(result.statistic), "df": float(result.df),
            "p_value": float(result.pvalue), "conf_low": float(low), "conf_high": float(high)}


# --- calling analysis.R ----------------------------------------------------------------------

def call(submission: Any, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the learner's functions in one R session (through the harness)."""
    try:
        return submission.harness.call(jobs)
    except SubmissionRaised as exc:
        if exc.exc_type == "RFailed":  # the learner's script, not the harness, went wrong
            raise SubmissionRaised(exc.exc_message, exc_type=exc.exc_type,
                                   exc_message=exc.exc_message) from None
        raise


def value(result: dict[str, Any], what: str, fn: str) -> Any:
    """The value a call returned; NotAttempted, MissingFunction or an R error otherwise."""
    if result.get("not_implemented"):
        raise NotAttempted(f"{fn}() in {SCRIPT} still calls stop(\"not implemented\"): not "
                           "attempted yet")
    if result.get("missing"):
        raise MissingFunction(f"{SCRIPT} defines no function {fn}(): define it with that exact "
                              "name (check the README's task list)")
    if "error" in result:
        raise SubmissionRaised(f"{what} stopped with an R error: {result['error']}",
                               exc_type="RError", exc_message=str(result["error"]))
    return result.get("ok")


def number(got: Any) -> float | None:
    """A number from what R sent: a bare number, or one wrapped as [x] or {"name": x}."""
    if isinstance(got, dict) and len(got) == 1:
        got = next(iter(got.values()))
    if isinstance(got, list) and len(got) == 1:
        got = got[0]
    if isinstance(got, bool) or not isinstance(got, int | float):
        return None
    return float(got)


def _close(got: float | None, want: float) -> bool:
    return got is not None and math.isfinite(got) and abs(got - want) <= REL * abs(want) + 1e-12


def _matches(got: float | None, wants: list[float]) -> bool:
    return any(_close(got, w) for w in wants)


def logistic_problem(got: Any, refs: list[dict[str, Any]], what: str) -> str | None:
    """What is wrong with fit_logistic's list (or the report's "logistic" object), or None."""
    if type(got) is not dict:
        return f"{what} returned {_short(got)}: it should return a named list"
    for field in ("coefficients", "std_errors", "p_values"):
        part = got.get(field)
        if type(part) is not dict:
            return (f"{what}: {field} is {_short(part)}: it should be a named numeric vector "
                    f"with the names {TERMS}")
        if list(part) != TERMS:
            return (f"{what}: {field} has the names {list(part)}; expected {TERMS} in that "
                    "order. Check the formula, and that species is a factor with Adelie first")
    n_obs = number(got.get("n_obs"))
    if n_obs != refs[0]["n_obs"]:
        return (f"{what}: n_obs is {_short(got.get('n_obs'))}, but the model should use "
                f"{refs[0]['n_obs']} rows: leave out only the rows missing one of the five "
                "model columns (glm does that itself; na.omit(df) also drops rows missing "
                "columns the model does not use)")
    for field in ("coefficients", "std_errors", "p_values"):
        part = got[field]
        wrong = [t for t in TERMS if not _matches(number(part[t]), [r[field][t] for r in refs])]
        if wrong:
            hint = {"coefficients": "Is it glm(..., family = binomial), with sex a factor whose "
                                    "first level is \"female\", on the rows that have the five "
                                    "model columns?",
                    "std_errors": "Take them from summary(fit)$coefficients.",
                    "p_values": "Take them from summary(fit)$coefficients (Pr(>|z|))."}[field]
            return (f"{what}: {field} differ from the reference for {wrong} (beyond a relative "
                    f"{REL:g}). {hint}")
    for field in ("deviance", "aic"):
        if not _matches(number(got.get(field)), [r[field] for r in refs]):
            return f"{what}: {field} is {_short(got.get(field))}, not the model's {field}"
    return None


def odds_problem(got: Any, refs: list[dict[str, Any]], what: str) -> str | None:
    """What is wrong with odds_ratios' data frame (as columns or as row objects), or None."""
    columns = ("term", "odds_ratio", "conf_low", "conf_high")
    if type(got) is dict and type(got.get("$data.frame")) is dict:
        table = got["$data.frame"]
        if any(c not in table for c in columns):
            return f"{what} has the columns {list(table)}; expected {list(columns)}"
        rows = [dict(zip(columns, values, strict=False))
                for values in zip(*[_as_list(table[c]) for c in columns], strict=False)]
    elif type(got) is list and all(type(r) is dict for r in got):
        rows = got
    else:
        return f"{what} returned {_short(got)}: it should return a data.frame"
    terms = [r.get("term") for r in rows]
    if terms != TERMS[1:]:
        return (f"{what}: term is {terms}; expected {TERMS[1:]} (every coefficient but the "
                "intercept, in the model's order)")
    for row in rows:
        term = row["term"]
        for i, column in enumerate(columns[1:]):
            if not _matches(number(row.get(column)), [r["odds_ratios"][term][i] for r in refs]):
                hint = ("exp() of the coefficient" if column == "odds_ratio" else
                        "exp() of the Wald interval, confint.default(fit)")
                return (f"{what}: {column} of {term} is {_short(row.get(column))}; it should be "
                        f"{hint}")
    return None


def t_test_problem(got: Any, want: dict[str, Any], what: str) -> str | None:
    """What is wrong with compare_body_mass's list, or None."""
    if type(got) is not dict:
        return f"{what} returned {_short(got)}: it should return a named list"
    for field, expected in want.items():
        have = got.get(field)
        if field == "species":
            ok = (have[0] if isinstance(have, list) and len(have) == 1 else have) == expected
        else:
            ok = _close(number(have), float(expected))
        if not ok:
            hint = {"t_statistic": " Is it Welch's test (t.test's default, var.equal = FALSE)?",
                    "df": " Welch's degrees of freedom are not n1 + n2 - 2: keep "
                          "var.equal = FALSE.",
                    "conf_low": " The interval is for mean_male - mean_female: put the males "
                                "first, t.test(male, female).",
                    "difference": " mean_male - mean_female, males first."}.get(field, "")
            return f"{what}: {field} is {_short(have)}, which is not right.{hint}"
    return None


def report_problem(result: dict[str, Any], csv: str, what: str) -> str | None:
    """What is wrong with the JSON file main() wrote for ``csv``, or None."""
    if result.get("not_implemented"):
        raise NotAttempted("main() in analysis.R still calls stop(\"not implemented\"): not "
                           "attempted yet")
    if "error" in result:
        raise SubmissionRaised(f"{what}: {result['error']}", exc_type="RError",
                               exc_message=str(result["error"]))
    report = result.get("ok")
    keys = ["n_rows", "logistic", "odds_ratios", "body_mass_by_sex"]
    if type(report) is not dict or any(k not in report for k in keys):
        found = list(report) if type(report) is dict else type(report).__name__
        return f"{what} wrote {_short(found)}; the JSON object should have the keys {keys}"
    df = frame(csv)
    if number(report["n_rows"]) != len(df):
        return (f"{what}: n_rows is {_short(report['n_rows'])}, but the CSV has {len(df)} rows "
                "(count them before leaving anything out)")
    refs = logistic_references(df)
    problem = logistic_problem(report["logistic"], refs, "the JSON's logistic")
    if problem:
        return f"{what}: {problem}"
    problem = odds_problem(report["odds_ratios"], refs, "the JSON's odds_ratios")
    if problem:
        return (f"{what}: {problem} (write the data frame as it is: jsonlite makes an array of "
                "row objects)")
    by_sex = report["body_mass_by_sex"]
    if type(by_sex) is not dict or sorted(by_sex) != sorted(SPECIES):
        return (f"{what}: body_mass_by_sex should be an object with the keys {list(SPECIES)}, "
                f"not {_short(by_sex)}")
    for species in SPECIES:
        problem = t_test_problem(by_sex[species], t_test_reference(df, species),
                                 f"the JSON's body_mass_by_sex.{species}")
        if problem:
            return f"{what}: {problem}"
    return None


def _as_list(column: Any) -> list[Any]:
    return column if isinstance(column, list) else [column]


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
