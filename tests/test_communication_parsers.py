"""The communication exercises' judges read hostile text in bounded time, and read it right.

The model card and the manager summary are parsed with markdown-it-py and a few bounded
patterns; the debug-the-pipeline diagnosis with plain substring search. Each hostile input below
once made (or could make) a backtracking regular expression run for minutes. They run in a
subprocess with a generous hard timeout, so a regression fails (or hangs no longer than that)
without any timing assertion in the test itself.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMS = ROOT / "exercises" / "07_communication"
MODEL_CARD = COMMS / "01_model-card"
SUMMARY = COMMS / "02_manager-summary"
DEBUG = COMMS / "03_debug-the-pipeline"
HARD_TIMEOUT_S = 300  # far above the few seconds this takes; only a runaway parser reaches it


def _support(folder: Path) -> ModuleType:
    name = f"_comms_support_{folder.name.replace('-', '_')}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, folder / "tests" / "support.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Each is at most the size the judges accept (64 KB) unless it says otherwise.
HOSTILE = {
    "blank lines under a heading (255,000, past the cap)": "# Summary\n" + "\n" * 255_000 + "x",
    "blank lines under a heading (at the cap)": "# Summary\n" + "\n" * 64_000 + "x",
    "many code fences": "```\n" * 16_000,
    "indented fences with blank runs": (" ```x\n" + "\n" * 50) * 1_200,
    "unclosed comments": "<!--" * 16_000,
    "comment openers in a paragraph": "a <!-- b " * 7_000,
    "pipes": "|" * 64_000,
    "pipe-less table rows": "a | b\n--- | ---\n" + "1 | 2\n" * 10_000,
    "brackets": "[" * 64_000,
    "fill-in brackets": "[fill " * 10_000,
    "angle placeholders": "<your " * 10_000,
    "template braces": "{{" * 32_000,
    "digit run": "1" * 64_000,
    "dollar amounts": "$1," * 20_000,
    "amount with no unit": "1,000,000 " * 6_000,
    "emphasis": "*" * 64_000,
    "nested emphasis": "*a _b " * 10_000,
    "metric names": "accuracy " * 7_000,
    "metric names with dots": "accuracy 0." * 5_500,
    "recall percent": "recall 1% " * 6_000,
    "in-ten figures": "7 in 10 " * 8_000,
    "recommendation labels": "Recommendation: " * 4_000,
    "spaces then text": " " * 64_000 + "x",
    "nested quotes": "> " * 30_000 + "x",
    "nested lists": "- " * 30_000 + "x",
    "long link": "[a](" + "(" * 60_000,
    "jargon with parentheses": "recall (" * 8_000,
    "line citations": "line 1, " * 8_000,
}


def _hostile_run(names: list[str]) -> str:
    """A script that puts every judge's reader through the named inputs and prints 'done'."""
    return textwrap.dedent(f"""
        import importlib.util, sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_communication_parsers import HOSTILE, _support
        card, summ, debug = (_support(Path(p)) for p in
                             ({str(MODEL_CARD)!r}, {str(SUMMARY)!r}, {str(DEBUG)!r}))
        measured = card.evaluation(Path({str(MODEL_CARD)!r}))
        bug = debug.Bug(("split",), ("unseeded-split",), ("train_test_split",), (52,))
        for name in {names!r}:
            text = HOSTILE[name]
            parsed = card.parse(text)
            card.quoted_metrics(parsed)
            card.placeholders(parsed)
            for section in parsed.sections:
                card.plain_figures(section.body, measured)
                card.slices_in(section.body)
                card.slice_quotes(section, measured.worst_slice, measured)
            card.plain_figures(card.plain_text(text), measured)
            summ.money_amounts(text)
            summ.jargon_problems(text)
            summ.recommendations(text)
            summ.TODO.search(summ.visible_source(text))
            summ.word_count(summ.plain_text(text))
            debug.points_at(text, bug)
            debug.entry_problems({{"location": "split", "root_cause": "unseeded-split",
                                  "evidence": text}}, 1)
        print("done")
    """)


@pytest.mark.parametrize("names", [sorted(HOSTILE)[i::2] for i in range(2)],
                         ids=["half1", "half2"])
def test_hostile_text_is_read_in_bounded_time(names: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", _hostile_run(names)], capture_output=True,
                          text=True, timeout=HARD_TIMEOUT_S, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("done")


class _FakeSubmission:
    """Just enough of the proxy for the readers: a harness to start, one file to read."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.harness = SimpleNamespace(ready=lambda: [])

    def read_file(self, rel: str, max_bytes: int) -> bytes:
        assert len(self.data) <= max_bytes
        return self.data


def test_oversized_card_gets_a_clear_message() -> None:
    card = _support(MODEL_CARD)
    hostile = ("# Summary\n" + "\n" * 255_000 + "text").encode()
    with pytest.raises(AssertionError, match=r"at most 64 KB"):
        card.read_card(_FakeSubmission(hostile))


def test_oversized_summary_gets_a_clear_message() -> None:
    summ = _support(SUMMARY)
    with pytest.raises(AssertionError, match=r"at most 16 KB"):
        summ.read_summary(_FakeSubmission(b"word " * 20_000))


def test_oversized_diagnosis_gets_a_clear_message() -> None:
    debug = _support(DEBUG)
    with pytest.raises(AssertionError, match=r"at most 64 KB"):
        debug.read_diagnosis(_FakeSubmission(b"bugs: []\n" + b"#" * 100_000))


def test_tables_with_and_without_outer_pipes_read_alike() -> None:
    card = _support(MODEL_CARD)
    piped = "## Results\n\n| Slice | ROC AUC |\n|---|---|\n| Overall | 0.669 |\n| JFK | 0.657 |\n"
    bare = "## Results\n\nSlice | ROC AUC\n--- | ---\nOverall | 0.669\nJFK | 0.657\n"

    def read(text: str) -> set[tuple[str, tuple[str, str], str]]:
        quotes, unknown = card.quoted_metrics(card.parse(text))
        assert not unknown
        return {(q.metric, q.slice, q.text) for q in quotes}

    assert read(piped) == read(bare) == {("roc_auc", card.OVERALL, "0.669"),
                                         ("roc_auc", ("origin", "JFK"), "0.657")}


def test_comments_and_code_are_not_read_as_the_card() -> None:
    card = _support(MODEL_CARD)
    text = ("# Summary\n\n<!-- TODO: accuracy 0.99 -->\nShown words here.\n\n"
            "```\nTODO recall 0.99\n```\n")
    parsed = card.parse(text)
    assert card.quoted_metrics(parsed) == ([], [])
    assert card.placeholders(parsed) == [(7, "TODO", "TODO recall 0.99")]  # code is visible
    assert parsed.sections[0].body == "Shown words here."


def _bars(alpha: float, values: list[float]) -> dict[str, Any]:
    rects = [{"rect": [i - 0.4, 0.0, 0.8, v], "visible": True, "face_alpha": alpha,
              "edge_alpha": alpha, "linewidth": 0.0} for i, v in enumerate(values)]
    return {"orientation": "vertical", "count": len(values), "rects": rects, "label": ""}


def _axes(**parts: Any) -> dict[str, Any]:
    ax = {"xlim": [-0.6, 1.6], "ylim": [0.0, 3400.0], "bars": [], "points": [], "lines": [],
          "xticklabels": [{"text": "Rules"}, {"text": "Model"}], "yticklabels": [],
          "bar_series": 0, "line_series": 0, "scatters": 0, "areas": 0}
    ax.update(parts)
    return ax


def test_only_visible_marks_show_values() -> None:
    summ = _support(SUMMARY)
    shown, total = summ.visible_marks(_axes(bars=[_bars(0.0, [2772.0, 1416.0])]))
    assert (shown, total) == ([], 2)
    shown, _ = summ.visible_marks(_axes(bars=[_bars(1.0, [2772.0, 1416.0])]))
    assert [m.value[1] for m in shown] == [2772.0, 1416.0]
    off_axes = _axes(bars=[_bars(1.0, [2772.0, 9999.0])])
    assert [m.value[1] for m in summ.visible_marks(off_axes)[0]] == [2772.0]


def test_a_horizontal_dot_chart_shows_its_values() -> None:
    summ = _support(SUMMARY)
    points = {"count": 2, "visible": True, "in_data_coords": True, "x": [2772.0, 1416.0],
              "y": [0.0, 1.0], "sizes": [200.0, 0.0], "face_alpha": [1.0, 1.0],
              "edge_alpha": [1.0, 1.0], "linewidths": [1.0, 1.0]}
    ax = _axes(points=[points], xlim=[0.0, 3400.0], ylim=[-0.5, 1.5],
               xticklabels=[{"text": "0"}, {"text": "2,000"}],
               yticklabels=[{"text": "Rules"}, {"text": "Model"}], scatters=1)
    assert summ.value_axis(ax) == "x"
    shown, _ = summ.visible_marks(ax)
    assert [m.value for m in shown] == [(2772.0,)]  # the size-0 point shows nothing


def test_diagnosis_evidence_must_point_at_the_code() -> None:
    debug = _support(DEBUG)
    bug = debug.Bug(("split",), ("unseeded-split",), ("train_test_split", "random_state"),
                    (52,))
    assert not debug.points_at("The random split ignores the seed, so runs differ.", bug)
    assert debug.points_at("train_test_split got no random_state: 0.771 then 0.791", bug)
    assert debug.points_at("Line 52 split without a seed: two runs gave 0.77 and 0.79", bug)
    assert not debug.points_at("Line 36 split without a seed: two runs differ", bug)
    problems = debug.entry_problems({"location": "split", "root_cause": "unseeded-split",
                                     "evidence": "The random split ignores the seed, so runs "
                                                 "cannot be reproduced by anybody."}, 1)
    assert problems and "nothing a reader can check" in problems[0]


def _laughs(levels: int) -> str:
    """A diagnosis whose evidence is a list nested through YAML aliases (10**levels leaves)."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append("bugs:")
    for place in ("attach_labels", "split", "prepare", "train", "evaluate"):
        lines += [f"  - location: {place}", "    root_cause: data-leakage",
                  f"    evidence: *a{levels - 1}"]
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_in_a_diagnosis_is_read_in_bounded_time() -> None:
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_communication_parsers import _FakeSubmission, _laughs, _support
        debug = _support(Path({str(DEBUG)!r}))
        diagnosis = debug.read_diagnosis(_FakeSubmission(_laughs(9).encode()))
        rows = debug.entries(diagnosis)
        problems = [p for i, e in enumerate(rows, 1) for p in debug.entry_problems(e, i)]
        assert len(problems) == 5, problems
        bug = debug.Bug(("split",), ("unseeded-split",), ("train_test_split",), (52,))
        assert debug.names_bug(diagnosis, bug)[0] is False
        print("done")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=HARD_TIMEOUT_S, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("done")
