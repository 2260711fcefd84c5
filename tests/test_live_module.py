"""load() in a notebook: edits show without re-running the first cell; unwritten is not fatal."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from grader.learner.live_module import LiveModule, NotWritten
from grader.learner.run_all import _reset, _WrapCell


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = path.stat().st_mtime_ns + 1_000_000_000  # a later edit, whatever the clock's grain
    os.utime(path, ns=(stamp, stamp))


def test_an_edit_is_seen_without_loading_again(tmp_path: Path) -> None:
    module = tmp_path / "cleaning.py"
    _write(module, "def answer():\n    return 1\n")
    live = LiveModule(module, "learner_live_test")
    first = live.answer
    assert first() == 1
    _write(module, "def answer():\n    return 2\n")
    assert live.answer() == 2  # the same object, the new code


def test_an_unwritten_function_says_so_and_returns_a_placeholder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "cleaning.py"
    _write(module, "def dedupe(df):\n    raise NotImplementedError\n")
    got = LiveModule(module, "learner_live_test2").dedupe([1])
    assert isinstance(got, NotWritten) and not got and len(got) == 0
    assert "not written yet: dedupe() in cleaning.py" in capsys.readouterr().out
    assert got.head()["x"] is got  # what a notebook does next does not raise


def test_a_wrapped_cell_still_shows_its_last_value_and_real_errors() -> None:
    def run(source: str) -> dict[str, object]:
        tree = _WrapCell().visit(ast.parse(source))
        namespace: dict[str, object] = {}
        exec(compile(tree, "<cell>", "exec"), namespace)
        return namespace

    _reset()  # what the kernel does before each cell
    assert run("x = 2\nx * 21")["__grader_last__"] == 42
    with pytest.raises(ZeroDivisionError):  # nothing unwritten here: the error is the learner's
        run("1 / 0")
