"""Untrusted text (learner output, messages, student ids, file names) made safe to show.

Terminal: control characters (C0, DEL, C1: ESC, CSI, OSC...), bidi overrides and line
separators become visible escapes such as ``\\x1b``, and rich never reads the text as markup.
HTML: the same, then every character HTML gives a meaning is escaped. CSV: a cell that a
spreadsheet would run as a formula is neutralised as OWASP recommends. Markdown: every
punctuation character is backslash-escaped. Each function is one linear pass.
"""

from __future__ import annotations

import html as _html
import re

from rich.text import Text

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_SEPARATORS = (0x2028, 0x2029, 0x0085)


def _escapes(keep: str) -> dict[int, str]:
    table = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))}
    table.update({c: f"\\u{c:04x}" for c in (*_BIDI, *_SEPARATORS)})
    table.update({c: f"\\u{c:04x}" for c in range(0xD800, 0xE000)})  # undecodable bytes
    for char in keep:
        del table[ord(char)]
    return table


_BLOCK = _escapes("\n\t")  # messages and printed output keep their lines and tabs
_LINE = _escapes("")  # ids, names, table cells: one line, whatever they hold


def shown(text: str) -> str:
    """Text for a terminal or page: lines and tabs kept, every other control made visible."""
    return text.replace("\r\n", "\n").translate(_BLOCK)


def shown_line(text: str) -> str:
    """One line for a terminal or page: newlines and tabs made visible too."""
    return text.translate(_LINE)


def shortened(text: str, limit: int = 60) -> str:
    """``shown_line`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    line = shown_line(text[: limit * 2])
    return line if len(line) <= limit else line[: limit - 1] + "…"


def text(value: str, style: str = "", line: bool = False) -> Text:
    """A rich ``Text`` (never parsed as markup) of untrusted text."""
    return Text(shown_line(value) if line else shown(value), style=style)


def html(value: str, line: bool = False) -> str:
    """Untrusted text as HTML character data or a quoted attribute value."""
    return _html.escape(shown_line(value) if line else shown(value), quote=True)


# OWASP "CSV Injection": these first characters make a spreadsheet read a cell as a formula
_FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def csv_cell(value: str) -> str:
    """A CSV cell no spreadsheet runs: a formula-like start gets a leading ``'``; numbers stay."""
    if _NUMBER.fullmatch(value):
        return value
    first = value.lstrip(" ")[:1]
    if first in _FORMULA_START and first:
        value = "'" + value
    return shown_line(value)


_MARKDOWN = {ord(c): "\\" + c for c in "\\`*_{}[]<>()#+-.!|~&\"'=:"}


def markdown(value: str) -> str:
    """One line of Markdown that shows ``value`` as written: no links, tags, tables or code."""
    return shown_line(value).translate(_MARKDOWN)
