"""Trusted helpers for manager-summary: the grader's own numbers, a summary reader, a chart judge.

The summary is read as text, never run. The chart is drawn by the course harness in the worker,
which sends back a plain description; everything is judged here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.testing import NotAttempted, expect

SUMMARY = "SUMMARY.md"
INPUTS = "data/inputs.json"
MAX_SUMMARY_BYTES = 64 * 1024
# sha256 of the provided template (line endings normalised): an unchanged file is not attempted.
STARTER_SHA256 = "abe14ae354d41d63e8d7076f9b2ee15f068a81c8f2ccd9ead1c841ae88710634"
MAX_WORDS, MIN_WORDS = 200, 60
MAX_GRADE = 10.0
COUNT_KEYS = ("caught", "false_alarms", "missed", "cleared")

# -- the grader's numbers ----------------------------------------------------------------------


def load_inputs(exercise_dir: Path) -> dict[str, Any]:
    return json.loads((exercise_dir / INPUTS).read_text(encoding="utf-8"))


def cost_per_1000(counts: dict[str, int], costs: dict[str, float]) -> float:
    """Expected cost of errors per 1,000 orders (USD)."""
    total = sum(counts[k] for k in COUNT_KEYS)
    cost = counts["missed"] * costs["missed"] + counts["false_alarms"] * costs["false_alarm"]
    return cost / total * 1000


@dataclass(frozen=True)
class Impact:
    """What the inputs imply, in the units a manager reads."""

    current: float  # cost of errors per 1,000 orders with today's rules
    model: float  # the same with the model
    orders_per_month: int

    @property
    def saving(self) -> float:
        return self.current - self.model

    def derivable(self) -> dict[str, float]:
        """Every money amount a summary may honestly quote."""
        per_month = self.orders_per_month / 1000
        return {"saving per 1,000 orders": self.saving,
                "cost of errors per 1,000 orders today": self.current,
                "cost of errors per 1,000 orders with the model": self.model,
                "saving per month": self.saving * per_month,
                "saving per year": self.saving * per_month * 12,
                "cost of errors per month today": self.current * per_month,
                "cost of errors per month with the model": self.model * per_month,
                "saving per order": self.saving / 1000}


def impact(inputs: dict[str, Any]) -> Impact:
    ev, costs = inputs["evaluation"], inputs["costs_usd"]
    return Impact(cost_per_1000(ev["current_rules"], costs), cost_per_1000(ev["model"], costs),
                  int(inputs["orders_per_month"]))


def fresh_inputs(seed: int) -> dict[str, Any]:
    """A scenario like data/inputs.json with other counts and costs (hidden grading inputs)."""
    rng = np.random.default_rng(seed)
    orders = int(rng.integers(1500, 9000))
    fraud = int(rng.integers(15, 120))

    def counts(catch_rate: float, alarm_rate: float) -> dict[str, int]:
        caught = round(fraud * catch_rate)
        alarms = round((orders - fraud) * alarm_rate)
        return {"caught": caught, "false_alarms": alarms, "missed": fraud - caught,
                "cleared": orders - fraud - alarms}

    base_catch = float(rng.uniform(0.2, 0.5))
    base_alarm = float(rng.uniform(0.02, 0.06))
    return {
        "decision": "Switch on the fraud-screening model for all web orders",
        "evaluation": {"orders": orders, "about": "a fresh evaluation sample",
                       "current_rules": counts(base_catch, base_alarm),
                       "model": counts(min(base_catch + float(rng.uniform(0.15, 0.45)), 0.97),
                                       base_alarm * float(rng.uniform(0.7, 1.6)))},
        "costs_usd": {"missed": float(rng.integers(60, 600)),
                      "false_alarm": float(rng.integers(3, 40)) + 0.5},
        "orders_per_month": int(rng.integers(10, 200)) * 1000,
    }


def fresh_counts(seed: int) -> tuple[dict[str, int], dict[str, float]]:
    """One set of counts and costs for the cost function, including awkward ones."""
    inputs = fresh_inputs(seed)
    return inputs["evaluation"]["model"], inputs["costs_usd"]


# -- reading the summary -----------------------------------------------------------------------

COMMENT = re.compile(r"<!--.*?-->", re.S)


def normalised_sha(data: bytes) -> str:
    return hashlib.sha256(data.replace(b"\r\n", b"\n").strip()).hexdigest()


def read_summary(submission: Any) -> str:
    """The learner's summary as rendered text (comments removed); NotAttempted if untouched."""
    submission.harness.ready()  # starts the worker, which holds the copied files
    try:
        data = submission.read_file(SUMMARY, max_bytes=MAX_SUMMARY_BYTES)
    except FileNotFoundError:
        raise AssertionError(f"{SUMMARY} is missing: write your summary in {SUMMARY} beside the "
                             "README (start from the provided template)") from None
    if normalised_sha(data) == STARTER_SHA256:
        raise NotAttempted(f"{SUMMARY} is still the provided template: not attempted yet")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AssertionError(f"{SUMMARY} is not UTF-8 text: save it as UTF-8") from None
    return COMMENT.sub(" ", text)


def plain_text(markdown: str) -> str:
    """Markdown reduced to the words a reader sees; a heading becomes its own sentence."""
    text = re.sub(r"^\s*(```|~~~).*?^\s*\1", " ", markdown, flags=re.S | re.M)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", r"\1.", text, flags=re.M)
    text = re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", text, flags=re.M)
    text = re.sub(r"[*_`>|]", " ", text)
    return " ".join(text.split())


WORD = re.compile(r"[A-Za-z0-9$][A-Za-z0-9'’.,%$-]*")


def word_count(text: str) -> int:
    return len(WORD.findall(text))


TODO = re.compile(r"\bTODO\b|\bTBD\b|\[\s*(fill|insert|your)[^\]]*\]|<\s*(fill|insert|your)[^>]*>",
                  re.I)
RECOMMENDATION = re.compile(r"\**\s*recommendation\s*\**\s*:\s*\**", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|\n\s*\n|$")
DECISION = re.compile(r"\b(deploy|switch|launch|roll(?:ing)? out|adopt|replace|pilot|trial|"
                      r"keep|stay|wait|delay|postpone|go ahead|proceed|approve|reject|stop|"
                      r"use|turn on|do not|don't)\b", re.I)


def recommendations(text: str) -> list[str]:
    """Each 'Recommendation:' sentence, from the label to the end of its sentence."""
    flat = plain_text(text)
    found = []
    for m in RECOMMENDATION.finditer(flat):
        rest = flat[m.end():]
        end = re.search(r"(?<=[.!?])(\s|$)", rest)
        found.append(rest[:end.start()] if end else rest)
    return found


# -- money amounts -----------------------------------------------------------------------------

MONEY = re.compile(
    r"(?:(?P<sym>\$|USD\s?|US\$)\s?(?P<a>\d[\d,]*(?:\.\d+)?)\s*(?P<ma>k\b|thousand\b|million\b|"
    r"m\b)?)|(?:(?P<b>\d[\d,]*(?:\.\d+)?)\s*(?P<mb>k|thousand|million)?\s*"
    r"(?P<word>USD|dollars?)\b)", re.I)
SCALE = {"k": 1e3, "thousand": 1e3, "million": 1e6, "m": 1e6}


@dataclass(frozen=True)
class Amount:
    """A money amount as written, with the precision its digits state."""

    text: str
    value: float
    tolerance: float
    significant: int

    def matches(self, true: float) -> bool:
        return abs(self.value - true) <= self.tolerance + 1e-9


def _amount(text: str, number: str, multiplier: str | None) -> Amount:
    digits = number.replace(",", "")
    scale = SCALE.get((multiplier or "").lower(), 1.0)
    if "." in digits:
        decimals = len(digits.split(".")[1])
        unit = 10.0 ** -decimals
    else:
        stripped = digits.rstrip("0") or "0"
        unit = 10.0 ** (len(digits) - len(stripped))
    core = digits.replace(".", "").lstrip("0")
    significant = len(core if "." in digits else core.rstrip("0"))
    return Amount(text.strip(), float(digits) * scale, 0.5 * unit * scale, significant)


def money_amounts(text: str) -> list[Amount]:
    """Every money amount in the text: '$1,356', 'USD 70.5k', '1,356 dollars'."""
    flat = plain_text(text)
    found = []
    for m in MONEY.finditer(flat):
        if m.group("a"):
            found.append(_amount(m.group(0), m.group("a"), m.group("ma")))
        else:
            found.append(_amount(m.group(0), m.group("b"), m.group("mb")))
    return found


# -- jargon ------------------------------------------------------------------------------------

JARGON = {
    "ROC AUC": r"roc[ -]?auc|auc[ -]?roc|\bauc\b|area under the (?:roc )?curve",
    "logits": r"\blogits?\b",
    "hyperparameter": r"hyper-?parameters?",
    "F1 score": r"\bf1\b(?:[ -]score)?",
    "precision": r"\bprecision\b",
    "recall": r"\brecall\b",
    "confusion matrix": r"confusion matri(?:x|ces)",
    "threshold": r"\bthresholds?\b",
    "false positive": r"false[ -]positives?",
    "false negative": r"false[ -]negatives?",
    "true positive": r"true[ -]positives?",
    "cross-validation": r"cross[ -]?validat\w*",
    "overfitting": r"over-?fit\w*",
    "classifier": r"\bclassifiers?\b",
    "logistic regression": r"logistic regression",
    "gradient boosting": r"gradient[ -]boost\w*",
    "neural network": r"neural net\w*",
    "training set": r"training (?:set|data)",
    "test set": r"\b(?:test|hold-?out|validation) (?:set|data)\b",
    "p-value": r"\bp-?values?\b",
    "calibration": r"\bcalibrat\w*",
    "feature engineering": r"feature engineering",
    "embedding": r"\bembeddings?\b",
}
# An explanation right after the term: "(the share of ...)", ", which means ...", " - i.e. ..."
EXPLAINED = re.compile(
    r"^\s*(?:\([^)]*\b\w+\b[^)]*\b\w+\b[^)]*\)"
    r"|[,:;\u2013\u2014-]+\s*(?:which|meaning|i\.e\.|ie|that is|in other words|or|the|a|an|"
    r"how|what)\b"
    r"|\s+(?:means|is the|is how|is what|measures|counts|tells)\b)", re.I)


def jargon_problems(text: str) -> list[str]:
    """Listed terms whose first use is not followed by a plain explanation."""
    flat = plain_text(text)
    problems = []
    for pattern in JARGON.values():
        first = re.search(pattern, flat, re.I)
        if first is None:
            continue
        if not EXPLAINED.match(flat[first.end():first.end() + 120]):
            start = max(0, first.start() - 30)
            problems.append(f"'{first.group(0)}' (in '...{flat[start:first.end() + 30]}...')")
    return problems


# -- the chart ---------------------------------------------------------------------------------

UNIT = re.compile(r"\(.*\S.*\)|\[.*\S.*\]|[$€£%]|\b(usd|eur|gbp|dollars?|percent|per|in)\b",
                  re.I)
MIN_FONT_PT = 12.0
MAX_SERIES = 5


def chart_texts(desc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(role, text) for every visible text of the chart."""
    found: list[tuple[str, dict[str, Any]]] = []
    found += [("title", t) for t in desc.get("suptitle", [])]
    found += [("figure text", t) for t in desc.get("fig_texts", [])]
    for ax in desc.get("axes", []):
        found += [("title", t) for t in ax["title"]]
        for role in ("xlabel", "ylabel"):
            if ax[role]["text"].strip():
                found.append((role, ax[role]))
        found += [("x tick label", t) for t in ax["xticklabels"]]
        found += [("y tick label", t) for t in ax["yticklabels"]]
        found += [("legend", t) for t in ax["legend"]]
        found += [("annotation", t) for t in ax["texts"]]
    return [(role, t) for role, t in found if t.get("visible", True)]


def series_count(ax: dict[str, Any]) -> int:
    return len(ax["bars"]) + len(ax["lines"]) + ax["scatters"] + ax["areas"]


def value_axis(ax: dict[str, Any]) -> str:
    """'x' when the numbers run along x (horizontal bars), else 'y'."""
    if ax["bars"] and all(b["orientation"] == "horizontal" for b in ax["bars"]):
        return "x"
    return "y"


def shown_values(ax: dict[str, Any]) -> list[float]:
    """Values the chart's data shows: bar lengths and ends, line points (not text labels)."""
    values: list[float] = []
    for bars in ax["bars"]:
        horizontal = bars["orientation"] == "horizontal"
        for x, y, w, h in bars["rects"]:
            length, start = (w, x) if horizontal else (h, y)
            values += [length, start + length]
    for line in ax["lines"]:
        values += line["y"] + line["x"]
    return values


def figure_axes(chart: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart's axes (colorbars left out); Feedback when it is not a drawn Figure."""
    expect(chart.get("type") == "Figure", f"make_chart(inputs) returned a {chart.get('type')}, "
           "not a matplotlib Figure: create one with fig, ax = plt.subplots() and return fig")
    axes = [ax for ax in chart["axes"] if ax["name"] != "colorbar"]
    expect(axes, "make_chart(inputs) returned a Figure with no axes: draw the chart on it")
    return axes


def check_chart_data(chart: dict[str, Any], inputs: dict[str, Any], where: str) -> None:
    """The chart's data shows both options' cost of errors per 1,000 orders."""
    axes = figure_axes(chart)
    want_costs = impact(inputs)
    values = [v for ax in axes for v in shown_values(ax)]
    missing = [name for name, want in (("today's rules", want_costs.current),
                                       ("the model", want_costs.model))
               if not any(abs(v - want) <= max(0.5, 0.005 * abs(want)) for v in values)]
    expect(not missing, f"make_chart(...) on {where}: the chart's data (bar lengths or line "
           f"points) does not show the cost of errors per 1,000 orders for "
           f"{' and '.join(missing)}. Compute the values from the inputs you are given "
           "(error_cost_per_1000) and plot those")


# -- the cost function -------------------------------------------------------------------------


def check_cost(submission: Any, counts: dict[str, int], costs: dict[str, float],
               where: str) -> None:
    """Call the learner's error_cost_per_1000 and compare with the grader's value."""
    got = submission.error_cost_per_1000(counts, costs)
    expect(type(got) in (int, float), f"error_cost_per_1000(...) on {where} returned a "
           f"{type(got).__name__}; return a number (float) of US dollars")
    want = cost_per_1000(counts, costs)
    expect(abs(got - want) <= 1e-6 * max(1.0, abs(want)),
           f"error_cost_per_1000({counts}, {costs}) on {where} returned {got:.4f}, which is not "
           "the cost of the errors (missed fraud and false alarms, each at its cost) spread over "
           "all the orders counted and scaled to 1,000 orders. Caught fraud and cleared orders "
           "cost nothing here")
