"""Hostile names and text never reach the instructor or the learner raw: terminal escapes, rich
markup, HTML and spreadsheet formulas in learner output, messages and student ids are shown as
written, everywhere they are shown; honest text is unchanged."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from grader.engine import fingerprint
from grader.engine.course import Course
from grader.engine.results import ExerciseResult, RunResult, TestResult
from grader.instructor.export import export
from grader.instructor.gradebook import Grade, Gradebook
from grader.reports import terminal
from grader.reports.classroom import report as classroom_report
from grader.reports.gradescope_results import to_gradescope
from grader.reports.html_page import run_html
from grader.reports.safe_text import csv_cell, html, markdown, shown, shown_line

FIXTURE = Path(__file__).parent / "fixtures" / "course"
REL = "01_programming/01_tiny-stats"

CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
TITLE = "\x1b]0;pwned\x07"  # set the window title
CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x1b\\"  # OSC 52: write the clipboard
C1_CSI = "\x9b2J"  # the one-byte CSI
FAKE_TOTAL = "\rTotal: 35/35 points"  # overwrite the line with a fake summary
BIDI = "\u202eexe.txt"  # right-to-left override
MARKUP = "[dim]zz-ref"  # rich markup: renders as a second 'zz-ref' when read as markup
LINK = "[link=file:///etc/passwd]click[/link]"
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=HYPERLINK(\"http://evil\",\"x\")"
HOSTILE = [CLEAR, TITLE, CLIPBOARD, C1_CSI, FAKE_TOTAL, BIDI, MARKUP, LINK, SCRIPT, FORMULA]
RAW = ("\x1b", "\x9b", "\x07", "\u202e", "\r")  # none of these may reach an output


def _assert_nothing_raw(out: str) -> None:
    for char in RAW:
        assert char not in out, (char, out[:2000])


# -- the one module ------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", HOSTILE)
def test_shown_makes_every_control_visible(payload: str) -> None:
    for made in (shown(payload), shown_line(payload), html(payload), csv_cell(payload),
                 markdown(payload)):
        _assert_nothing_raw(made)
    assert shown("\x1b[2J") == "\\x1b[2J" and shown("\x9b") == "\\x9b"
    assert shown("\u202e") == "\\u202e" and shown_line("a\nb\tc") == "a\\x0ab\\x09c"


def test_honest_text_is_unchanged() -> None:
    honest = "median([5, 1, 3]) returned 1; expected the middle value.\n\tTry sorted() — ünïcödé"
    assert shown(honest) == honest
    assert shown("a\r\nb") == "a\nb"  # Windows line ends are lines, not carriage returns
    assert shown_line("Jos\u00e9 Garc\u00eda") == "Jos\u00e9 Garc\u00eda"
    assert html("a < b & c") == "a &lt; b &amp; c"


@pytest.mark.parametrize(("cell", "safe"), [
    ("=1+1", "'=1+1"), ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"), ("@SUM(A1)", "'@SUM(A1)"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"), ("\t=1", "'\\x09=1"),
    ("\r=1", "'\\x0d=1"), ("  =1", "'  =1"), (FORMULA, "'" + FORMULA),
    # numbers stay numbers; ordinary text is untouched
    ("-3", "-3"), ("+4", "+4"), ("6", "6"), ("2.5", "2.5"), ("-1e3", "-1e3"), ("", ""),
    ("Aberg, Ann", "Aberg, Ann"), ("    Points Possible", "    Points Possible"),
])
def test_csv_cells_are_neutralised_as_owasp_recommends(cell: str, safe: str) -> None:
    assert csv_cell(cell) == safe


# -- the learner's terminal report ----------------------------------------------------------------

def _hostile_run() -> RunResult:
    tests = [TestResult(name=f"test_{i}[{MARKUP}]", task=MARKUP, status="failed", score=0,
                        max_score=1, message=f"your function said {payload}",
                        output=f"printed {payload}\nsecond line")
             for i, payload in enumerate(HOSTILE)]
    tests.append(TestResult(name="test_mean_small", task="mean", status="passed", score=2,
                            max_score=2, message="mean() is right"))
    crashed = ExerciseResult("tiny-stats", "Tiny statistics", "programming",
                             message=f"the worker crashed: {CLEAR}{TITLE}{FAKE_TOTAL}\n"
                             "Total: 35/35 points  (seed 1, isolation A)\nnext: well done")
    return RunResult([ExerciseResult("tiny-stats", "Tiny statistics", "programming", tests=tests),
                      crashed], {"seed": 1, "isolation": "C"})


@pytest.mark.parametrize("colours", [None, "truecolor"])
def test_terminal_report_shows_hostile_text_escaped(colours: str | None) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system=colours,  # type: ignore[arg-type]
                      width=200, highlight=False)
    terminal.render(_hostile_run(), verbose=True, console=console)
    out = buffer.getvalue()
    if colours is None:
        assert "\x1b" not in out  # no colour asked for: not one escape sequence at all
    for payload in (CLEAR, TITLE, CLIPBOARD, C1_CSI, "\x07", "\u202e", "\r"):
        assert payload not in out
    assert "\\x1b[2J" in out and "\\x1b]0;pwned\\x07" in out and "\\u202e" in out
    assert out.count(MARKUP) >= len(HOSTILE)  # shown as written, never read as markup
    assert "file:///etc/passwd" in out and "\x1b]8;" not in out  # no hyperlink made
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)  # rich's own colours, for reading lines
    totals = [line for line in plain.splitlines() if line.startswith("Total:")]
    assert totals == ["Total: 2/12 points  (seed 1, isolation C)"]  # the real one, only
    nexts = [line for line in plain.splitlines() if line.startswith("next:")]
    assert nexts == ["next: continue tiny-stats - see its README"]  # the injected one indented
    assert "test_mean_small" in plain and "2/2" in plain  # the honest row is still there


def test_json_results_hold_no_raw_control() -> None:
    from grader.reports.json_results import to_json

    text = to_json(_hostile_run())
    _assert_nothing_raw(text)
    assert RunResult.from_dict(json.loads(text)).exercises[1].message.startswith(
        f"the worker crashed: {CLEAR}")  # escaped by JSON, read back as written


def test_next_step_line_is_escaped() -> None:
    buffer = io.StringIO()
    run = RunResult([ExerciseResult("tiny-stats", "Tiny statistics", "programming",
                                    message=f"{CLEAR}fake{TITLE}")], {})
    terminal.render(run, console=Console(file=buffer, force_terminal=True, color_system=None))
    _assert_nothing_raw(buffer.getvalue())
    assert "next: tiny-stats could not be graded: \\x1b[2J" in buffer.getvalue()


# -- a class gradebook full of hostile ids --------------------------------------------------------

IDS = [MARKUP, f"eve{CLEAR}", f"mal{TITLE}", SCRIPT, "javascript:alert(1)", "=cmd|'/C calc'!A0",
       "index", "Index", "honest"]


def _result(student: str) -> ExerciseResult:
    return ExerciseResult("tiny-stats", "Tiny statistics", "programming", tests=[
        TestResult("test_mean_small", "mean", "passed", 2, 2),
        TestResult("test_median_odd", "median", "failed", 0, 2,
                   message=f"rejected {SCRIPT}.py and {student}: {CLEAR}{BIDI}",
                   output=f"{TITLE}{CLIPBOARD}<img src=x onerror=alert(1)>")])


@pytest.fixture
def gradebook(tmp_path: Path) -> Iterator[Gradebook]:
    gb = Gradebook(tmp_path / "gradebook.sqlite")
    for student in IDS:
        ex = _result(student)
        gb.record(Grade(student=student, exercise=ex.id, score=ex.score, max_score=ex.max_score,
                        status=ex.status, result=ex.to_dict(), submission_hash="s",
                        course_hash="c", grader=fingerprint.engine_version(),
                        environment=fingerprint.environment(),
                        env_hash=fingerprint.environment_hash(), seed=1, duration=0.1))
    yield gb
    gb.close()


@pytest.fixture(scope="module")
def course() -> Course:
    return Course.load(FIXTURE)


def test_gradebook_command_prints_ids_as_written(gradebook: Gradebook, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    gradebook.close()
    assert main(["--course", str(FIXTURE), "gradebook", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    _assert_nothing_raw(out)
    assert MARKUP in out  # one row, shown as written: markup would have hidden '[dim]'
    assert "eve\\x1b[2J\\x1b[H" in out and "honest" in out
    assert main(["--course", str(FIXTURE), "gradebook", str(tmp_path), "--stale"]) == 0
    stale = capsys.readouterr().out
    _assert_nothing_raw(stale)
    assert f"{MARKUP}/tiny-stats" in stale


def test_csv_export_neutralises_hostile_ids(course: Course, gradebook: Gradebook,
                                            tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    export(course, gradebook, csv_path=path)
    raw = path.read_text(encoding="utf-8")
    _assert_nothing_raw(raw.replace("\r\n", "\n"))
    rows = list(csv.reader(io.StringIO(raw)))
    for row in rows:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r") or \
                re.fullmatch(r"[+-]?[0-9.]+", cell), cell
    students = {r[0]: r for r in rows[2:]}
    assert "'=cmd|'/C calc'!A0" in students  # neutralised, and still recognisable
    assert students["honest"][5:] == ["2", "2"]  # honest rows unchanged: numbers stay numbers
    assert raw.splitlines()[0].startswith('"Student","ID"')  # every cell quoted


def test_feedback_pages_escape_everything(course: Course, gradebook: Gradebook,
                                          tmp_path: Path) -> None:
    report = export(course, gradebook, feedback_dir=tmp_path / "pages")
    pages = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "pages").iterdir()}
    assert len(pages) == len(IDS) + 1  # one each, none overwritten, and the index
    assert {"index.html", "Index-2.html", "index-3.html", "honest.html"} <= set(pages)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.html", name) for name in pages)
    for name, page in pages.items():
        _assert_nothing_raw(page)
        assert "<script" not in page.lower() and "<img" not in page.lower(), name
    index = pages["index.html"]
    hrefs = re.findall(r'href="([^"]*)"', index)
    assert len(hrefs) == len(IDS) and all(h.startswith("./") for h in hrefs)  # never javascript:
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    honest = pages["honest.html"]
    assert "feedback for honest" in honest and "&lt;script&gt;alert(1)&lt;/script&gt;.py" in honest
    assert any("not a safe file name" in w for w in report.warnings)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)


def test_notebook_html_has_no_learner_tags() -> None:
    page = run_html(_hostile_run(), next_line=f"next: {SCRIPT}")
    parser = _Tags()
    parser.feed(page)
    assert parser.tags <= {"div", "h4", "p", "span", "table", "thead", "tbody", "tr", "th", "td",
                           "br", "details", "summary", "pre", "em", "strong"}
    _assert_nothing_raw(page)


def test_gradescope_json_declares_plain_text(course: Course, gradebook: Gradebook,
                                             tmp_path: Path) -> None:
    export(course, gradebook, gradescope_dir=tmp_path / "gs")
    folders = sorted(p.name for p in (tmp_path / "gs").iterdir())
    assert len(folders) == len(IDS) and all(re.fullmatch(r"[A-Za-z0-9._-]+", f) for f in folders)
    for folder in folders:
        data = json.loads((tmp_path / "gs" / folder / "results.json").read_text())
        # Gradescope renders html/simple_format/md/ansi; "text" renders nothing
        assert data["output_format"] == data["test_output_format"] == "text"
        assert data["test_name_format"] == "text"
        for test in data["tests"]:
            assert test["output_format"] == test["name_format"] == "text"
            _assert_nothing_raw(test["output"] + test["name"])
        _assert_nothing_raw(data["output"])
    run = _hostile_run()
    data = to_gradescope(run)
    assert any("\\x1b]52;c;" in t["output"] for t in data["tests"])  # shown, not sent


def test_classroom_summary_is_plain_markdown(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    evil = f"x | [a](javascript:alert(1)) <img src=x onerror=alert(1)>{CLEAR}\n| fake | row |"
    classroom_report([(evil, 1.0, 2.0, "failed"), ("tiny-stats", 2.0, 2.0, "passed")],
                     say=lambda _: None)
    text = summary.read_text()
    _assert_nothing_raw(text)
    lines = text.splitlines()
    assert len(lines) == 5  # header, rule, two rows, total: no injected row
    assert all(line.count("|") - line.count("\\|") == 4 for line in lines)
    assert not re.search(r"(?<!\\)[<\[\]]", text.replace("**", ""))  # every one escaped


# -- instructor commands that print learner names -------------------------------------------------

def test_collect_command_prints_names_escaped(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    bulk = tmp_path / "bulk.zip"
    with zipfile.ZipFile(bulk, "w") as archive:
        archive.writestr(f"honest/{REL}/stats.py", "def mean(v):\n    return 0\n")
        archive.writestr(f"mallory/../{TITLE}{MARKUP}.py", "x")  # climbs out: rejected, listed
        archive.writestr(f"mallory/{REL}/stats.py", b"\x1b" * 10)
    assert main(["--course", str(FIXTURE), "collect", str(bulk), str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    _assert_nothing_raw(captured.out + captured.err)
    assert "\\x1b]0;pwned\\x07[dim]zz-ref.py" in captured.out
