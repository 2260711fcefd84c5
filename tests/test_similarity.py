"""`grader similarity` on a synthetic class: disguised copies at the top, honest pairs below.

The class is built at test time from the course's reference, the known-bad fixtures and three
honest, independently written solutions (tests/fixtures/similarity). Copies are disguised the
way copiers do it (tests/synthetic_class.py): renamed identifiers, reordered functions,
rewritten comments, a copied model, a nudged and re-saved model, a re-indented report, the
course's own reference output handed in.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from pathlib import Path

import pytest
from fixture_submissions import materialise
from synthetic_class import (
    base_model,
    jitter_json,
    put,
    recomment,
    rename_identifiers,
    reorder_functions,
    write_model,
)
from test_exports import _Checker

from grader.engine.course import Course
from grader.instructor.fingerprints import fingerprint, normalised_tokens
from grader.instructor.similarity import REFERENCE, Settings, SimilarityReport, compare
from grader.reports.safe_text import shown_line

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "submissions"
HONEST = ROOT / "tests" / "fixtures" / "similarity"
EXERCISES = ["sklearn-pipeline", "pandas-cleaning", "sql-analytics", "model-choice",
             "bert-finetune", "dockerfile"]
# (exercise, the copied student, the copier): every one must be flagged, at the top
COPIES = {("sklearn-pipeline", "ines", "copy-renamed"),
          ("sklearn-pipeline", "priya", "copy-reordered"),
          ("sklearn-pipeline", "omar", "copy-recommented"),
          ("pandas-cleaning", "ines", "copy-renamed"),
          ("sql-analytics", "omar", "copy-recommented"),
          ("model-choice", "priya", "copy-reordered"),
          ("bert-finetune", "ines", "copy-renamed"),
          ("bert-finetune", "priya", "copy-reordered")}
EVIL = "=mallory\x1b[2J[bold red]|' -C calc'!A0\u202e"  # a formula, an escape, markup, bidi


@pytest.fixture(scope="module")
def course() -> Course:
    return Course.load(ROOT)


def _fixture(course: Course, out: Path, scratch: Path, student: str, ex_id: str,
             outcome: str) -> None:
    ex = course.get(ex_id)
    root = materialise(course, ex, FIXTURES / ex_id / outcome, scratch / student / ex_id)
    for name in ex.handed_in:
        path = root / ex.rel / name
        if path.is_file():
            put(out, student, ex, name, path.read_bytes())


def build(course: Course, out: Path, scratch: Path) -> None:
    """The synthetic class: three honest students, three copiers, one hands in the reference."""
    sk = course.get("sklearn-pipeline")
    honest = {s: (HONEST / s / sk.rel / "pipeline.py").read_text()
              for s in ("ines", "omar", "priya")}
    for student, text in honest.items():
        put(out, student, sk, "pipeline.py", text)
    put(out, "copy-renamed", sk, "pipeline.py", rename_identifiers(honest["ines"]))
    put(out, "copy-reordered", sk, "pipeline.py", reorder_functions(honest["priya"], seed=1))
    put(out, "copy-recommented", sk, "pipeline.py", recomment(honest["omar"]))
    # pandas-cleaning: one written another way, three that are the reference plus a mistake
    for student, outcome in (("ines", "hardcoded-seed0"), ("omar", "keep-first-id"),
                             ("priya", "no-unit-conversion"), (EVIL, "mutates-input")):
        _fixture(course, out, scratch, student, "pandas-cleaning", outcome)
    pc = course.get("pandas-cleaning")
    put(out, "copy-renamed", pc, "cleaning.py",
        rename_identifiers((out / "ines" / pc.rel / "cleaning.py").read_text(), salt="y"))
    for student, outcome in (("ines", "common-mistakes"), ("omar", "hardcoded-values"),
                             ("priya", "forbidden-statements")):
        _fixture(course, out, scratch, student, "sql-analytics", outcome)
    sq = course.get("sql-analytics")
    for name in sq.files:  # the same queries in capitals: SQL does not care
        path = out / "omar" / sq.rel / name
        if path.is_file():
            put(out, "copy-recommented", sq, name, path.read_text().upper())
    mc = course.get("model-choice")
    reference_report = (course.solution_dir(mc) / "report.json").read_text()
    rng = random.Random(5)
    for student in ("ines", "omar", "priya"):  # each measured their own run
        put(out, student, mc, "report.json", jitter_json(reference_report, rng))
    priya = json.loads((out / "priya" / mc.rel / "report.json").read_text())
    put(out, "copy-reordered", mc, "report.json", json.dumps(priya, indent=4, sort_keys=True))
    put(out, "cheat-ref", mc, "report.json", reference_report)
    bf = course.get("bert-finetune")
    body = base_model()
    for seed, student in enumerate(("ines", "omar", "priya", "cheat-ref")):
        write_model(out / student / bf.rel / "model" / "model.safetensors", seed, body)
    (out / "copy-renamed" / bf.rel / "model").mkdir(parents=True)
    shutil.copyfile(out / "ines" / bf.rel / "model" / "model.safetensors",
                    out / "copy-renamed" / bf.rel / "model" / "model.safetensors")
    write_model(out / "copy-reordered" / bf.rel / "model" / "model.safetensors", seed=7,
                nudge=1e-5, source=out / "priya" / bf.rel / "model" / "model.safetensors")
    for student, outcome in (("ines", "latest-tag"), ("omar", "root-user"),
                             ("priya", "shell-form-cmd")):
        _fixture(course, out, scratch, student, "dockerfile", outcome)
    big = out / "omar" / course.get("dockerfile").rel / "Dockerfile"
    big.write_text("RUN echo hi\n" * 40_000)  # over the size cap: skipped with a note
    linked = out / "priya" / course.get("pandas-cleaning").rel / "cleaning.py"
    linked.unlink()
    linked.symlink_to("/etc/passwd")  # never followed
    hostile = out / "cheat-ref" / sk.rel / "pipeline.py"
    hostile.parent.mkdir(parents=True, exist_ok=True)
    hostile.write_bytes(b"\xff\xfe\x00'''\"\"\"" + b"((((" * 20_000 + b"\x1b[2J")  # garbage


@pytest.fixture(scope="module")
def synthetic(course: Course, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path,
                                                                                 SimilarityReport]:
    root = tmp_path_factory.mktemp("similarity")
    out = root / "class"
    build(course, out, root / "scratch")
    students = sorted(p.name for p in out.iterdir())
    report = compare(course, out, students, [course.get(i) for i in EXERCISES])
    return out, report


def _pairs(report: SimilarityReport) -> list[tuple[str, str, str]]:
    return [(m.exercise, *sorted((m.a, m.b))) for m in report.matches if m.b != REFERENCE]


def _key(copy: tuple[str, str, str]) -> tuple[str, str, str]:
    return (copy[0], *sorted(copy[1:]))


# fails for: a similarity that misses a disguised copy, or flags an honest pair
def test_copies_rank_first_and_honest_pairs_stay_below(synthetic: tuple[Path,
                                                                        SimilarityReport]) -> None:
    _, report = synthetic
    pairs = _pairs(report)
    flagged = {(m.exercise, *sorted((m.a, m.b))) for m in report.flagged if m.b != REFERENCE}
    expected = {_key(c) for c in COPIES}
    assert flagged == expected  # precision and recall both 1 on student pairs
    assert set(pairs[:len(expected)]) == expected  # the copies are the top of the ranking
    for m in report.matches:
        if m.b != REFERENCE and (m.exercise, *sorted((m.a, m.b))) not in expected:
            assert not m.flagged, m
            if m.kind == "code":  # honest pairs share a little idiom, far from the threshold
                assert m.score < report.settings.threshold / 2 or \
                    m.shared < report.settings.min_shared, m


def test_evidence_says_how(synthetic: tuple[Path, SimilarityReport]) -> None:
    _, report = synthetic
    by = {(m.exercise, *sorted((m.a, m.b))): m for m in report.matches}
    model = by[("bert-finetune", "copy-renamed", "ines")]
    assert any("byte-for-byte identical" in e for e in model.evidence)
    nudged = by[("bert-finetune", "copy-reordered", "priya")]
    assert not any("byte-for-byte" in e for e in nudged.evidence)
    assert any("5 of 5 distinctive tensors" in e for e in nudged.evidence)
    report_json = by[("model-choice", "copy-reordered", "priya")]
    assert any("after rounding" in e for e in report_json.evidence)
    code = by[("sklearn-pipeline", "copy-renamed", "ines")]
    assert code.regions_a and code.regions_b and code.score > 0.9


def test_the_course_reference_is_recognised(synthetic: tuple[Path,
                                                             SimilarityReport]) -> None:
    _, report = synthetic
    to_reference = {(m.exercise, m.kind, m.a) for m in report.flagged if m.b == REFERENCE}
    assert ("model-choice", "output", "cheat-ref") in to_reference  # the instructor's report
    # the known-bad fixtures that are the reference plus one mistake are recognised as such,
    # and never as a pair among themselves (the reference's text does not count between them)
    assert ("pandas-cleaning", "code", "omar") in to_reference
    assert any("priya/pandas-cleaning/cleaning.py: symbolic links" in n for n in report.notes)
    assert ("pandas-cleaning", "code", EVIL) in to_reference
    assert ("pandas-cleaning", "code", "ines") not in to_reference  # written another way
    assert not any(m.exercise == "pandas-cleaning" and {m.a, m.b} == {"omar", "priya"}
                   and m.flagged for m in report.matches)
    assert any("larger than" in n and "Dockerfile" in n for n in report.notes)


def test_outputs_are_safe(course: Course, synthetic: tuple[Path, SimilarityReport],
                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader.instructor.similarity_report import NOT_PROOF, print_table, write_csv, write_html

    out, report = synthetic
    write_csv(report, tmp_path / "s.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "s.csv").read_text())))
    assert rows[0][:5] == ["rank", "exercise", "kind", "student_a", "student_b"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert any("'" + shown_line(EVIL) in row for row in rows)  # neutralised, not dropped
    print_table(report, 100)
    said = capsys.readouterr().out
    assert "\x1b" not in said and "\u202e" not in said
    assert "=mallory\\x1" in said  # the escape shown, not obeyed
    assert " ".join(NOT_PROOF.split()[:6]) in " ".join(said.split())
    write_html(report, course, out, tmp_path / "s.html")
    page = (tmp_path / "s.html").read_text()
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == []
    assert "<mark>" in page and "reason to look, not proof" in page
    assert "\x1b" not in page and "[bold red]" in page and "<script" not in page
    assert page.count('class="sbs"') >= 5  # side by side for the code pairs


def test_lexer_normalises_what_a_copier_changes() -> None:
    code = 'def mean(xs):\n    """Doc."""\n    total = 0  # sum\n    return total / len(xs)\n'
    renamed = ("def average(values):\n    '''Other words.'''\n    acc = 1\n\n"
               "    return acc / len(values)\n")
    tokens = [t for t, _, _ in normalised_tokens(code, "python")]
    assert tokens == [t for t, _, _ in normalised_tokens(renamed, "python")]
    assert "len" in tokens and "N" in tokens and "0" in tokens
    tricky = 'x = "def f(a): return a  # not a comment"\n'  # code inside a string is a string
    assert [t for t, _, _ in normalised_tokens(tricky, "python")] == ["N", "=", "S"]
    sql = "SELECT carrier, COUNT(*) AS n -- how many\nFROM flights GROUP BY carrier"
    assert [t for t, _, _ in normalised_tokens(sql.lower(), "sql")] == \
        [t for t, _, _ in normalised_tokens(sql, "sql")]
    for name in ("a.R", "q.sql", "m.mjs", "k.yaml", "Dockerfile", "CARD.md", ".dockerignore"):
        assert fingerprint("word " * 200, name).tokens > 0


def test_similarity_command(course: Course, synthetic: tuple[Path, SimilarityReport],
                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    out, _ = synthetic
    assert main(["--course", str(ROOT), "similarity", str(out), "--exercises",
                 "sklearn-pipeline", "--out", str(tmp_path), "--jobs", "1"]) == 0
    said = capsys.readouterr().out
    assert "copy-renamed" in said and "wrote" in said
    assert (tmp_path / "similarity.csv").is_file() and (tmp_path / "similarity.html").is_file()


def test_settings_are_the_documented_ones() -> None:
    text = (ROOT / "docs" / "instructors.md").read_text()
    s = Settings()
    assert f"{s.threshold:.0%}" in text and f"{s.min_shared} " in text
    assert f"{s.model_threshold:.0%}" in text and f"{s.common_share:.0%}" in text


def test_a_slow_lexer_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.instructor import fingerprints

    monkeypatch.setattr(fingerprints, "LEX_SECONDS", 0.2)
    # Pygments' Markdown lexer is quadratic on a file of newlines: hours at 256 KB, uncut
    found = fingerprint("\n" * 200_000, "CARD.md")
    assert "lexing took over 0.2 s" in found.cut
    monkeypatch.setattr(fingerprints, "LEX_SECONDS", 600.0)
    monkeypatch.setattr(fingerprints, "MAX_TOKENS", 1000)
    assert "more than 1000 tokens" in fingerprint("( " * 5_000, "x.py").cut
