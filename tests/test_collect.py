"""`grader collect`: folders, clones, LMS zips and nbgrader trees in; declared files only out."""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from grader.engine.course import Course
from grader.instructor.collect import MAX_FILE_BYTES, collect, sanitise

FIXTURE = Path(__file__).parent / "fixtures" / "course"
CLASS = Path(__file__).parent / "fixtures" / "class"
REL = "01_programming/01_tiny-stats"
REFERENCE = (FIXTURE / "solutions" / REL / "stats.py").read_bytes()
EXPECTED = json.loads((CLASS / "expected.json").read_text())


@pytest.fixture(scope="module")
def course() -> Course:
    return Course.load(FIXTURE)


def _outputs(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def _report(out: Path) -> dict[str, dict[str, object]]:
    return json.loads((out / "collect.json").read_text())["students"]  # type: ignore[no-any-return]


def test_folder_of_students_takes_only_declared_files(course: Course, tmp_path: Path) -> None:
    out = tmp_path / "out"
    reports = collect(course, CLASS, out)
    assert sorted(r.id for r in reports) == sorted(EXPECTED)
    taken = {r.id: len(r.taken) for r in reports}
    assert taken == {s: e["taken"] for s, e in EXPECTED.items()}
    # only stats.py, never notes.txt, the cheater's conftest.py or tests, or its solutions/ copy
    assert _outputs(out) - {"collect.json"} == {f"{s}/{REL}/stats.py" for s, e in
                                                 EXPECTED.items() if e["taken"]}
    assert (out / "cheating" / REL / "stats.py").read_bytes() != REFERENCE
    assert (out / "full" / REL / "stats.py").read_bytes() == REFERENCE
    report = _report(out)
    assert report["empty"]["missing"] == [f"{REL}/stats.py"]
    assert (out / "empty").is_dir()  # graded (as missing), not forgotten


def test_links_in_a_student_folder_are_rejected(course: Course, tmp_path: Path) -> None:
    source = tmp_path / "source"
    target = source / "linker" / REL
    target.mkdir(parents=True)
    os.symlink(FIXTURE / "solutions" / REL / "stats.py", target / "stats.py")
    out = tmp_path / "out"
    (report,) = collect(course, source, out)
    assert report.taken == []
    assert report.rejected == [(f"{REL}/stats.py", "symbolic links are not accepted")]
    assert not (out / "linker" / REL / "stats.py").exists()


def raw_name_zip(path: Path, members: list[tuple[str, bytes]], raw: dict[str, bytes]) -> None:
    """A zip whose names in ``raw`` are replaced, byte for byte, by undecodable bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    blob = path.read_bytes()
    for placeholder, replacement in raw.items():
        assert len(placeholder.encode()) == len(replacement)
        blob = blob.replace(placeholder.encode(), replacement)
    path.write_bytes(blob)


def _inner_zip(files: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


def make_bulk_zip(path: Path) -> None:
    """An LMS-style bulk download holding every awkward case at once."""
    wrong = b"def mean(values):\n    return 0\n\n\ndef median(values):\n    return 0\n"
    lab = _inner_zip({f"exercises/{REL}/stats.py": REFERENCE})
    members = [
        (f"full/exercises/{REL}/stats.py", REFERENCE),
        (f"dup/{REL}/stats.py", wrong),
        (f"dup/{REL}/stats.py", REFERENCE),  # the later copy wins, and the report says so
        (f"JosXX/{REL}/stats.py", REFERENCE),  # XX becomes Latin-1 bytes: not UTF-8
        (f"mallory/{REL}/stats.py", REFERENCE),
        ("mallory/../../evil.py", b"print('escaped')\n"),
        ("../outside.py", b"print('escaped')\n"),
        ("/abs/evil.py", b"print('escaped')\n"),
        ("doejane_123_456_stats.py", REFERENCE),  # Canvas: <name>_<user>_<submission>_<file>
        ("roebob_late_124_457_lab.zip", lab),  # Canvas, late, a zip inside the zip
        ("Ann Lee_999_assignsubmission_file_/lab.zip", lab),  # Moodle folder with a zip
        (f"big/{REL}/stats.py", b"#" * (MAX_FILE_BYTES + 1)),
        ("README.txt", b"a loose file belongs to no student\n"),
    ]
    raw_name_zip(path, members, {"JosXX": b"Jos\xe9\xe8"})
    with zipfile.ZipFile(path, "a") as archive:
        link = zipfile.ZipInfo(f"linky/{REL}/stats.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "../../../solutions/01_programming/01_tiny-stats/stats.py")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_bulk_zip_is_read_without_extracting_names(course: Course, tmp_path: Path) -> None:
    bulk = tmp_path / "downloads" / "submissions.zip"
    bulk.parent.mkdir()
    make_bulk_zip(bulk)
    out = tmp_path / "work" / "out"
    reports = {r.id: r for r in collect(course, bulk, out)}
    # Canvas and Moodle students are keyed by their LMS id, kept beside the name
    assert set(reports) == {"full", "dup", "Jos", "mallory", "doejane_123", "roebob_124",
                            "Ann_Lee_999", "big", "linky"}
    for student in ("full", "dup", "Jos", "mallory", "doejane_123", "roebob_124", "Ann_Lee_999"):
        assert (out / student / REL / "stats.py").read_bytes() == REFERENCE, student
    assert any("took the last" in n for n in reports["dup"].notes)
    assert reports["big"].rejected == [(f"{REL}/stats.py", "larger than 5 MB")]
    assert reports["linky"].rejected == [(f"{REL}/stats.py", "symbolic links are not accepted")]
    assert [f for f, _ in reports["mallory"].rejected] == ["mallory/../../evil.py"]
    ignored = json.loads((out / "collect.json").read_text())["ignored"]
    assert sorted(ignored) == ["../outside.py", "/abs/evil.py"]
    # nothing was written anywhere but OUT/<student>/<declared file>
    everything = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file()}
    assert everything == {"downloads/submissions.zip", "work/out/collect.json"} | {
        f"work/out/{s}/{REL}/stats.py" for s in
        ("full", "dup", "Jos", "mallory", "doejane_123", "roebob_124", "Ann_Lee_999")}
    assert reports["doejane_123"].origin.startswith("submissions.zip")
    assert reports["roebob_124"].info == {"lms": "canvas", "canvas_user_id": "124",
                                          "name": "roebob", "late": "yes"}
    assert reports["Ann_Lee_999"].info == {"lms": "moodle", "moodle_participant_id": "999",
                                           "name": "Ann Lee"}
    assert all(not r.errors for r in reports.values())


def test_nbgrader_submitted_tree(course: Course, tmp_path: Path) -> None:
    root = tmp_path / "nbcourse"
    for student, assignment in (("s001", "tiny-stats"), ("s002", "ps1")):
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        (folder / "stats.py").write_bytes(REFERENCE)
        (folder / "timestamp.txt").write_text("2026-03-01 12:00:00.000000 UTC")
    out = tmp_path / "out"
    reports = {r.id: r for r in collect(course, root, out)}
    assert set(reports) == {"s001", "s002"}
    for student in reports:
        assert (out / student / REL / "stats.py").read_bytes() == REFERENCE
    assert reports["s001"].info == {"submitted_at:tiny-stats": "2026-03-01 12:00:00.000000 UTC"}


def test_canvas_download_unzipped_into_a_folder(course: Course, tmp_path: Path) -> None:
    source = tmp_path / "canvas"
    source.mkdir()
    (source / "doejane_123_456_stats.py").write_bytes(REFERENCE)
    out = tmp_path / "out"
    (report,) = collect(course, source, out)
    assert report.id == "doejane_123"
    assert report.info == {"lms": "canvas", "canvas_user_id": "123", "name": "doejane",
                           "late": "no"}
    assert (out / "doejane_123" / REL / "stats.py").read_bytes() == REFERENCE


def test_collect_again_replaces_a_student_and_keeps_others(course: Course,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "out"
    collect(course, CLASS, out)
    source = tmp_path / "late"
    (source / "partial" / REL).mkdir(parents=True)
    (source / "partial" / REL / "stats.py").write_bytes(REFERENCE)
    collect(course, source, out)
    assert (out / "partial" / REL / "stats.py").read_bytes() == REFERENCE
    assert set(_report(out)) == set(EXPECTED)


@pytest.mark.parametrize(("raw", "safe"), [
    ("../../etc", "etc"), ("", "student"), ("Jöhn Dœ", "John_D"), (".hidden", "hidden"),
    ("a/b\\c", "a_b_c"), ("x" * 100, "x" * 64), ("..", "student"), ("Jos\udce9", "Jos"),
])
def test_student_ids_are_sanitised(raw: str, safe: str) -> None:
    assert sanitise(raw) == safe


# -- ids: the grader's own names, collisions, LMS user ids ----------------------------------------

def _student_folder(root: Path, name: str, content: bytes = REFERENCE) -> None:
    (root / name / REL).mkdir(parents=True)
    (root / name / REL / "stats.py").write_bytes(content)


def _zip_file(path: Path, content: bytes = REFERENCE) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{REL}/stats.py", content)


WRONG = b"def mean(values):\n    return 0\n\n\ndef median(values):\n    return 0\n"


def test_grader_names_are_reserved(course: Course, tmp_path: Path) -> None:
    from grader.instructor.batch import DB_NAME, discover_students
    from grader.instructor.gradebook import Gradebook

    source = tmp_path / "source"
    for name in ("collect.json", "gradebook.sqlite", "GRADEBOOK.SQLITE-wal", "alice"):
        _student_folder(source, name)
    out = tmp_path / "out"
    for _ in range(2):  # and again: the report and the gradebook stay the grader's files
        reports = {r.id: r for r in collect(course, source, out)}
        assert set(reports) == {"student-collect.json", "student-gradebook.sqlite",
                                "student-GRADEBOOK.SQLITE-wal", "alice"}
        assert (out / "collect.json").is_file() and not (out / DB_NAME).exists()
        assert all("uses for its own files" in r.errors[0] for s, r in reports.items()
                   if s != "alice")
        assert not reports["alice"].errors
    with Gradebook(out / DB_NAME):  # the next batch can make its gradebook
        pass
    assert "alice" in discover_students(out) and (out / DB_NAME).is_file()
    assert set(_report(out)) == set(reports)


def test_ids_that_differ_only_in_case_are_never_merged(course: Course, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    _zip_file(source / "Alice.zip", WRONG)
    _zip_file(source / "alice.zip")
    _student_folder(source, "bob")
    _student_folder(source, "J!")  # sanitises to 'J', the same id as the folder 'J'
    _student_folder(source, "J", WRONG)
    out = tmp_path / "out"
    reports = {r.id: r for r in collect(course, source, out)}
    assert set(reports) == {"Alice-dup1", "alice-dup2", "bob", "J-dup1", "J-dup2"}
    # each keeps its own work; neither takes the plain id (nor the roster row that goes with it)
    assert (out / "Alice-dup1" / REL / "stats.py").read_bytes() == WRONG
    assert (out / "alice-dup2" / REL / "stats.py").read_bytes() == REFERENCE
    for student in ("Alice-dup1", "alice-dup2", "J-dup1", "J-dup2"):
        (error,) = reports[student].errors
        assert "never merged" in error and "rename its folder" in error
    assert "Alice.zip" in reports["alice-dup2"].errors[0]
    assert not reports["bob"].errors and reports["bob"].taken == [f"{REL}/stats.py"]
    again = {r.id for r in collect(course, source, out)}  # the same download, the same ids
    assert again == set(reports) and {p.name for p in out.iterdir() if p.is_dir()} == again
    # a later 'BOB' is alone in its own collect, but it differs from the folder 'bob' only in
    # case: a collision with that folder, which is left as it was
    late = tmp_path / "late"
    _student_folder(late, "BOB")
    (later,) = collect(course, late, out)
    assert later.id == "BOB-dup1" and "earlier collect" in later.errors[0]
    assert (out / "bob" / REL / "stats.py").read_bytes() == REFERENCE  # untouched


def test_canvas_students_are_keyed_by_user_id(course: Course, tmp_path: Path) -> None:
    source = tmp_path / "canvas"
    source.mkdir()
    (source / "smithjohn_101_5001_stats.py").write_bytes(REFERENCE)
    (source / "smithjohn_LATE_202_5002_stats.py").write_bytes(WRONG)
    (source / "smithjohn_202_5003_notes.txt").write_bytes(b"same user, another file\n")
    out = tmp_path / "out"
    reports = {r.id: r for r in collect(course, source, out)}
    assert set(reports) == {"smithjohn_101", "smithjohn_202"}  # two people, never merged
    assert (out / "smithjohn_101" / REL / "stats.py").read_bytes() == REFERENCE
    assert (out / "smithjohn_202" / REL / "stats.py").read_bytes() == WRONG
    assert reports["smithjohn_202"].info == {"lms": "canvas", "canvas_user_id": "202",
                                             "name": "smithjohn", "late": "yes"}
    assert reports["smithjohn_101"].info["late"] == "no"
    assert not any(r.errors for r in reports.values())
    assert _report(out)["smithjohn_202"]["info"]["late"] == "yes"  # kept in collect.json


def test_canvas_users_with_one_name_in_a_bulk_zip(course: Course, tmp_path: Path) -> None:
    bulk = tmp_path / "submissions.zip"
    with zipfile.ZipFile(bulk, "w") as archive:
        archive.writestr("smithjohn_101_5001_stats.py", REFERENCE)
        archive.writestr("smithjohn_202_5002_stats.py", WRONG)
        archive.writestr("Ann Lee_7_assignsubmission_file_/stats.py", REFERENCE)
        archive.writestr("Ann Lee_8_assignsubmission_file_/stats.py", WRONG)
    out = tmp_path / "out"
    reports = {r.id: r for r in collect(course, bulk, out)}
    assert set(reports) == {"smithjohn_101", "smithjohn_202", "Ann_Lee_7", "Ann_Lee_8"}
    assert (out / "smithjohn_202" / REL / "stats.py").read_bytes() == WRONG
    assert (out / "Ann_Lee_7" / REL / "stats.py").read_bytes() == REFERENCE
    assert not any(r.errors for r in reports.values())


def test_a_file_in_the_way_is_left_alone(course: Course, tmp_path: Path) -> None:
    source = tmp_path / "source"
    _student_folder(source, "bob")
    _student_folder(source, "alice")
    out = tmp_path / "out"
    out.mkdir()
    (out / "bob").write_text("the instructor's notes\n")
    reports = {r.id: r for r in collect(course, source, out)}
    assert "not a student folder" in reports["bob"].errors[0]
    assert (out / "bob").read_text() == "the instructor's notes\n"
    assert reports["alice"].taken and not reports["alice"].errors


def test_collect_command_reports_collisions(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    source = tmp_path / "source"
    _student_folder(source, "alice")
    _student_folder(source, "ALICE")
    _student_folder(source, "bob")
    assert main(["--course", str(FIXTURE), "collect", str(source), str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("ERROR:") == 2 and "2 students need you first" in captured.err
    assert "collected 3 students" in captured.out


# -- zips that would stall or swell the grader -----------------------------------------------------

def many_entry_zip(count: int, claimed: int | None = None) -> bytes:
    """A real zip of ``count`` empty files (all pointing at one local header), built in memory;
    its end record claims ``claimed`` entries (a liar's count) or the true one."""
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, 1, 0) + b"a"
    entry = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
                        0, 0, 0) + b"a"
    directory = entry * count
    n = min(count if claimed is None else claimed, 0xFFFF)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(directory), len(local), 0)
    return local + directory + end


def test_the_many_entry_builder_makes_real_zips() -> None:
    import io

    with zipfile.ZipFile(io.BytesIO(many_entry_zip(3, claimed=1))) as archive:
        assert len(archive.infolist()) == 3  # zipfile parses what the directory holds


def _zeros_zip(path: Path | io.BytesIO, name: str, size: int) -> None:
    """A zip with one deflated member of ``size`` zero bytes, written without holding it."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open(name, "w", force_zip64=True) as fh:
        for _ in range(size >> 20):
            fh.write(bytes(1 << 20))


def test_zip_bombs_are_refused_and_others_collected(course: Course, tmp_path: Path) -> None:
    source = tmp_path / "source"
    _student_folder(source, "alice")
    source.mkdir(exist_ok=True)
    (source / "many.zip").write_bytes(many_entry_zip(300_000))  # 14 MB, the only big file
    (source / "liar_303_9_lab.zip").write_bytes(many_entry_zip(100_001, claimed=1))
    _zeros_zip(source / "dense.zip", f"{REL}/stats.py", 4 << 20)  # 4 MB of zeros in 4 kB
    inner = io.BytesIO()
    _zeros_zip(inner, "bomb.bin", 64 << 20)  # 64 MB in 64 kB
    with zipfile.ZipFile(source / "nested.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{REL}/stats.py", REFERENCE)
        archive.writestr("inner.zip", inner.getvalue())
        archive.writestr("deep.zip", _inner_zip({"deeper.zip": _inner_zip({"x.py": b"1"})}))
    assert sum(p.stat().st_size for p in source.iterdir() if p.is_file()) < 20 << 20
    out = tmp_path / "out"
    reports = {r.id: r for r in collect(course, source, out)}
    assert set(reports) == {"alice", "many", "liar_303", "dense", "nested"}
    assert "holds more than 100,000 files: not opened" in reports["many"].errors[0]
    assert reports["many"].missing == [f"{REL}/stats.py"] and (out / "many").is_dir()
    (error,) = reports["liar_303"].errors  # the end record said 1 entry: the directory is read
    assert error.startswith("lab.zip: the") and "more than 100,000 files" in error
    assert reports["dense"].rejected == [(f"{REL}/stats.py", reports["dense"].rejected[0][1])]
    assert "possible zip bomb" in reports["dense"].rejected[0][1]
    assert not (out / "dense" / REL / "stats.py").exists()
    # nested: its own file taken; the bomb inside it and the zip two levels down refused
    assert (out / "nested" / REL / "stats.py").read_bytes() == REFERENCE
    (error,) = reports["nested"].errors  # the bomb is never read, so it costs nothing
    assert error.startswith("deep.zip/deeper.zip: a zip inside a zip inside a zip is not opened")
    # and the honest student is collected as if none of it were there
    assert reports["alice"].taken == [f"{REL}/stats.py"] and not reports["alice"].errors
    assert (out / "alice" / REL / "stats.py").read_bytes() == REFERENCE


def test_a_nested_bomb_is_refused_by_its_ratio(course: Course, tmp_path: Path) -> None:
    inner = io.BytesIO()
    _zeros_zip(inner, f"{REL}/stats.py", 4 << 20)
    bulk = tmp_path / "bulk.zip"
    with zipfile.ZipFile(bulk, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"honest/{REL}/stats.py", REFERENCE)
        archive.writestr("evil/lab.zip", inner.getvalue())  # a zip inside the student's folder
        archive.writestr("crowd/lab.zip", many_entry_zip(300_000))  # 14 MB packed to ~40 kB
    assert bulk.stat().st_size < 1 << 20
    reports = {r.id: r for r in collect(course, bulk, tmp_path / "out")}
    assert "possible zip bomb" in reports["evil"].rejected[0][1]
    (error,) = reports["crowd"].errors
    assert error.startswith("lab.zip: ") and ("zip bomb" in error or "100,000 files" in error)
    assert reports["honest"].taken == [f"{REL}/stats.py"]


def test_the_size_budget_covers_all_of_a_students_zips(course: Course, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import grader.instructor.collect as collect_module

    monkeypatch.setattr(collect_module, "MAX_ZIP_BYTES", 64 * 1024)
    noise = os.urandom(100 * 1024)  # does not compress: no ratio to refuse it by
    source = tmp_path / "source"
    source.mkdir()
    with zipfile.ZipFile(source / "big.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.zip", _inner_zip({"noise.bin": noise}))
        archive.writestr(f"{REL}/stats.py", REFERENCE)
    reports = {r.id: r for r in collect(course, source, tmp_path / "out")}
    assert "more than the 0.0625 MB allowed in all" in reports["big"].errors[0]
    assert reports["big"].taken == [f"{REL}/stats.py"]
