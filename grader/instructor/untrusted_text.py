"""Learner-controlled text made safe for where it goes: a terminal or a spreadsheet cell."""

from __future__ import annotations

import unicodedata

_HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")  # controls, bidi overrides, separators
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def for_terminal(text: str, limit: int = 60) -> str:
    """Control, format and separator characters shown escaped; cut to ``limit`` characters."""
    out = [ascii(ch)[1:-1] if unicodedata.category(ch) in _HIDDEN else ch
           for ch in text[: limit * 2]]
    joined = "".join(out)
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def for_csv_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (a leading ' neutralises it)."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text
