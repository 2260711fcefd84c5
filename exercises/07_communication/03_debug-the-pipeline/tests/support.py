"""Trusted helpers for debug-the-pipeline: seeded churn data, the grader's own preparation, probes.

Every bug is probed on its own: the grader builds correct inputs for the function under test
(labelled rows, a split, model matrices) with the code below, so a bug elsewhere in the
learner's pipeline never costs this function's points. Nothing here runs learner code.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grader.testing import NotAttempted, expect

PIPELINE = "pipeline.py"
DIAGNOSIS = "diagnosis.yaml"
# sha256 of the provided files (line endings normalised): unchanged files are not attempted.
PIPELINE_SHA256 = "4c3483b6eb93d2ebab5df8ce148763c93f4935073a1b454f9412154caf5ffd91"
DIAGNOSIS_SHA256 = "04fd456f3c60ae71f7b3037fc339558316cf1a651c94221ec7a48e150b2487ff"
TARGET = "churned"
NUMERIC = ["tenure_months", "monthly_fee", "support_calls", "last_login_days"]
PLANS = ["basic", "plus", "pro"]
SMOOTHING = 10.0
FEATURES = ["customer_id", "tenure_months", "monthly_fee", "support_calls", "last_login_days",
            "plan", "region"]

# -- data --------------------------------------------------------------------------------------


def make(seed: int, n: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, labels) of a seeded churn table; labels in the same order as features."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(900, 1400)) if n is None else n
    ids = rng.choice(np.arange(10000, 100000), size=n, replace=False)
    plan = rng.choice(PLANS, size=n, p=[0.5, 0.35, 0.15])
    fee_base = pd.Series(plan).map({"basic": 15.0, "plus": 35.0, "pro": 80.0}).to_numpy()
    tenure = np.clip(rng.exponential(20, n).round() + 1, 1, 72).astype(int)
    calls = rng.poisson(1.3, n)
    login = rng.exponential(9, n).round(1)
    n_regions = 36
    region_effect = rng.normal(0, 0.9, n_regions)
    region_idx = rng.integers(0, n_regions, n)
    logit = (-1.6 + 0.45 * calls - 0.035 * tenure + 0.05 * login
             + region_effect[region_idx] + pd.Series(plan).map(
                 {"basic": 0.3, "plus": 0.0, "pro": -0.5}).to_numpy())
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    login_shown = login.astype(float)
    login_shown[rng.random(n) < 0.08] = np.nan
    features = pd.DataFrame({
        "customer_id": [f"C{i}" for i in ids],
        "tenure_months": tenure,
        "monthly_fee": (fee_base * rng.uniform(0.9, 1.3, n)).round(2),
        "support_calls": calls,
        "last_login_days": login_shown,
        "plan": plan,
        "region": [f"R{i + 1:02d}" for i in region_idx],
    })
    labels = pd.DataFrame({"customer_id": features["customer_id"], TARGET: churned})
    return features, labels


def visible(exercise_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The files a learner sees (seed 0)."""
    features = pd.read_csv(exercise_dir / "data" / "features.csv")
    labels = pd.read_csv(exercise_dir / "data" / "labels.csv")
    fresh_features, fresh_labels = make(0)
    same = features.equals(fresh_features) and labels.equals(fresh_labels)
    expect(same, "data/features.csv or data/labels.csv differ from the generator (seed 0): "
           "restore them from the course (git checkout -- data/)")
    return features, labels


def labelled(features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The grader's correct attach_labels."""
    df = features.reset_index(drop=True).merge(labels, on="customer_id", how="left",
                                               validate="one_to_one")
    df[TARGET] = df[TARGET].astype(int)
    return df


def grader_split(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A correct stratified split, made by the grader (not the learner's split)."""
    rng = np.random.default_rng(seed)
    test_idx: list[int] = []
    for _, group in df.groupby(TARGET):
        idx = group.index.to_numpy()
        take = round(len(idx) * 0.25)
        test_idx += rng.choice(idx, size=take, replace=False).tolist()
    test_mask = df.index.isin(test_idx)
    return df[~test_mask].reset_index(drop=True), df[test_mask].reset_index(drop=True)


def grader_prepare(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The grader's correct prepare: every statistic from ``train``."""
    medians = train[NUMERIC].median()
    prior = float(train[TARGET].mean())
    stats = train.groupby("region")[TARGET].agg(["sum", "count"])
    rates = ((stats["sum"] + SMOOTHING * prior) / (stats["count"] + SMOOTHING)).to_dict()

    def matrix(rows: pd.DataFrame) -> np.ndarray:
        numeric = rows[NUMERIC].astype(float).fillna(medians)
        region = rows["region"].astype(str).map(rates).fillna(prior).astype(float)
        plans = [(rows["plan"] == p).astype(float) for p in PLANS]
        return np.column_stack([numeric.to_numpy(), region.to_numpy(), *plans])

    return matrix(train), matrix(test)


@dataclass(frozen=True)
class Prepared:
    """Correct model inputs for one dataset, built by the grader."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def prepared(features: pd.DataFrame, labels: pd.DataFrame, seed: int) -> Prepared:
    train, test = grader_split(labelled(features, labels), seed)
    X_train, X_test = grader_prepare(train, test)
    return Prepared(X_train, train[TARGET].to_numpy(), X_test, test[TARGET].to_numpy())


# -- not attempted -----------------------------------------------------------------------------


def normalised_sha(data: bytes) -> str:
    return hashlib.sha256(data.replace(b"\r\n", b"\n").strip()).hexdigest()


def require_changed_pipeline(submission: Any) -> None:
    """NotAttempted while pipeline.py is still the provided buggy file."""
    submission.harness.ready()
    data = submission.read_file(PIPELINE)
    if normalised_sha(data) == PIPELINE_SHA256:
        raise NotAttempted(f"{PIPELINE} is unchanged from the provided buggy pipeline: not "
                           "attempted yet")


def read_diagnosis(submission: Any) -> Any:
    """The learner's diagnosis.yaml, parsed with yaml.safe_load; NotAttempted if untouched."""
    import yaml

    submission.harness.ready()
    try:
        data = submission.read_file(DIAGNOSIS, max_bytes=5 * 1024 * 1024)
    except FileNotFoundError:
        raise AssertionError(f"{DIAGNOSIS} is missing: fill in the provided template") from None
    if normalised_sha(data) == DIAGNOSIS_SHA256:
        raise NotAttempted(f"{DIAGNOSIS} is still the provided template: not attempted yet")
    if len(data) > MAX_DIAGNOSIS_BYTES:
        raise AssertionError(f"{DIAGNOSIS} is {len(data) // 1024} KB; the grader reads a "
                             f"diagnosis of at most {MAX_DIAGNOSIS_BYTES // 1024} KB (five "
                             "entries take about 2 KB). Keep each evidence to what you observed")
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise AssertionError(f"{DIAGNOSIS} is not valid YAML: {str(exc)[:300]}") from None


# -- diagnosis ---------------------------------------------------------------------------------

VOCABULARY = {
    "label-misalignment": "labels attached to the wrong rows",
    "data-leakage": "information from the test rows (features or labels) used to prepare or fit",
    "train-mode-at-inference": "a stateful step still in training mode when predicting",
    "metric-on-training-data": "a reported metric measured on rows the model was trained on",
    "unseeded-split": "a random split that ignores the seed, so runs cannot be reproduced",
    "unstratified-split": "a split that does not keep the share of each class",
    "class-imbalance": "too few examples of one class",
    "overfitting": "the model memorises the training rows",
    "underfitting": "the model is too simple for the data",
    "missing-values": "missing values not handled",
    "duplicate-rows": "the same row counted more than once",
    "wrong-threshold": "a decision threshold that does not suit the use",
    "numeric-overflow": "numbers too large or too small for their type",
    "stale-cache": "an old intermediate result reused",
}
LOCATIONS = ("attach_labels", "split", "prepare", "train", "predict", "evaluate", "run",
             "Standardizer", "_region_rates", "_matrix")
MIN_EVIDENCE_WORDS = 8
MAX_DIAGNOSIS_BYTES = 64 * 1024
MAX_EVIDENCE_CHARS = 4000  # longer evidence is read up to here
# Something a reader can check: a number, code in backticks, a call, a name_with_underscores,
# an index. "There was leakage" has none of these.
CONCRETE = re.compile(r"\d|`|\w\(|\w_\w|\w\[")


@dataclass(frozen=True)
class Bug:
    """One seeded bug: where it may be reported, the causes that name it, and its evidence.

    ``pointers`` are lower-case fragments of the buggy code (or of what exactly it did) that an
    entry's evidence must quote; ``lines`` are the buggy lines' numbers in the provided file,
    which the evidence may cite instead ("line 36").
    """

    locations: tuple[str, ...]
    causes: tuple[str, ...]
    pointers: tuple[str, ...] = ()
    lines: tuple[int, ...] = ()


def lines_with(path: Path, snippets: tuple[str, ...]) -> tuple[int, ...]:
    """1-based numbers of the lines of a course file that contain one of ``snippets``."""
    text = path.read_text(encoding="utf-8").splitlines()
    return tuple(i for i, line in enumerate(text, start=1) if any(s in line for s in snippets))


def points_at(evidence: str, bug: Bug) -> bool:
    """Whether the evidence quotes the buggy code (or its exact effect) or cites its line."""
    text = " ".join(evidence[:MAX_EVIDENCE_CHARS].lower().split())
    if any(p in text for p in bug.pointers):
        return True
    cited = re.finditer(r"\blines? (\d{1,4})((?:(?:,|and|-) ?\d{1,4}){0,5})", text)
    return any(int(n) in bug.lines for m in cited for n in re.findall(r"\d{1,4}", m.group(0)))


def field(entry: dict[str, Any], key: str) -> str:
    """One field of an entry as text; anything but a scalar reads as empty.

    YAML aliases can nest a list inside itself many times over: turning that into a string
    would take exponential time and memory, so only scalars are read.
    """
    value = entry.get(key)
    if isinstance(value, str):
        return value.strip()[:MAX_EVIDENCE_CHARS]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def entries(diagnosis: Any) -> list[dict[str, Any]]:
    """The list under ``bugs``; Feedback naming the problem when the shape is wrong."""
    expect(isinstance(diagnosis, dict) and isinstance(diagnosis.get("bugs"), list),
           f"{DIAGNOSIS} must be a mapping with a list under 'bugs:' (see the template)")
    found = diagnosis["bugs"]
    expect(all(isinstance(e, dict) for e in found), f"every item under 'bugs:' in {DIAGNOSIS} "
           "must be a mapping with location, root_cause and evidence")
    return found


def entry_problems(entry: dict[str, Any], number: int) -> list[str]:
    """What is wrong with one diagnosis entry, in the learner's terms."""
    problems = []
    location = field(entry, "location").removesuffix("()")
    cause = field(entry, "root_cause")
    evidence = field(entry, "evidence")
    if location not in LOCATIONS:
        problems.append(f"entry {number}: location {location or '(empty)'!r} is not a function "
                        f"of {PIPELINE} ({', '.join(LOCATIONS[:6])}...)")
    if cause not in VOCABULARY:
        problems.append(f"entry {number}: root_cause {cause or '(empty)'!r} is not in the "
                        "vocabulary (README, 'diagnosis.yaml')")
    words = len(evidence.split())
    if words < MIN_EVIDENCE_WORDS or "TODO" in evidence.upper():
        problems.append(f"entry {number}: evidence has {words} words; say what you observed "
                        f"(a number, a check you ran) in at least {MIN_EVIDENCE_WORDS} words")
    elif not CONCRETE.search(evidence[:MAX_EVIDENCE_CHARS]):
        problems.append(f"entry {number}: the evidence states nothing a reader can check (no "
                        "number, no code): quote the line that was wrong and what you measured "
                        "before and after the fix")
    return problems


def names_bug(diagnosis: Any, bug: Bug) -> tuple[bool, str]:
    """Whether some entry puts this bug in the right place with a right cause and evidence."""
    rows = entries(diagnosis)
    at_place = [e for e in rows
                if field(e, "location").removesuffix("()") in bug.locations]
    if not at_place:
        return False, f"no entry has location {' or '.join(bug.locations)}"
    named = [e for e in at_place if field(e, "root_cause") in bug.causes]
    if not named:
        given = ", ".join(repr(field(e, "root_cause")[:40]) for e in at_place)
        return False, (f"the entry for {field(at_place[0], 'location')} gives root_cause {given}, "
                       "which does not name what is wrong there")
    for e in named:
        evidence = field(e, "evidence")
        if len(evidence.split()) >= MIN_EVIDENCE_WORDS and points_at(evidence, bug):
            return True, ""
    return False, (f"the entry for {field(named[0], 'location')} names a right cause, but its "
                   "evidence does not show where the bug was: it restates the category. Quote "
                   "the code that was wrong (or give its line number in the provided "
                   f"{PIPELINE}) and what you observed, e.g. a number before and after the fix")


# -- comparisons -------------------------------------------------------------------------------


def same_matrix(a: Any, b: Any) -> bool:
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and bool(np.allclose(a, b, rtol=0, atol=1e-9, equal_nan=True)))


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    ranks = pd.Series(score).rank(method="average").to_numpy()
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def as_probabilities(values: Any, n: int, what: str) -> np.ndarray:
    expect(isinstance(values, np.ndarray) and values.shape == (n,),
           f"{what} returned {type(values).__name__} "
           f"{getattr(values, 'shape', '')}; expected a 1-D array of {n} probabilities")
    return np.asarray(values, dtype=float)


# -- probes, one per function under test -------------------------------------------------------


def check_attach_labels(submission: Any, features: pd.DataFrame, labels: pd.DataFrame,
                        where: str) -> None:
    """attach_labels gives every feature row its own customer's label, rows in order."""
    got = submission.attach_labels(features, labels)
    want = labelled(features, labels)
    expect(isinstance(got, pd.DataFrame), f"attach_labels(...) on {where} returned "
           f"{type(got).__name__}, not a DataFrame")
    expect(TARGET in got.columns, f"attach_labels(...) on {where} returned no {TARGET!r} column")
    expect(len(got) == len(want), f"attach_labels(...) on {where} returned {len(got)} rows for "
           f"{len(want)} customers: keep every row of features (no rows dropped or added)")
    ids = got["customer_id"].astype(str).tolist() if "customer_id" in got.columns else []
    expect(ids == want["customer_id"].tolist(), f"attach_labels(...) on {where}: the rows are "
           "not the rows of features in their order (customer_id differs)")
    labels_got = pd.to_numeric(got[TARGET], errors="coerce").to_numpy(dtype=float)
    labels_want = want[TARGET].to_numpy(dtype=float)
    wrong = ~np.isclose(labels_got, labels_want)
    if wrong.any():
        shifted = np.isclose(labels_got[:-1], labels_want[1:]).mean() > 0.9
        first = int(np.flatnonzero(wrong)[0])
        hint = (" Each row carries the label of the row below it: the labels are shifted by one"
                " row." if shifted else "")
        expect(False, f"attach_labels(...) on {where}: {int(wrong.sum())} of {len(want)} rows "
               f"have a label that is not their customer's (first: row {first}, "
               f"{want['customer_id'][first]}).{hint} Match labels to features by customer_id, "
               "never by position; a check that fails is telling you something, so do not "
               "delete it or fill the gap")
    for col in FEATURES:
        same = col in got.columns and got[col].reset_index(drop=True).astype(object).equals(
            want[col].astype(object))
        expect(same, f"attach_labels(...) on {where} changed the feature column {col!r}: only "
               f"add {TARGET!r}")


def check_split(submission: Any, df: pd.DataFrame, seed: int, where: str) -> None:
    """A 25% test part, every row once, the churn share kept, and reproducible from the seed."""
    parts = submission.split(df, seed)
    expect(isinstance(parts, tuple) and len(parts) == 2 and
           all(isinstance(p, pd.DataFrame) for p in parts),
           f"split(df, {seed}) on {where} must return a tuple (train, test) of DataFrames")
    train, test = parts
    ids_train, ids_test = set(train["customer_id"]), set(test["customer_id"])
    expect(not ids_train & ids_test and ids_train | ids_test == set(df["customer_id"]) and
           len(train) + len(test) == len(df),
           f"split(df, {seed}) on {where}: every row must land in exactly one part")
    expect(abs(len(test) - 0.25 * len(df)) <= 1, f"split(df, {seed}) on {where}: the test part "
           f"has {len(test)} of {len(df)} rows; it should be 25%")
    want = df[TARGET].mean() * len(test)
    expect(abs(int(test[TARGET].sum()) - want) <= 1,
           f"split(df, {seed}) on {where}: the test part has {int(test[TARGET].sum())} churners "
           f"where a stratified split keeps {want:.1f} (the same share as all rows): stratify "
           f"by {TARGET}")


def check_split_reproducible(submission: Any, df: pd.DataFrame, seed: int, where: str) -> None:
    """The same seed gives the same split; another seed another one."""
    first = submission.split(df, seed)
    again = submission.split(df, seed)
    other = submission.split(df, seed + 1)
    for parts in (first, again, other):
        expect(isinstance(parts, tuple) and len(parts) == 2,
               f"split(df, seed) on {where} must return a tuple (train, test)")
    ids = [sorted(p[1]["customer_id"]) for p in (first, again, other)]
    expect(ids[0] == ids[1], f"split(df, {seed}) on {where} gave a different test part when "
           "called twice with the same seed: results cannot be reproduced or compared. Pass "
           "the seed to the random split")
    expect(ids[0] != ids[2], f"split(df, {seed}) and split(df, {seed + 1}) on {where} gave the "
           "same test part: the split must depend on the seed it is given")


def _prepare(submission: Any, train: pd.DataFrame, test: pd.DataFrame,
             where: str) -> tuple[np.ndarray, np.ndarray]:
    got = submission.prepare(train, test)
    expect(isinstance(got, tuple) and len(got) == 2 and
           all(isinstance(x, np.ndarray) for x in got),
           f"prepare(train, test) on {where} must return a tuple (X_train, X_test) of arrays")
    want_train, want_test = grader_prepare(train, test)
    for name, x, want in (("X_train", got[0], want_train), ("X_test", got[1], want_test)):
        expect(x.shape == want.shape, f"prepare(train, test) on {where}: {name} has shape "
               f"{x.shape}; expected {want.shape} (4 numbers, the region rate, 3 plan columns)")
    return got[0], got[1]


def perturbed(test: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same test customers with other feature values (what must not change X_train)."""
    rng = np.random.default_rng(seed)
    other = test.copy()
    for col in NUMERIC:
        other[col] = other[col] * 3 + 7
    other["region"] = rng.permutation(other["region"].to_numpy())
    other[TARGET] = 1 - other[TARGET]
    return other


def check_prepare_train_ignores_test(submission: Any, train: pd.DataFrame, test: pd.DataFrame,
                                     where: str) -> None:
    X_train, _ = _prepare(submission, train, test, where)
    X_train_other, _ = _prepare(submission, train, perturbed(test, 1), where)
    expect(same_matrix(X_train, X_train_other), f"prepare(train, test) on {where}: X_train "
           "changes when only the test rows change. Something (a median, a churn rate) is "
           "computed from the test rows too: that is information the model could not have at "
           "prediction time. Learn every statistic from train only")


def check_prepare_test_ignores_labels(submission: Any, train: pd.DataFrame, test: pd.DataFrame,
                                      where: str) -> None:
    _, X_test = _prepare(submission, train, test, where)
    flipped = test.copy()
    flipped[TARGET] = 1 - flipped[TARGET]
    _, X_test_flipped = _prepare(submission, train, flipped, where)
    expect(same_matrix(X_test, X_test_flipped), f"prepare(train, test) on {where}: X_test "
           "changes when the test rows' labels change, so the test labels leak into the "
           "features and the test score is flattering. Learn the region churn rates from the "
           "training rows only")


def check_prepare_values(submission: Any, train: pd.DataFrame, test: pd.DataFrame,
                         where: str) -> None:
    X_train, X_test = _prepare(submission, train, test, where)
    want_train, want_test = grader_prepare(train, test)
    for name, x, want in (("X_train", X_train, want_train), ("X_test", X_test, want_test)):
        bad = ~np.all(np.isclose(x, want, rtol=0, atol=1e-9), axis=0)
        expect(not bad.any(), f"prepare(train, test) on {where}: {name} differs from the "
               f"contract in column(s) {np.flatnonzero(bad).tolist()} (0-3 numbers with "
               "missing values filled by the training median, 4 the region's smoothed churn "
               "rate from training rows, 5-7 the plans)")


def check_scoring(submission: Any, prep: Prepared, where: str) -> None:
    """A customer scored alone gets the same P(churn) as in a batch."""
    singles = list(range(min(8, len(prep.X_test))))
    out = submission.harness.fit_predict(prep.X_train, prep.y_train, prep.X_test, singles)
    n = len(prep.X_test)
    batch = as_probabilities(out.get("batch"), n, "predict(model, X_test)")
    alone = np.asarray(out.get("alone"), dtype=float)
    i = int(np.argmax(np.abs(alone - batch[singles])))
    expect(np.allclose(alone, batch[singles], rtol=0, atol=1e-9),
           f"train() then predict() on {where}: customer {i} scored alone gets P(churn) "
           f"{alone[i]:.3f}, but {batch[i]:.3f} in a batch with the other test customers. The "
           "scoring service sends one customer at a time, so its scores are wrong: a customer's "
           "score must not depend on the other rows predict() is given")
    head = np.asarray(out.get("head"), dtype=float)
    again = np.asarray(out.get("again"), dtype=float)
    expect(np.allclose(head, batch[:3], rtol=0, atol=1e-9) and
           np.allclose(again, batch, rtol=0, atol=1e-9),
           f"train() then predict() on {where}: the same customers get different scores in a "
           "smaller batch or when scored again")


def check_evaluate(submission: Any, prep: Prepared, where: str) -> None:
    """evaluate() reports accuracy and ROC AUC of the model on the test rows."""
    out = submission.harness.evaluate_report(prep.X_train, prep.y_train, prep.X_test,
                                             prep.y_test)
    report = out.get("report")
    expect(isinstance(report, dict) and {"accuracy", "roc_auc"} <= set(report),
           f"evaluate(...) on {where} must return a dict with 'accuracy' and 'roc_auc'")
    p_test = as_probabilities(out.get("p_test"), len(prep.y_test), "predict(model, X_test)")
    p_train = as_probabilities(out.get("p_train"), len(prep.y_train),
                               "predict(model, X_train)")
    truth = {"accuracy": float(np.mean((p_test >= 0.5) == prep.y_test)),
             "roc_auc": roc_auc(prep.y_test, p_test)}
    on_train = {"accuracy": float(np.mean((p_train >= 0.5) == prep.y_train)),
                "roc_auc": roc_auc(prep.y_train, p_train)}
    for key in ("accuracy", "roc_auc"):
        value = report[key]
        expect(type(value) in (int, float), f"evaluate(...) on {where}: {key} is a "
               f"{type(value).__name__}, not a number")
        if abs(value - truth[key]) <= 1e-9:
            continue
        if abs(value - on_train[key]) <= 1e-9:
            expect(False, f"evaluate(...) on {where} reports {key} {value:.3f}, which is the "
                   "model's score on its own training rows. A model always looks better on "
                   "the rows it learned from: measure on the test rows it was given")
        expect(False, f"evaluate(...) on {where} reports {key} {value:.3f}, which is not the "
               f"model's {key} on the test rows (accuracy at P >= 0.5)")
