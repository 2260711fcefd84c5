"""Trusted helpers for manager-summary: the grader's own numbers, a summary reader, a chart judge.

The summary is read as text, never run. The chart is drawn by the course harness in the worker,
which sends back a plain description; everything is judged here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from grader.testing import NotAttempted, expect

SUMMARY = "SUMMARY.md"
INPUTS = "data/inputs.json"
MAX_SUMMARY_BYTES = 16 * 1024  # a 200-word summary is about 1.5 KB
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
# SUMMARY.md is parsed with markdown-it-py (CommonMark plus GitHub tables), never with regular
# expressions over the whole text: the parser runs in linear time on any input. The file is
# capped before parsing, and every pattern below has bounded repetitions.

MAX_FILE_BYTES = 5 * 1024 * 1024  # what the grader copies at most; the summary cap is below


def normalised_sha(data: bytes) -> str:
    return hashlib.sha256(data.replace(b"\r\n", b"\n").strip()).hexdigest()


def read_summary(submission: Any) -> str:
    """The learner's summary (markdown text); NotAttempted while it is the template."""
    submission.harness.ready()  # starts the worker, which holds the copied files
    try:
        data = submission.read_file(SUMMARY, max_bytes=MAX_FILE_BYTES)
    except FileNotFoundError:
        raise AssertionError(f"{SUMMARY} is missing: write your summary in {SUMMARY} beside the "
                             "README (start from the provided template)") from None
    if normalised_sha(data) == STARTER_SHA256:
        raise NotAttempted(f"{SUMMARY} is still the provided template: not attempted yet")
    if len(data) > MAX_SUMMARY_BYTES:
        raise AssertionError(f"{SUMMARY} is {len(data) // 1024} KB; the grader reads summaries "
                             f"of at most {MAX_SUMMARY_BYTES // 1024} KB, and a manager reads "
                             f"{MAX_WORDS} words. Cut it down to the decision, the money, the "
                             "main risk and the recommendation")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AssertionError(f"{SUMMARY} is not UTF-8 text: save it as UTF-8") from None


def _inline(token: Any) -> tuple[str, str]:
    """(the words a reader sees, the visible source with inline HTML) of one inline token."""
    words, raw = [], []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "image"):  # an image's content is its alt text
            words.append(child.content)
            raw.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            words.append(" ")
            raw.append(" ")
        elif child.type == "html_inline" and not child.content.startswith("<!--"):
            raw.append(child.content)  # '<your name>' is a placeholder, not a word
    return " ".join("".join(words).split()), " ".join("".join(raw).split())


@lru_cache(maxsize=8)
def _blocks(markdown: str) -> tuple[tuple[str, str], ...]:
    """(words, visible source) per rendered block; a heading ends with a full stop."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"maxNesting": 20}).enable("table")
    found: list[tuple[str, str]] = []
    heading = False
    for token in parser.parse(markdown):
        if token.type == "heading_open":
            heading = True
        elif token.type == "heading_close":
            heading = False
        elif token.type == "inline":
            words, raw = _inline(token)
            if heading and words and words[-1] not in ".!?:":
                words += "."  # a heading reads as its own sentence
            found.append((words, raw))
    return tuple(found)


def plain_text(markdown: str) -> str:
    """Markdown reduced to the words a reader sees (comments, code and markup removed)."""
    return " ".join(words for words, _ in _blocks(markdown) if words)


def visible_source(markdown: str) -> str:
    """The visible text with inline HTML kept (placeholders such as '<your name>')."""
    return " ".join(raw for _, raw in _blocks(markdown) if raw)


WORD = re.compile(r"[A-Za-z0-9$][A-Za-z0-9'’.,%$-]*")


def word_count(text: str) -> int:
    return len(WORD.findall(text))


TODO = re.compile(r"\bTODO\b|\bTBD\b|\[ {0,3}(fill|insert|your)\b[^\[\]]{0,200}\]|"
                  r"< {0,3}(fill|insert|your)\b[^<>]{0,200}>", re.I)
RECOMMENDATION = re.compile(r"\brecommendation ?:", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|\n\s*\n|$")
DECISION = re.compile(r"\b(deploy|switch|launch|roll(?:ing)? out|adopt|replace|pilot|trial|"
                      r"keep|stay|wait|delay|postpone|go ahead|proceed|approve|reject|stop|"
                      r"use|turn on|do not|don't)\b", re.I)


def recommendations(text: str) -> list[str]:
    """Each 'Recommendation:' sentence, from the label to the end of its sentence."""
    flat = plain_text(text)
    found = []
    for m in RECOMMENDATION.finditer(flat):
        rest = flat[m.end():m.end() + 2000]
        end = re.search(r"[.!?](\s|$)", rest)
        found.append(rest[:end.start() + 1] if end else rest)
    return found


# -- money amounts -----------------------------------------------------------------------------

MONEY = re.compile(  # bounded repetitions: linear time on any text
    r"(?:(?P<sym>\$|USD ?|US\$) ?(?P<a>\d[\d,]{0,15}(?:\.\d{1,6})?) ?(?P<ma>k\b|thousand\b|"
    r"million\b|m\b)?)|(?:(?<![\d,.])(?P<b>\d[\d,]{0,15}(?:\.\d{1,6})?) ?"
    r"(?P<mb>k|thousand|million)? ?(?P<word>USD|dollars?)\b)", re.I)
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


MAX_MARKS = 12  # two options, maybe split by kind of error: a slide shows a handful of marks


def series_count(ax: dict[str, Any]) -> int:
    return ax["bar_series"] + ax["line_series"] + ax["scatters"] + ax["areas"]


def _inside(value: float, limits: list[float]) -> bool:
    if len(limits) != 2 or not all(np.isfinite(limits)) or not np.isfinite(value):
        return False
    low, high = min(limits), max(limits)
    slack = 1e-9 * max(1.0, high - low)
    return low - slack <= value <= high + slack


def _numeric(ticks: list[dict[str, Any]]) -> bool:
    return bool(ticks) and all(any(c.isdigit() for c in t["text"]) for t in ticks)


def value_axis(ax: dict[str, Any]) -> str:
    """'x' when the numbers run along x (horizontal bars, a horizontal dot chart), else 'y'."""
    if ax["bars"]:
        return "x" if all(b["orientation"] == "horizontal" for b in ax["bars"]) else "y"
    if _numeric(ax["xticklabels"]) and not _numeric(ax["yticklabels"]):
        return "x"
    return "y"


@dataclass(frozen=True)
class Mark:
    """One mark a reader sees: a bar or a point, with its position on both axes."""

    kind: str
    x: float
    y: float
    value: tuple[float, ...]  # the value(s) it shows along the value axis


def visible_marks(ax: dict[str, Any]) -> tuple[list[Mark], int]:
    """(marks a reader sees, how many marks the axes hold in all).

    A mark counts when it is drawn (visible, alpha above zero, a size above zero) and lies
    inside the axes' limits; invisible or off-axes marks show nothing, whatever their data.
    """
    axis = value_axis(ax)
    lim = {"x": ax["xlim"], "y": ax["ylim"]}
    marks: list[Mark] = []
    total = 0
    for bars in ax["bars"]:
        total += bars["count"]
        horizontal = bars["orientation"] == "horizontal"
        for bar in bars["rects"]:
            x, y, w, h = bar["rect"]
            drawn = bar["face_alpha"] > 0 or (bar["edge_alpha"] > 0 and bar["linewidth"] > 0)
            thickness = h if horizontal else w
            if not (bar["visible"] and drawn and thickness != 0):
                continue
            length, start = (w, x) if horizontal else (h, y)
            centre = y + h / 2 if horizontal else x + w / 2
            end = start + length
            if horizontal and _inside(end, lim["x"]) and _inside(centre, lim["y"]):
                marks.append(Mark("bar", end, centre, (length, end)))
            elif not horizontal and _inside(end, lim["y"]) and _inside(centre, lim["x"]):
                marks.append(Mark("bar", centre, end, (length, end)))
    for pts in ax["points"]:
        total += pts["count"]
        if not (pts["visible"] and pts["in_data_coords"]):
            continue
        for i, (x, y) in enumerate(zip(pts["x"], pts["y"], strict=False)):
            drawn = pts["face_alpha"][i] > 0 or (pts["edge_alpha"][i] > 0 and
                                                 pts["linewidths"][i] > 0)
            if drawn and pts["sizes"][i] > 0 and _inside(x, lim["x"]) and _inside(y, lim["y"]):
                marks.append(Mark("point", x, y, (x if axis == "x" else y,)))
    for line in ax["lines"]:
        total += len(line["x"])
        has_line = line["linestyle"] not in ("None", "none", "", " ") and \
            line["linewidth"] > 0 and line["color_alpha"] > 0
        has_marker = bool(line["marker"]) and line["markersize"] > 0 and \
            line["marker_alpha"] > 0
        if not (line["visible"] and line["in_data_coords"] and (has_line or has_marker)):
            continue
        for x, y in zip(line["x"], line["y"], strict=False):
            if _inside(x, lim["x"]) and _inside(y, lim["y"]):
                marks.append(Mark("point", x, y, (x if axis == "x" else y,)))
    return marks, total


def figure_axes(chart: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart's axes (colorbars left out); Feedback when it is not a drawn Figure."""
    expect(chart.get("type") == "Figure", f"make_chart(inputs) returned a {chart.get('type')}, "
           "not a matplotlib Figure: create one with fig, ax = plt.subplots() and return fig")
    axes = [ax for ax in chart["axes"] if ax["name"] != "colorbar"]
    expect(axes, "make_chart(inputs) returned a Figure with no axes: draw the chart on it")
    return axes


def check_chart_data(chart: dict[str, Any], inputs: dict[str, Any], where: str) -> None:
    """The chart's visible marks show both options' cost of errors per 1,000 orders."""
    axes = figure_axes(chart)
    want_costs = impact(inputs)
    seen = [visible_marks(ax) for ax in axes]
    marks = [m for found, _ in seen for m in found]
    total = sum(n for _, n in seen)
    expect(marks, f"make_chart(...) on {where}: the chart has {total} data marks, but none a "
           "reader can see (each bar or point needs a colour with alpha above 0, a size above "
           "0, and a place inside the axes' limits). Draw the two costs as visible bars or "
           "points")
    expect(len(marks) <= MAX_MARKS, f"make_chart(...) on {where}: the chart shows {len(marks)} "
           f"bars or points; it compares two options, so show their two costs (at most "
           f"{MAX_MARKS} marks if you split them further)")
    values = [v for m in marks for v in m.value]
    missing = [name for name, want in (("today's rules", want_costs.current),
                                       ("the model", want_costs.model))
               if not any(abs(v - want) <= max(0.5, 0.005 * abs(want)) for v in values)]
    expect(not missing, f"make_chart(...) on {where}: no visible bar or point shows the cost of "
           f"errors per 1,000 orders for {' and '.join(missing)}. Compute the values from the "
           "inputs you are given (error_cost_per_1000) and plot those")


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
