"""Token fingerprints of one learner file: a real lexer, normalised tokens, k-gram winnowing.

Winnowing as in MOSS (Schleimer, Wilkerson and Aiken, SIGMOD 2003): hash every run of ``K``
normalised tokens, keep the smallest hash of each window of ``W`` consecutive hashes. Any
shared run of at least ``K + W - 1`` tokens is then guaranteed to share a fingerprint, and
runs shorter than ``K`` never do. Tokens come from Pygments, so a string that contains code, a
comment that contains a string, or a hostile file never confuses what counts as a name.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from functools import cache

from pygments.lexer import Lexer
from pygments.token import (
    Comment,
    Literal,
    Name,
    Number,
    String,
    Text,
    Whitespace,
    _TokenType,
)

K = 12  # tokens per k-gram: shorter shared runs are noise (``x = x + 1``)
W = 8  # winnowing window: any shared run of K + W - 1 = 19 tokens is found
MAX_TEXT_BYTES = 256 * 1024  # a learner file above this is skipped with a note
MAX_TOKENS = 60_000  # a file that lexes into more tokens than this is cut there
# Pygments' regex lexers are not linear on every input (a Markdown file of newlines, an open
# string in R: quadratic), so lexing one file stops at this deadline and the part lexed counts.
LEX_SECONDS = 2.0
_MOD = (1 << 61) - 1
_BASE = 1_000_003
# Names a learner does not choose (builtins, exceptions, modules, YAML keys) stay as written.
_KEPT_NAMES = (Name.Builtin, Name.Exception, Name.Namespace, Name.Tag)
_PROSE = "prose"


@dataclass
class Fingerprints:
    """The winnowed fingerprints of one file: hash -> character spans of the k-grams it marks."""

    tokens: int = 0
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    cut: str = ""  # why only a first part of the file was lexed, if it was

    @property
    def hashes(self) -> set[int]:
        """The distinct fingerprints."""
        return set(self.spans)


@cache
def _lexer(kind: str) -> Lexer | None:
    """One lexer instance per language (Pygments lexers are reusable and stateless)."""
    from pygments import lexers

    made: dict[str, type[Lexer]] = {
        "python": lexers.PythonLexer, "sql": lexers.SqlLexer,
        "javascript": lexers.JavascriptLexer, "r": lexers.SLexer, "yaml": lexers.YamlLexer,
        "docker": lexers.DockerLexer, "markdown": lexers.MarkdownLexer, _PROSE: lexers.TextLexer,
    }
    return made[kind](stripnl=False, ensurenl=False) if kind in made else None


def language(name: str) -> str | None:
    """The lexer a file name calls for; None for data files compared as artefacts (JSON, models)."""
    lower = name.rsplit("/", 1)[-1].lower()
    suffix = lower.rsplit(".", 1)[-1] if "." in lower else ""
    if lower == "dockerfile" or lower.startswith("dockerfile.") or suffix == "dockerfile":
        return "docker"
    by_suffix = {"py": "python", "sql": "sql", "js": "javascript", "mjs": "javascript",
                 "cjs": "javascript", "r": "r", "yaml": "yaml", "yml": "yaml",
                 "md": "markdown", "json": None, "safetensors": None, "onnx": None,
                 "skops": None}
    return by_suffix.get(suffix, _PROSE)


@cache
def _category(ttype: _TokenType) -> str:
    """What a token type becomes: dropped, a number, a literal, a name, words, or itself."""
    if ttype in Comment or ttype in Whitespace:
        return "drop"
    if ttype in Number:
        return "0"
    if ttype in String or ttype in Literal:
        return "S"
    if ttype in Name and not any(ttype in kept for kept in _KEPT_NAMES):
        return "N"
    return "words" if ttype in Text else "keep"


def _words(value: str, start: int) -> list[tuple[str, int, int]]:
    """Whitespace-separated words of a prose token, lowercased, numbers masked."""
    out: list[tuple[str, int, int]] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i].isspace():
            i += 1
        j = i
        while j < n and not value[j].isspace():
            j += 1
        if j > i:
            word = value[i:j].lower()
            out.append(("0" if any(c.isdigit() for c in word) else word, start + i, start + j))
        i = j
    return out


def normalised_tokens(text: str, kind: str,
                      why_cut: list[str] | None = None) -> list[tuple[str, int, int]]:
    """(token, start, end): comments and whitespace dropped, names and literals replaced.

    Stops at MAX_TOKENS tokens or after LEX_SECONDS, saying why in ``why_cut``."""
    lexer = _lexer(kind)
    if lexer is None:
        return []
    prose = kind in ("markdown", _PROSE)
    out: list[tuple[str, int, int]] = []
    deadline = time.monotonic() + LEX_SECONDS
    for start, ttype, value in lexer.get_tokens_unprocessed(text):
        if len(out) >= MAX_TOKENS or time.monotonic() > deadline:
            if why_cut is not None:
                why_cut.append(f"more than {MAX_TOKENS} tokens" if len(out) >= MAX_TOKENS
                               else f"lexing took over {LEX_SECONDS:g} s")
            break
        category = _category(ttype)
        if category == "drop" or not value or value.isspace():
            continue
        end = start + len(value)
        if prose or category == "words":  # prose, or a Dockerfile's shell words
            out += _words(value, start)
        elif category == "S":
            if out and out[-1][0] == "S" and text[out[-1][2]:start].strip() == "":
                out[-1] = ("S", out[-1][1], end)  # "a", 'b{c}' and f-strings: one literal
            else:
                out.append(("S", start, end))
        elif category in ("0", "N"):
            out.append((category, start, end))
        else:
            out.append((value.lower(), start, end))  # keywords, operators, kept names
    return out


@cache
def _token_id(token: str) -> int:
    return zlib.crc32(token.encode("utf-8", "replace")) + 1


def winnow(tokens: list[tuple[str, int, int]], k: int = K, w: int = W) -> Fingerprints:
    """Robust winnowing: the rightmost smallest k-gram hash of each window of ``w`` hashes."""
    found = Fingerprints(tokens=len(tokens))
    if len(tokens) < k:
        return found
    ids = [_token_id(t) for t, _, _ in tokens]
    top = pow(_BASE, k - 1, _MOD)
    grams: list[int] = []
    h = 0
    for i, value in enumerate(ids):
        if i >= k:
            h = (h - ids[i - k] * top) % _MOD
        h = (h * _BASE + value) % _MOD
        if i >= k - 1:
            grams.append(h)
    last = -1
    for left in range(max(1, len(grams) - w + 1)):
        window = grams[left:left + w]
        low = min(window)
        pick = left + max(i for i, g in enumerate(window) if g == low)
        if pick != last:
            last = pick
            span = (tokens[pick][1], tokens[pick + k - 1][2])
            found.spans.setdefault(low, []).append(span)
    return found


def fingerprint(text: str, name: str) -> Fingerprints:
    """The fingerprints of a file's text; empty for files compared as artefacts instead."""
    kind = language(name)
    if not kind:
        return Fingerprints()
    why: list[str] = []
    found = winnow(normalised_tokens(text, kind, why))
    if why:
        found.cut = f"{why[0]}: only the first {found.tokens} tokens were compared"
    return found
