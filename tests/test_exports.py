"""Exports checked against their formats: LMS CSV, Gradescope JSON and autograder, feedback pages,
GitHub Classroom points, nbgrader's gradebook."""

from __future__ import annotations

import base64
import csv
import io
import json
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from grader.engine import fingerprint
from grader.engine.course import Course
from grader.engine.results import ExerciseResult, RunResult, TestResult
from grader.instructor.export import export
from grader.instructor.gradebook import Grade, Gradebook
from grader.instructor.gradebook_csv import IDENTITY, POINTS_ROW, TOTAL
from grader.reports.classroom import report as classroom_report

FIXTURE = Path(__file__).parent / "fixtures" / "course"
ROOT = Path(__file__).resolve().parent.parent
REL = "01_programming/01_tiny-stats"
SECRET = "return (ordered[mid - 1] + ordered[mid]) / 2"  # a line of the reference solution

# Gradescope's results.json, from gradescope/autograder_samples docs/specs.md
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
GRADESCOPE_SCHEMA = {
    "type": "object", "required": ["tests"], "additionalProperties": False,
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number"},
        "output": {"type": "string"}, "output_format": FORMAT, "visibility": VISIBILITY,
        "test_output_format": FORMAT, "test_name_format": FORMAT,
        "stdout_visibility": VISIBILITY, "extra_data": {"type": "object"},
        "leaderboard": {"type": "array"},
        "tests": {"type": "array", "items": {
            "type": "object", "required": ["score", "max_score", "name"],
            "additionalProperties": False,
            "properties": {
                "score": {"type": "number", "minimum": 0},
                "max_score": {"type": "number", "minimum": 0},
                "status": {"enum": ["passed", "failed"]}, "name": {"type": "string"},
                "name_format": FORMAT, "number": {"type": "string"},
                "output": {"type": "string"}, "output_format": FORMAT,
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY, "extra_data": {"type": "object"}}}}}}


def _test(name: str, status: str, points: float, hidden: bool = False,
          message: str = "") -> TestResult:
    return TestResult(name=name, task=name.split("_")[1], status=status,
                      score=points if status == "passed" else 0.0, max_score=points,
                      message=message, hidden=hidden)


def _results() -> dict[str, list[ExerciseResult]]:
    full = ExerciseResult("tiny-stats", "Tiny statistics", "programming", tests=[
        _test("test_mean_small", "passed", 2), _test("test_median_odd", "passed", 2),
        _test("test_mean_hidden", "passed", 1, True),
        _test("test_median_even_hidden", "passed", 1, True)])
    partial = ExerciseResult("tiny-stats", "Tiny statistics", "programming", tests=[
        _test("test_mean_small", "passed", 2),
        _test("test_median_odd", "failed", 2, message="median([5, 1, 3]) returned 1 <script>"),
        _test("test_mean_hidden", "passed", 1, True),
        _test("test_median_even_hidden", "failed", 1, True,
              "median() was wrong on a hidden list of even length")])
    other = ExerciseResult("old-exercise", "Retired", "data", tests=[
        _test("test_x_y", "passed", 3)])
    broken = ExerciseResult("tiny-stats", "Tiny statistics", "programming",
                            message="needs docker, which this machine lacks")
    return {"ann": [full, other], "bob": [partial], "cy": [broken]}


@pytest.fixture
def gradebook(tmp_path: Path) -> Iterator[Gradebook]:
    gb = Gradebook(tmp_path / "gradebook.sqlite")
    for student, results in _results().items():
        for ex in results:
            gb.record(Grade(student=student, exercise=ex.id, score=ex.score,
                            max_score=ex.max_score or 6, status=ex.status, result=ex.to_dict(),
                            submission_hash="s", course_hash="c",
                            grader=fingerprint.engine_version(),
                            environment=fingerprint.environment(),
                            env_hash=fingerprint.environment_hash(), seed=1, duration=0.5))
    yield gb
    gb.close()


@pytest.fixture(scope="module")
def course() -> Course:
    return Course.load(FIXTURE)


def test_csv_has_the_canvas_layout(course: Course, gradebook: Gradebook, tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    report = export(course, gradebook, csv_path=path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0] == [*IDENTITY, "tiny-stats", "old-exercise", TOTAL]
    assert rows[1] == [POINTS_ROW, "", "", "", "", "6", "3", "9"]
    body = {r[0]: r for r in rows[2:]}
    assert list(body) == ["ann", "bob", "cy"]  # one row per student
    assert body["ann"][5:] == ["6", "3", "9"]
    assert body["bob"][5:] == ["3", "", "3"]  # no grade: an empty cell, not a zero
    assert body["cy"][5:] == ["0", "", "0"]
    assert body["ann"][3] == "ann"  # SIS Login ID
    assert all(len(r) == len(rows[0]) for r in rows)
    assert any("stale" in w for w in report.warnings)  # the hashes above are not current


def test_csv_follows_a_canvas_roster(course: Course, gradebook: Gradebook,
                                     tmp_path: Path) -> None:
    roster = tmp_path / "canvas.csv"
    roster.write_text(
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (101)\n"
        "    Points Possible,,,,,10\n"
        '"Young, Cy",9003,S3,cy,Sec A,7\n'
        '"Aberg, Ann",9001,S1,ann,Sec A,9\n'
        '"Doe, Dana",9004,S4,dana,Sec B,5\n', encoding="utf-8")
    path = tmp_path / "grades.csv"
    report = export(course, gradebook, csv_path=path, roster=roster)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert [r[0] for r in rows[2:]] == ["Young, Cy", "Aberg, Ann", "Doe, Dana", "bob"]
    assert rows[3][:5] == ["Aberg, Ann", "9001", "S1", "ann", "Sec A"]
    assert rows[4][5:] == ["", "", ""]  # in the roster, not graded
    assert rows[5][:5] == ["bob", "", "", "", ""]  # no login Canvas could match to someone else
    assert any("bob has no roster row" in w for w in report.warnings)


def test_gradescope_results_match_the_spec(course: Course, gradebook: Gradebook,
                                           tmp_path: Path) -> None:
    export(course, gradebook, gradescope_dir=tmp_path / "gs")
    for student in ("ann", "bob", "cy"):
        data = json.loads((tmp_path / "gs" / student / "results.json").read_text())
        jsonschema.validate(data, GRADESCOPE_SCHEMA)
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    bob = json.loads((tmp_path / "gs" / "bob" / "results.json").read_text())
    assert bob["score"] == 3 and len(bob["tests"]) == 4
    hidden = [t for t in bob["tests"] if "hidden" in t["name"]]
    assert {t["visibility"] for t in hidden} == {"after_published"}
    assert bob["tests"][1]["status"] == "failed" and "returned 1" in bob["tests"][1]["output"]
    cy = json.loads((tmp_path / "gs" / "cy" / "results.json").read_text())
    assert "needs docker" in cy["tests"][0]["output"]


class _Checker(HTMLParser):
    """Collects tags and text; fails on a tag closed that was never opened."""

    VOID = frozenset({"meta", "br", "rect", "hr", "img", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_feedback_pages(course: Course, gradebook: Gradebook, tmp_path: Path) -> None:
    export(course, gradebook, feedback_dir=tmp_path / "pages")
    assert {p.name for p in (tmp_path / "pages").iterdir()} == \
        {"ann.html", "bob.html", "cy.html", "index.html"}
    page = (tmp_path / "pages" / "bob.html").read_text()
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == []
    text = " ".join(checker.text)
    assert "Total: 3/6" in " ".join(text.split())
    assert checker.tags.count("svg") == 1 and checker.tags.count("rect") >= 7
    for skill in ("1 Programming", "4 Data handling", "7 Communication and problem solving"):
        assert skill in text
    assert "median() was wrong on a hidden list of even length" in text  # the message
    assert "<script>" not in page  # learner-derived text is escaped
    assert "Sort a copy of the values" in text  # the hint ladder, since it is not full marks
    assert SECRET not in page  # the page shows messages, never the reference
    ann = (tmp_path / "pages" / "ann.html").read_text()
    assert "Hints for tiny-stats" not in ann  # full marks: no hints needed
    index = (tmp_path / "pages" / "index.html").read_text()
    assert 'href="./bob.html"' in index


def test_classroom_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    said: list[str] = []
    run = RunResult(exercises=_results()["bob"])
    classroom_report([(ex.id, ex.score, ex.max_score, ex.status) for ex in run.exercises],
                     said.append)
    assert said[0] == "::notice title=Autograding complete::Points 3/6"
    assert json.loads(said[1].split("::", 2)[2]) == {"totalPoints": 3, "maxPoints": 6}
    key, encoded = output.read_text().strip().split("=", 1)
    payload = json.loads(base64.b64decode(encoded))
    assert key == "result" and payload["max_score"] == 6 and payload["status"] == "fail"
    assert sum(t["score"] for t in payload["tests"]) == 3
    assert "| **total** | **3/6** |" in summary.read_text()


def test_workflow_template_runs_make_grade() -> None:
    text = (ROOT / "docs" / "templates" / "github-classroom.yml").read_text()
    assert "name: Autograding Tests" in text and "run-autograding-tests:" in text
    assert "run: make grade" in text and "grader classroom" in text


def _course_with_templates(tmp_path: Path) -> Course:
    import shutil

    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    shutil.copytree(ROOT / "docs" / "templates", root / "docs" / "templates")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(ROOT / "grader", root / "grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return Course.load(root)


def test_gradescope_autograder_zip(tmp_path: Path) -> None:
    from grader.instructor.gradescope import build_zip

    course = _course_with_templates(tmp_path)
    out = tmp_path / "autograder.zip"
    build_zip(course, out)
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert {"setup.sh", "run_autograder", "pyproject.toml", "grader/cli.py",
            f"exercises/{REL}/tests/test_stats.py",
            f"solutions/{REL}/tests/test_hidden.py"} <= names  # hidden tests: yes
    assert f"solutions/{REL}/stats.py" not in names  # the reference answer: no
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    for script in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(ROOT / "docs" / "templates" / "gradescope" / script)],
                       check=True)


def test_gradescope_run_grades_a_flat_upload(course: Course, tmp_path: Path) -> None:
    from grader.instructor.gradescope import run

    upload = tmp_path / "submission"
    upload.mkdir()
    (upload / "stats.py").write_bytes((FIXTURE / "solutions" / REL / "stats.py").read_bytes())
    (upload / "conftest.py").write_text("raise SystemExit('never imported')\n")
    results = tmp_path / "results" / "results.json"
    assert run(course, upload, results, seed=4) == 6
    data = json.loads(results.read_text())
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    assert data["score"] == 6 and data["extra_data"]["seed"] == 4


def test_nbgrader_gradebook(course: Course, gradebook: Gradebook, tmp_path: Path) -> None:
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install nbgrader); "
                        "checked in a scratch venv instead")
    from nbgrader.api import Gradebook as NbGradebook  # type: ignore[import-not-found]

    nbcourse = tmp_path / "nbcourse"
    nbcourse.mkdir()
    export(course, gradebook, nbgrader_dir=nbcourse, assignment="lab")
    export(course, gradebook, nbgrader_dir=nbcourse, assignment="lab")  # idempotent
    with NbGradebook(f"sqlite:///{nbcourse / 'gradebook.db'}") as nb:
        assert nb.find_submission("lab", "bob").score == 3
        assert nb.find_submission("lab", "ann").score == 9
        assert nb.find_assignment("lab").max_score == 9
        assert nb.find_submission("lab", "ann").needs_manual_grade is False


def test_gradebook_and_export_commands(gradebook: Gradebook, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    gradebook.close()
    assert main(["--course", str(FIXTURE), "gradebook", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bob" in out and "stale" in out
    assert main(["--course", str(FIXTURE), "gradebook", str(tmp_path), "--stale"]) == 0
    assert "bob/tiny-stats: submission changed" not in capsys.readouterr().out  # no folder
    assert main(["--course", str(FIXTURE), "export", str(tmp_path)]) == 2
    assert "--csv" in capsys.readouterr().err
    assert main(["--course", str(FIXTURE), "export", str(tmp_path), "--csv",
                 str(tmp_path / "g.csv")]) == 0
    assert (tmp_path / "g.csv").is_file()


def _grade(student: str, score: float) -> Grade:
    return Grade(student=student, exercise="tiny-stats", score=score, max_score=6,
                 status="partial", result={}, submission_hash="s", course_hash="c", grader="g",
                 environment={}, env_hash="e", seed=1, duration=0.1)


ROSTER = ("Student,ID,SIS User ID,SIS Login ID,Section\n"
          "    Points Possible,,,,\n"
          '"Smith, John",101,S101,jsmith,A\n'
          '"Smith, John",202,S202,jsmith2,B\n'
          '"Liddell, Alice",303,S303,alice,A\n'
          '"=Evil, Eve",404,S404,@eve,-A\n'
          '"Hatter, Mad",505,S505,mad,C\n')


def test_csv_rows_are_never_shared(tmp_path: Path) -> None:
    from grader.instructor.gradebook_csv import gradebook_csv, read_roster

    roster_path = tmp_path / "roster.csv"
    roster_path.write_text(ROSTER)
    grades = [_grade("smithjohn_101", 6), _grade("smithjohn_202", 1),  # Canvas: by user id
              _grade("Alice-dup1", 2), _grade("alice-dup2", 5),  # collided: neither is 'alice'
              _grade("smithjohn", 4),  # a folder named like both John Smiths: fits two rows
              _grade("mad", 3), _grade("MAD", 0)]  # two students fit one row
    text, warnings = gradebook_csv(grades, [("tiny-stats", 6)], read_roster(roster_path),
                                   lms_ids={"smithjohn_101": "101", "smithjohn_202": "202"})
    rows = list(csv.reader(io.StringIO(text)))
    by_id = {r[1]: r for r in rows[2:] if r[1]}
    assert by_id["101"][5] == "6" and by_id["202"][5] == "1"  # each John Smith his own grade
    assert by_id["303"][5] == ""  # alice's row: no collided id took it
    assert by_id["404"][0] == "'=Evil, Eve" and by_id["404"][3] == "'@eve"
    assert by_id["404"][4] == "'-A"
    appended = {r[0]: r for r in rows[2:] if not r[1]}
    assert by_id["505"][5] == ""
    assert set(appended) == {"Alice-dup1", "alice-dup2", "smithjohn", "mad", "MAD"}
    assert all(r[1:5] == ["", "", "", ""] for r in appended.values())  # nothing to match by
    assert any("smithjohn fits 2 roster rows" in w for w in warnings)
    assert any("'Hatter, Mad' fits 2 students (MAD, mad)" in w for w in warnings)


def test_export_reads_canvas_user_ids_from_collect(course: Course, tmp_path: Path) -> None:
    from grader.instructor.collect import collect

    source = tmp_path / "canvas"
    source.mkdir()
    reference = (FIXTURE / "solutions" / REL / "stats.py").read_bytes()
    (source / "smithjohn_101_1_stats.py").write_bytes(reference)
    (source / "smithjohn_202_2_stats.py").write_bytes(reference)
    subs = tmp_path / "class"
    collect(course, source, subs)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    with Gradebook(subs / "gradebook.sqlite") as gb:
        gb.set_meta("submissions", str(subs))
        for student, score in (("smithjohn_101", 6.0), ("smithjohn_202", 2.0)):
            gb.record(_grade(student, score))
        export(course, gb, csv_path=tmp_path / "grades.csv", roster=roster)
    rows = list(csv.reader(io.StringIO((tmp_path / "grades.csv").read_text())))
    scores = {r[1]: r[5] for r in rows[2:]}
    assert scores["101"] == "6" and scores["202"] == "2"


def test_late_flags_reach_the_csv_and_the_gradebook(course: Course, gradebook: Gradebook,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Canvas's _LATE, as collect recorded it, is a read-only column and a mark in the table."""
    from grader.cli import main

    (tmp_path / "collect.json").write_text(json.dumps({"students": {
        "bob": {"origin": "canvas", "info": {"late": "yes", "canvas_user_id": "202"}},
        "ann": {"origin": "canvas", "info": {"late": "no"}}}}))
    path = tmp_path / "grades.csv"
    export(course, gradebook, csv_path=path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0][-1] == "Late (read only)" and rows[1][-1] == "(read only)"
    body = {r[0]: r for r in rows[2:]}
    assert body["bob"][-1] == "late" and body["ann"][-1] == ""
    gradebook.close()
    assert main(["--course", str(FIXTURE), "gradebook", str(tmp_path)]) == 0
    assert "bob (late)" in capsys.readouterr().out
    assert main(["--course", str(FIXTURE), "gradebook", str(tmp_path), "--stale"]) == 0
