"""`grader collect`: folders, clones, LMS zips and nbgrader trees in; declared files only out."""

from __future__ import annotations

import json
import os
import stat
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
