"""Trusted helpers for model-card: the grader's own evaluation of the model, and a card reader.

Nothing here runs learner code. The card is read as text (``submission.read_file``) and parsed
with a small markdown reader; the model is plain JSON coefficients evaluated with numpy on
``data/evaluation.csv``. Messages say what the card says and what kind of value was expected,
never the grader's numbers: the learner measures them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grader.testing import NotAttempted

CARD = "MODEL_CARD.md"
MODEL_FILE = "model/late_arrival_model.json"
EVAL_FILE = "data/evaluation.csv"
MAX_FILE_BYTES = 5 * 1024 * 1024  # what the grader copies at most; the card cap is below
# sha256 of the provided template (line endings normalised): an unchanged card is not attempted.
STARTER_SHA256 = "473734dabbe8c4cc2b0df8598656529c3dc135661cb378fcb472b8adf3d039e6"

# -- the grader's own evaluation -------------------------------------------------------------

SLICE_COLUMNS = {"origin": ("EWR", "JFK", "LGA"),
                 "dep_period": ("morning", "afternoon", "evening")}
SLICE_METRIC = "roc_auc"  # the worst slice is the one where the model ranks flights worst
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "error_rate")
METRIC_TEXT = {"accuracy": "accuracy", "precision": "precision", "recall": "recall",
               "f1": "F1", "roc_auc": "ROC AUC", "error_rate": "error rate"}
OVERALL = ("overall", "")


def load_model(exercise_dir: Path) -> dict[str, Any]:
    """The provided model: plain JSON coefficients (course-owned, never learner data)."""
    return json.loads((exercise_dir / MODEL_FILE).read_text(encoding="utf-8"))


def predict_proba(model: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """P(late) for each row, exactly as the model's JSON describes it."""
    z = np.full(len(frame), float(model["intercept"]))
    coef = model["coefficients"]
    for col, stats in model["numeric_features"].items():
        z += coef[col] * (frame[col].to_numpy(float) - stats["mean"]) / stats["scale"]
    for col, values in model["categorical_features"].items():
        for value in values:
            z += coef[f"{col}={value}"] * (frame[col] == value).to_numpy(float)
    return 1.0 / (1.0 + np.exp(-z))


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    ranks = pd.Series(score).rank(method="average").to_numpy()
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def metrics(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    """The metrics a card may quote, for one set of flights."""
    pred = (score >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    accuracy = float((pred == y).mean())
    return {"accuracy": accuracy, "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "roc_auc": roc_auc(y, score), "error_rate": 1.0 - accuracy}


@dataclass(frozen=True)
class Evaluation:
    """The grader's measurements: overall and per slice, keyed by (column, value)."""

    threshold: float
    results: dict[tuple[str, str], dict[str, float]]

    @property
    def worst_slice(self) -> tuple[str, str]:
        slices = [k for k in self.results if k != OVERALL]
        return min(slices, key=lambda k: self.results[k][SLICE_METRIC])


@cache
def evaluation(exercise_dir: Path) -> Evaluation:
    """Evaluate the provided model on the provided evaluation flights."""
    model = load_model(exercise_dir)
    frame = pd.read_csv(exercise_dir / EVAL_FILE)
    score = predict_proba(model, frame)
    y = frame["late"].to_numpy(int)
    threshold = float(model["threshold"])
    results = {OVERALL: metrics(y, score, threshold)}
    for col, values in SLICE_COLUMNS.items():
        for value in values:
            mask = (frame[col] == value).to_numpy()
            results[(col, value)] = metrics(y[mask], score[mask], threshold)
    return Evaluation(threshold, results)


# -- reading the card --------------------------------------------------------------------------
# The card is parsed with markdown-it-py (CommonMark plus GitHub tables), never with regular
# expressions over the whole text: the parser runs in linear time on any input, and a table
# without outer pipes is a table. The text is capped before parsing.

MAX_CARD_KB = 64  # a filled-in card is about 6 KB
MAX_SENTENCE_CHARS = 2000  # longer "sentences" are cut before the metric patterns read them


@dataclass(frozen=True)
class Block:
    """One rendered block: a heading, a paragraph or list item, a table, or code."""

    kind: str  # "heading", "text", "table" or "code"
    line: int  # 1-based line where it starts
    text: str = ""  # the words a reader sees (for a table: its cells, row by row)
    raw: str = ""  # what is visible, markup kept (for placeholders)
    level: int = 0  # heading level
    rows: tuple[tuple[str, ...], ...] = ()  # table cells, header row first


@dataclass
class Section:
    """One heading and the blocks under it, its sub-sections included."""

    level: int
    title: str
    line: int
    blocks: list[Block] = field(default_factory=list)

    @property
    def body(self) -> str:
        """The section's prose as a reader sees it (tables and code left out)."""
        return "\n\n".join(b.text for b in self.blocks if b.kind == "text")


@dataclass
class Card:
    """A model card: its blocks in order, and its sections."""

    blocks: list[Block]
    sections: list[Section] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Every visible word, block by block (comments removed)."""
        return "\n\n".join(b.text for b in self.blocks)

    def section(self, kind: str) -> Section | None:
        """The first section whose heading names ``kind`` (a key of REQUIRED)."""
        return next((s for s in self.sections if heading_kind(s.title) == kind), None)


REQUIRED = {  # kind -> (the heading to write, what else is accepted)
    "summary": ("Summary", "a heading containing 'Summary' or 'Overview'"),
    "intended": ("Intended Uses", "'Intended Use(s)' or Hugging Face's 'Direct Use'"),
    "out_of_scope": ("Out-of-Scope Uses", "'Out-of-Scope Use(s)' or 'Out of scope'"),
    "limitations": ("Bias, Risks, and Limitations",
                    "a heading containing 'Limitations' (or 'Bias' and 'Risks')"),
    "training": ("Training Details", "a heading containing 'Training'"),
    "evaluation": ("Evaluation", "a heading containing 'Evaluation'"),
}
MIN_SECTION_WORDS = 12


def heading_kind(title: str) -> str | None:
    """Which required section a heading title introduces, if any."""
    t = " ".join("".join(c if "a" <= c <= "z" else " "
                         for c in title.lower().replace("&", " and ")).split())
    if "out of scope" in t:
        return "out_of_scope"
    if "intended use" in t or "direct use" in t:
        return "intended"
    if "limitation" in t or ("bias" in t and "risk" in t):
        return "limitations"
    if "summary" in t or "overview" in t:
        return "summary"
    if "training" in t:
        return "training"
    if "evaluation" in t:
        return "evaluation"
    return None


def without_comments(text: str) -> str:
    """``text`` with HTML comments removed (a linear scan; an unclosed one hides the rest)."""
    out, i = [], 0
    while True:
        start = text.find("<!--", i)
        if start < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:start])
        end = text.find("-->", start + 4)
        if end < 0:
            return "".join(out)
        i = end + 3


def _inline(token: Any) -> tuple[str, str]:
    """(the words a reader sees, the visible source) of one inline token."""
    words, raw = [], []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "image"):  # an image's content is its alt text
            words.append(child.content)
            raw.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            words.append(" ")
            raw.append("\n")
        elif child.type == "html_inline" and not child.content.startswith("<!--"):
            raw.append(child.content)  # '<your name>' is a placeholder, not a word
    return " ".join("".join(words).split()), "".join(raw)


def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"maxNesting": 20}).enable("table")


def blocks_of(markdown: str) -> list[Block]:
    """The rendered blocks of a markdown text, in order (comments and markup removed)."""
    tokens = _markdown().parse(markdown)
    found: list[Block] = []
    row: list[str] = []
    rows: list[tuple[str, ...]] = []
    table_line = 0
    heading_level = 0
    in_table = False
    for token in tokens:
        line = token.map[0] + 1 if token.map else 0
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
        elif token.type == "table_open":
            rows, table_line, in_table = [], line, True
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            rows.append(tuple(row))
        elif token.type == "table_close":
            in_table = False
            found.append(Block("table", table_line, "\n".join(" | ".join(r) for r in rows),
                               "\n".join(" | ".join(r) for r in rows), rows=tuple(rows)))
        elif token.type == "inline":
            words, raw = _inline(token)
            if in_table:
                row.append(words)
            elif heading_level:
                found.append(Block("heading", line, words, raw, level=heading_level))
                heading_level = 0
            else:
                found.append(Block("text", line, words, raw))
        elif token.type in ("fence", "code_block"):
            found.append(Block("code", line + (token.type == "fence"), "", token.content))
        elif token.type == "html_block":
            visible = without_comments(token.content)
            if visible.strip():
                found.append(Block("code", line, "", visible))
    return found


def parse(markdown: str) -> Card:
    """A card's blocks and sections (a section runs to the next heading of its level or above)."""
    card = Card(blocks_of(markdown))
    heads = [i for i, b in enumerate(card.blocks) if b.kind == "heading"]
    for k, i in enumerate(heads):
        head = card.blocks[i]
        end = next((j for j in heads[k + 1:] if card.blocks[j].level <= head.level),
                   len(card.blocks))
        card.sections.append(Section(head.level, head.text, head.line, card.blocks[i + 1:end]))
    return card


def normalised_sha(data: bytes) -> str:
    return hashlib.sha256(data.replace(b"\r\n", b"\n").strip()).hexdigest()


def read_card(submission: Any) -> Card:
    """The learner's card; NotAttempted while it is the provided template."""
    submission.harness.ready()  # starts the worker, which holds the copied files
    try:
        data = submission.read_file(CARD, max_bytes=MAX_FILE_BYTES)
    except FileNotFoundError:
        raise AssertionError(f"{CARD} is missing: write the card in {CARD} beside the README "
                             "(start from the provided template)") from None
    if normalised_sha(data) == STARTER_SHA256:
        raise NotAttempted(f"{CARD} is still the provided template: not attempted yet")
    if len(data) > MAX_CARD_KB * 1024:
        raise AssertionError(f"{CARD} is {len(data) // 1024} KB; the grader reads model cards "
                             f"of at most {MAX_CARD_KB} KB (a complete card is a few KB). Remove "
                             "pasted data, long blank runs or generated text, and keep the "
                             "card to what a reader needs")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AssertionError(f"{CARD} is not UTF-8 text: save it as UTF-8") from None
    return parse(text)


def plain_text(markdown: str) -> str:
    """Markdown reduced to the words a reader sees (for word counts and readability)."""
    return " ".join(b.text for b in blocks_of(markdown) if b.kind == "text")


WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.,%-]*")


def word_count(text: str) -> int:
    return len(WORD.findall(text))


# -- placeholders ------------------------------------------------------------------------------

PLACEHOLDERS = [  # every repetition bounded, so a hostile line costs linear time
    (re.compile(r"\bTODO\b", re.I), "TODO"),
    (re.compile(r"\bTBD\b|\bTBC\b|\bFIXME\b|\bXXX+\b"), "TBD/FIXME/XXX"),
    (re.compile(r"\[ {0,3}more information needed {0,3}\]", re.I), "[More Information Needed]"),
    (re.compile(r"lorem ipsum", re.I), "lorem ipsum"),
    (re.compile(r"\{\{[^{}\n]{0,200}\}\}"), "{{ template variable }}"),
    (re.compile(r"< {0,3}(fill|insert|your|add|describe|write)\b[^<>\n]{0,200}>", re.I),
     "<fill in ...>"),
    (re.compile(r"\[ {0,3}(fill|insert|your|add|describe|write)\b[^\[\]\n]{0,200}\]", re.I),
     "[fill in ...]"),
    (re.compile(r"\?\?\?"), "???"),
]


def placeholders(card: Card) -> list[tuple[int, str, str]]:
    """(line number, kind, the line) for every placeholder left in the visible text."""
    found = []
    for block in card.blocks:
        for offset, line in enumerate(block.raw.splitlines()):
            for pattern, kind in PLACEHOLDERS:
                if pattern.search(line):
                    found.append((block.line + offset, kind, line.strip()[:80]))
                    break
    return found


# -- metrics quoted in the card --------------------------------------------------------------

METRIC_NAMES = [  # longest first, so 'balanced accuracy' is not read as 'accuracy'
    (r"balanced[ -]accuracy", None),
    (r"roc[ -]?auc|auc[ -]?roc|area under the (?:roc )?curve|\bauroc\b|\bauc\b", "roc_auc"),
    (r"\bf1(?:[ -]score)?\b|\bf-1\b|\bf[ -]score\b", "f1"),
    (r"error[ -]rate", "error_rate"),
    (r"\baccuracy\b", "accuracy"),
    (r"\bprecision\b", "precision"),
    (r"\brecall\b|\bsensitivity\b|true[ -]positive[ -]rate", "recall"),
]
METRIC_RE = re.compile("|".join(f"(?P<m{i}>{p})" for i, (p, _) in enumerate(METRIC_NAMES)),
                       re.I)
NUMBER = r"(?<![\w.])(\d{1,3}(?:\.\d+)?|0?\.\d+)\s*(%|percent\b)?"
NUMBER_RE = re.compile(NUMBER, re.I)
# "accuracy 0.71", "accuracy of 71%", "ROC AUC: 0.67", "recall is only 0.39", "F1 = .40"
AFTER = re.compile(r"^\s*(?:\([^)]{0,30}\)\s*)?(?:score\s*)?(?:\*\*)?\s*"
                   r"(?:(?:of|is|was|=|:|at|reaches|reached|around|about|roughly|only|just|"
                   r"stays|drops to|falls to|of only|of about|of just)\s*)*(?:\*\*)?\s*"
                   + NUMBER, re.I)
# "71% accuracy", "0.67 ROC AUC"
BEFORE = re.compile(NUMBER + r"\s*(?:\*\*)?\s*$", re.I)
REFERENCE_WORDS = re.compile(r"\b(chance|random|coin|baseline|target|goal|would|perfect|"
                             r"guess|guessing|better than|at least|above|below|minimum)\b",
                             re.I)
SLICE_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    OVERALL: ("overall", "all flights", "whole evaluation set", "evaluation set",
              "every flight", "all evaluation flights"),
    ("origin", "EWR"): ("ewr", "newark"),
    ("origin", "JFK"): ("jfk", "kennedy"),
    ("origin", "LGA"): ("lga", "laguardia", "la guardia"),
    ("dep_period", "morning"): ("morning", "before 12:00", "before noon"),
    ("dep_period", "afternoon"): ("afternoon", "12:00-16:59", "12:00–16:59"),
    ("dep_period", "evening"): ("evening", "17:00 or later", "17:00 and later", "after 17:00"),
}


def slice_name(key: tuple[str, str]) -> str:
    return "overall" if key == OVERALL else f"{key[0]} = {key[1]}"


def _metric_of(match: re.Match[str]) -> str | None:
    for i, (_, name) in enumerate(METRIC_NAMES):
        if match.group(f"m{i}"):
            return name
    return None


def slices_in(text: str) -> list[tuple[int, tuple[str, str]]]:
    """(position, slice) for every slice named in ``text``."""
    found = []
    for key, aliases in SLICE_ALIASES.items():
        for alias in aliases:
            for m in re.finditer(rf"(?<![\w-]){re.escape(alias)}(?![\w-])", text, re.I):
                found.append((m.start(), key))
    return sorted(found)


@dataclass(frozen=True)
class Quote:
    """One metric value the card states."""

    metric: str
    slice: tuple[str, str]
    text: str  # the number as written, e.g. "0.71" or "71%"
    where: str  # "the table under 'Results'" or "the sentence '...'"

    @property
    def value(self) -> float:
        number = float(re.sub(r"[^\d.]", "", self.text))
        return number / 100 if self.is_percent or number > 1 else number

    @property
    def is_percent(self) -> bool:
        return "%" in self.text or "percent" in self.text.lower() or \
            float(re.sub(r"[^\d.]", "", self.text)) > 1

    @property
    def decimals(self) -> int:
        digits = re.sub(r"[^\d.]", "", self.text)
        return len(digits.split(".")[1]) if "." in digits else 0

    def matches(self, true: float) -> bool:
        """Whether ``true`` rounds to what the card wrote, at the precision it wrote."""
        scale = 100.0 if self.is_percent else 1.0
        half = 0.5 * 10 ** (-self.decimals)
        written = self.value * scale
        return abs(true * scale - written) <= half + 1e-9

    def too_coarse(self) -> bool:
        return not self.is_percent and self.decimals < 2


def _metric_in_cell(cell: str) -> str | None:
    match = METRIC_RE.search(cell)
    return _metric_of(match) if match else None


def _slice_in_cell(cell: str) -> tuple[str, str] | None:
    found = {key for _, key in slices_in(cell)}
    return found.pop() if len(found) == 1 else None


def _table_quotes(rows: list[list[str]], where: str) -> tuple[list[Quote], list[str]]:
    header, body = rows[0], rows[1:]
    quotes: list[Quote] = []
    unknown: list[str] = []
    col_metrics = [_metric_in_cell(c) for c in header]
    row_metrics = [_metric_in_cell(r[0]) if r else None for r in body]
    if any(col_metrics[1:]):  # metrics across, one row per slice
        for row in body:
            label = row[0] if row else ""
            key = _slice_in_cell(label)
            for j, cell in enumerate(row[1:], start=1):
                metric = col_metrics[j] if j < len(col_metrics) else None
                number = NUMBER_RE.fullmatch(cell.replace("*", "").strip())
                if metric is None or number is None:
                    continue
                if key is None:
                    unknown.append(label)
                    break
                quotes.append(Quote(metric, key, number.group(0), where))
    elif any(row_metrics):  # one row per metric, slices across
        col_slices = [_slice_in_cell(c) for c in header]
        for row, metric in zip(body, row_metrics, strict=True):
            if metric is None:
                continue
            for j, cell in enumerate(row[1:], start=1):
                number = NUMBER_RE.fullmatch(cell.replace("*", "").strip())
                if number is None:
                    continue
                key = col_slices[j] if j < len(col_slices) else None
                if key is None:
                    key = OVERALL if len(header) == 2 else None
                if key is None:
                    unknown.append(header[j] if j < len(header) else "(no header)")
                    continue
                quotes.append(Quote(metric, key, number.group(0), where))
    return quotes, unknown


SENTENCE_END = re.compile(r"(?<=[.!?;]) +(?=[A-Z(])")


def _sentence_quotes(sentence: str) -> list[Quote]:
    flat = " ".join(sentence.split())
    if REFERENCE_WORDS.search(flat):
        return []
    slices = slices_in(flat)
    quotes = []
    for m in METRIC_RE.finditer(flat):
        metric = _metric_of(m)
        if metric is None:
            continue
        after = AFTER.match(flat[m.end():])
        before = BEFORE.search(flat[max(0, m.start() - 16):m.start()])
        if after:
            number, pos = after.group(1) + (after.group(2) or ""), m.end() + after.start(1)
        elif before:
            number, pos = before.group(1) + (before.group(2) or ""), m.start()
        else:
            continue
        preceding = [key for p, key in slices if p < pos]
        following = [key for p, key in slices if p > pos]
        key = preceding[-1] if preceding else following[0] if following else OVERALL
        shown = flat if len(flat) <= 110 else flat[:107] + "..."
        quotes.append(Quote(metric, key, number, f"the sentence '{shown}'"))
    return quotes


def quotes_in(blocks: list[Block], title: str) -> tuple[list[Quote], list[str]]:
    """Metric values stated in these blocks (tables and prose), and rows with no slice."""
    quotes: list[Quote] = []
    unknown: list[str] = []
    for block in blocks:
        if block.kind == "heading":
            title = block.text
        elif block.kind == "table" and len(block.rows) > 1:
            found, bad = _table_quotes([list(r) for r in block.rows],
                                       f"the table under '{title}'" if title else "a table")
            quotes += found
            unknown += bad
        elif block.kind == "text":
            for sentence in SENTENCE_END.split(block.text):
                quotes += _sentence_quotes(sentence[:MAX_SENTENCE_CHARS])
    return quotes, unknown


def quoted_metrics(card: Card) -> tuple[list[Quote], list[str]]:
    """Every metric value the card states, and table rows whose slice cannot be told."""
    return quotes_in(card.blocks, "")


def slice_quotes(section: Section, key: tuple[str, str],
                 measured: Evaluation) -> list[Quote]:
    """The values this section states for one slice that match the grader's evaluation."""
    quotes, _ = quotes_in(section.blocks, section.title)
    return [q for q in quotes if q.slice == key and q.matches(measured.results[key][q.metric])]


# -- "how well, in plain words" ----------------------------------------------------------------

PLAIN_FIGURE = re.compile(  # "39%", "39 percent", "7 in 10", "4 out of 10", "0.71"
    r"(?<![\w.])(\d{1,3}(?:\.\d{1,3})?) ?(?:%|percent\b)"
    r"|(?<![\w.])(\d{1,3}) (?:times )?(?:in|out of|of every|in every) (10|100)\b"
    r"|(?<![\w.])(0?\.\d{2,3})(?![\d.])", re.I)


def plain_figures(text: str, measured: Evaluation) -> tuple[list[str], list[str]]:
    """(figures that state an overall result, every figure) in a plain-words text.

    A result is one of the overall metrics, or its complement in everyday terms (the share of
    flags that are false alarms, the share of late flights missed), at the precision written.
    """
    overall = measured.results[OVERALL]
    truths = [*overall.values(), 1 - overall["precision"], 1 - overall["recall"]]
    matched, every = [], []
    for m in PLAIN_FIGURE.finditer(text[:20_000]):
        every.append(m.group(0))
        if m.group(1):
            decimals = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
            value, half = float(m.group(1)) / 100, 0.5 * 10 ** -decimals / 100
        elif m.group(2):
            value, half = int(m.group(2)) / int(m.group(3)), 0.5 / int(m.group(3))
        else:
            decimals = len(m.group(4).split(".")[1])
            value, half = float(m.group(4)), 0.5 * 10 ** -decimals
        if any(abs(t - value) <= half + 1e-9 for t in truths):
            matched.append(m.group(0))
    return matched, every


def names_slice(text: str, key: tuple[str, str]) -> bool:
    """Whether ``text`` names the slice (by its value or an alias)."""
    return any(k == key for _, k in slices_in(text))
