"""Ingest submissions (student folders, git clones, LMS zips, nbgrader trees) into one layout.

The output is ``OUT/<student>/<NN_area>/<NN_slug>/<declared files>``, laid out like
``exercises/`` so that ``grader grade --submission`` and ``grader batch`` read it, plus
``OUT/collect.json`` listing, per student, what was taken, missing or rejected and why. Only the
files each exercise declares are taken; nothing is ever extracted by a name found in a zip.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import stat
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.sandbox.limits import MAX_FILE_BYTES, allowed_file

REPORT = "collect.json"
IGNORED_DIRS = frozenset({".git", "__pycache__", ".venv", "venv", "node_modules",
                          ".ipynb_checkpoints", "__MACOSX", ".grader", ".pytest_cache"})
MAX_ENTRIES = 20_000  # per student: a folder bigger than this is not a submission
MAX_ZIP_BYTES = 200 * 1024 * 1024  # total uncompressed size read from one student's zips
MAX_ZIP_DEPTH = 2
# Canvas bulk download: <sortable name>[_LATE]_<user id>_<submission id>_<file name>
CANVAS = re.compile(r"^(?P<name>[a-z0-9]+)(?:_late)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$",
                    re.IGNORECASE)
# Moodle bulk download: <Full Name>_<id>_assignsubmission_<plugin>_[/...]
MOODLE = re.compile(r"^(?P<name>.+?)_\d+_assignsubmission_[a-z]+_?$", re.IGNORECASE)


@dataclass
class Entry:
    """One file a submission offers: a path inside it and a way to read it (never a link)."""

    parts: tuple[str, ...]
    size: int
    read: Callable[[int], bytes]  # reads at most the given number of bytes + 1
    problem: str = ""  # why it may not be taken, when it may not (a link, not a regular file)
    note: str = ""  # worth telling the instructor (a duplicate name in a zip)


@dataclass
class Source:
    """One student's raw submission, before matching."""

    name: str  # as found (folder name, zip stem, Canvas name); sanitised later
    origin: str
    entries: Callable[[contextlib.ExitStack], Iterator[Entry]]  # archives stay open on the stack
    info: dict[str, str] = field(default_factory=dict)


@dataclass
class StudentReport:
    """What collect did for one student."""

    id: str
    origin: str
    taken: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "taken": self.taken, "missing": self.missing,
                "rejected": [{"file": f, "why": w} for f, w in self.rejected],
                "notes": self.notes, **({"info": self.info} if self.info else {})}


class CollectError(RuntimeError):
    """A source that cannot be read at all."""


# -- names ---------------------------------------------------------------------------------------

def sanitise(name: str) -> str:
    """A safe folder name for a student: letters, digits, '.', '_', '-'; never '..' or hidden."""
    text = unicodedata.normalize("NFKD", name)
    text = text.encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    text = re.sub(r"\.{2,}", ".", text)[:64].strip("._-")
    return text or "student"


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate.lower() in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate.lower())
    return candidate


def _safe_parts(raw: str) -> tuple[str, ...] | None:
    """A zip member name as path parts, or None when it is absolute or climbs out."""
    text = raw.replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return None
    parts = tuple(p for p in text.split("/") if p not in ("", "."))
    if any(p == ".." for p in parts):
        return None
    return parts


# -- entries from folders and zips ---------------------------------------------------------------

def _folder_entries(root: Path, prefix: tuple[str, ...] = ()) -> Iterator[Entry]:
    """Files under a folder, links reported rather than followed, big trees cut off."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        base = Path(dirpath)
        rel = base.relative_to(root).parts
        for d in list(dirnames):
            if (base / d).is_symlink():
                dirnames.remove(d)
                yield Entry((*prefix, *rel, d), 0, _nothing, "symbolic links are not accepted")
        for name in sorted(filenames):
            count += 1
            if count > MAX_ENTRIES:
                return
            path = base / name
            info = path.lstat()
            parts = (*prefix, *rel, name)
            if stat.S_ISLNK(info.st_mode):
                yield Entry(parts, 0, _nothing, "symbolic links are not accepted")
            elif not stat.S_ISREG(info.st_mode):
                yield Entry(parts, 0, _nothing, "not a regular file")
            else:
                yield Entry(parts, info.st_size, _reader(path))


def _nothing(cap: int = 0) -> bytes:
    return b""


def _reader(path: Path) -> Callable[[int], bytes]:
    def read(cap: int = MAX_FILE_BYTES) -> bytes:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as fh:
            return fh.read(cap + 1)
    return read


def _zip_entries(archive: zipfile.ZipFile, prefix: tuple[str, ...], depth: int,
                 budget: list[int], tops: frozenset[str] | None = None) -> Iterator[Entry]:
    """Members of a zip as entries (only under ``tops`` when given); nested zips are opened
    in memory within a size budget and appear as a folder named like the zip."""
    infos = [i for i in archive.infolist()[:MAX_ENTRIES] if not i.is_dir()]
    if tops is not None:
        infos = [i for i in infos if _top(i.filename) in tops]
    copies: dict[tuple[str, ...], int] = {}
    for info in infos:
        parts = _safe_parts(info.filename)
        if parts is not None:
            copies[parts] = copies.get(parts, 0) + 1
    left = dict(copies)
    for info in infos:
        parts = _safe_parts(info.filename)
        if parts is None:
            yield Entry((*prefix, _printable(info.filename)), 0, _nothing,
                        "unsafe name in the zip (absolute or '..'): ignored")
            continue
        if any(p in IGNORED_DIRS for p in parts):
            continue
        left[parts] -= 1
        if left[parts]:  # the same name again later: the last copy wins, as with unzip
            continue
        note = (f"{copies[parts]} entries named {'/'.join(parts)} in the zip: took the last"
                if copies[parts] > 1 else "")
        mode = info.external_attr >> 16
        full = (*prefix, *parts)
        if stat.S_ISLNK(mode):
            yield Entry(full, 0, _nothing, "symbolic links are not accepted", note)
        elif info.flag_bits & 0x1:
            yield Entry(full, info.file_size, _nothing, "encrypted in the zip", note)
        elif parts[-1].lower().endswith(".zip") and depth < MAX_ZIP_DEPTH:
            inner = _open_inner(archive, info, budget)
            if isinstance(inner, str):
                yield Entry(full, info.file_size, _nothing, inner, note)
            else:
                yield from _zip_entries(inner, full, depth + 1, budget)
        else:
            yield Entry(full, info.file_size, _zip_reader(archive, info), "", note)


def _top(name: str) -> str:
    """The first path component of a zip member name ('' for none)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return parts[0] if parts else ""


def _printable(text: str) -> str:
    """Text safe to write as UTF-8 (file names may hold undecodable bytes)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _open_inner(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                budget: list[int]) -> zipfile.ZipFile | str:
    if info.file_size > budget[0]:
        return "nested zip too large to open"
    try:
        data = _read_member(archive, info, budget[0])
        budget[0] -= len(data)
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as exc:
        return f"nested zip cannot be read: {exc}"


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """A member's bytes, never more than ``cap`` + 1 whatever its header claims."""
    with archive.open(info) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise ValueError("larger than allowed")
    return data


def _zip_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[int], bytes]:
    def read(cap: int = MAX_FILE_BYTES) -> bytes:
        with archive.open(info) as fh:
            return fh.read(cap + 1)
    return read


def _zip_source(name: str, origin: str, path: Path,
                info: dict[str, str] | None = None) -> Source:
    def entries(stack: contextlib.ExitStack) -> Iterator[Entry]:
        archive = stack.enter_context(zipfile.ZipFile(path))
        yield from _zip_entries(archive, (), 1, [MAX_ZIP_BYTES])
    return Source(name, origin, entries, info or {})


# -- finding students in a source ----------------------------------------------------------------

def discover(source: Path) -> list[Source]:
    """Students in a folder, a bulk zip or an nbgrader course (``submitted/<student>/``)."""
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise CollectError(f"{source} is a file but not a zip")
        return _bulk_zip(source)
    if not source.is_dir():
        raise CollectError(f"{source} does not exist")
    if (source / "submitted").is_dir():
        return [_folder_source(p.name, p, f"nbgrader submitted/{p.name}", _nbgrader_info(p))
                for p in sorted((source / "submitted").iterdir())
                if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    found: list[Source] = []
    flat: dict[str, list[Path]] = {}
    for path in sorted(source.iterdir()):
        if path.name.startswith(".") or path.is_symlink() or path.name == REPORT:
            continue
        canvas = CANVAS.match(path.name) if path.is_file() else None
        if canvas:
            flat.setdefault(canvas["name"], []).append(path)
        elif path.is_dir():
            moodle = MOODLE.match(path.name)
            found.append(_folder_source(moodle["name"] if moodle else path.name, path,
                                        path.name))
        elif zipfile.is_zipfile(path):
            found.append(_zip_source(path.stem, path.name, path))
    for name, files in flat.items():
        found.append(_canvas_files_source(name, files))
    return found


def _folder_source(name: str, path: Path, origin: str,
                   info: dict[str, str] | None = None) -> Source:
    return Source(name, origin, lambda stack: _folder_entries(path), info or {})


def _nbgrader_info(student_dir: Path) -> dict[str, str]:
    stamps = {}
    for stamp in sorted(student_dir.glob("*/timestamp.txt")):
        try:
            stamps[f"submitted_at:{stamp.parent.name}"] = stamp.read_text("utf-8",
                                                                          "replace").strip()
        except OSError:
            continue
    return stamps


def _canvas_files_source(name: str, files: list[Path]) -> Source:
    info: dict[str, str] = {}

    def entries(stack: contextlib.ExitStack) -> Iterator[Entry]:
        for path in files:
            match = CANVAS.match(path.name)
            assert match
            inner = match["file"]
            if inner.lower().endswith(".zip") and zipfile.is_zipfile(path):
                archive = stack.enter_context(zipfile.ZipFile(path))
                yield from _zip_entries(archive, (), 1, [MAX_ZIP_BYTES])
            elif path.is_file() and not path.is_symlink():
                yield Entry((inner,), path.stat().st_size, _reader(path))
    first = CANVAS.match(files[0].name)
    if first:
        info["canvas_user_id"] = first["user"]
    return Source(name, ", ".join(p.name for p in files), entries, info)


def _bulk_zip(path: Path) -> list[Source]:
    """An LMS bulk download: one student per top-level folder, or Canvas-named files."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    tops: dict[str, str] = {}
    for raw in names:
        parts = _safe_parts(raw)
        if not parts or parts[0] in IGNORED_DIRS:
            continue  # a name that climbs out is listed in its owner's report, if it has one
        key = parts[0]
        if len(parts) == 1:
            canvas = CANVAS.match(key)
            if canvas:
                tops.setdefault(key, f"canvas:{canvas['name']}")
            elif key.lower().endswith(".zip"):
                tops.setdefault(key, f"zip:{key[:-4]}")
            # any other loose file at the top belongs to nobody
        else:
            moodle = MOODLE.match(key)
            tops.setdefault(key, f"dir:{moodle['name'] if moodle else key}")
    students: dict[str, list[str]] = {}
    for key, label in tops.items():
        students.setdefault(label.split(":", 1)[1], []).append(key)
    return [_bulk_member_source(student, path, keys)
            for student, keys in sorted(students.items())]


def _bulk_member_source(student: str, path: Path, keys: list[str]) -> Source:
    """One student's members of a bulk zip: a folder, files, or zips inside it."""
    def entries(stack: contextlib.ExitStack) -> Iterator[Entry]:
        archive = stack.enter_context(zipfile.ZipFile(path))
        for entry in _zip_entries(archive, (), 1, [MAX_ZIP_BYTES], frozenset(keys)):
            canvas = CANVAS.match(entry.parts[0]) if len(entry.parts) == 1 else None
            if canvas and not entry.problem:
                entry.parts = (canvas["file"],)
            elif len(entry.parts) > 1:
                entry.parts = entry.parts[1:]
            yield entry

    origin = f"{path.name}: {', '.join(sorted(keys))}"[:300]
    return Source(student, origin, entries)


# -- matching declared files ---------------------------------------------------------------------

def _candidates(entries: Sequence[Entry], ex: Exercise, rel_file: str,
                unique_names: set[str]) -> list[tuple[int, Entry]]:
    """Entries that could be ``rel_file`` of ``ex``, ranked: lower is a better match."""
    want = tuple(PurePosixPath(rel_file).parts)
    rel = tuple(ex.rel.split("/"))
    aliases = {ex.id, rel[-1]}
    ranked = []
    for entry in entries:
        parts = entry.parts
        if parts[-len(want):] != want:
            continue
        head = parts[:-len(want)]
        if head[-len(rel):] == rel:
            before = head[:-len(rel)]
            rank = 0 if not before or before[-1] == "exercises" else 1
        elif head[-1:] and head[-1] in aliases:
            rank = 2
        elif rel_file in unique_names:
            rank = 3 + len(head)  # a file only one exercise declares, wherever it lies
        else:
            continue
        ranked.append((rank, entry))
    ranked.sort(key=lambda pair: (pair[0], len(pair[1].parts), pair[1].parts))
    return ranked


def _take(entries: Sequence[Entry], exercises: Sequence[Exercise], out: Path,
          report: StudentReport) -> None:
    names: dict[str, int] = {}
    for ex in exercises:
        for f in ex.handed_in:
            names[f] = names.get(f, 0) + 1
    unique = {f for f, n in names.items() if n == 1}
    for entry in entries:
        if entry.problem and "unsafe" in entry.problem:
            report.rejected.append((_printable("/".join(entry.parts)), entry.problem))
    for ex in exercises:
        wanted = [(f, False) for f in ex.files] + [(f, True) for f in ex.artifacts]
        for rel_file, artifact in wanted:
            label = f"{ex.rel}/{rel_file}"
            ranked = _candidates(entries, ex, rel_file, unique)
            if not ranked:
                if not artifact:  # an artifact (a saved model) is optional: its tests say so
                    report.missing.append(label)
                continue
            best = ranked[0][1]
            others = [e for r, e in ranked[1:] if r == ranked[0][0]]
            if others:
                report.notes.append(f"{label}: {len(others) + 1} candidates, took "
                                    f"{_printable('/'.join(best.parts))}")
            if best.note:
                report.notes.append(f"{label}: {best.note}")
            if best.problem:
                report.rejected.append((label, best.problem))
                continue
            if not allowed_file(rel_file, artifact):
                report.rejected.append((label, "file type not allowed"))
                continue
            cap = ex.budget.artifact_bytes if artifact else MAX_FILE_BYTES
            if best.size > cap:
                report.rejected.append((label, f"larger than {cap // 2**20} MB"))
                continue
            try:
                data = best.read(cap)
            except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError) as exc:
                report.rejected.append((label, f"cannot be read: {exc}"))
                continue
            if len(data) > cap:
                report.rejected.append((label, f"larger than {cap // 2**20} MB"))
                continue
            target = out / ex.rel / rel_file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            report.taken.append(label)


def collect(course: Course, source: Path, out: Path,
            exercise_ids: Sequence[str] = ()) -> list[StudentReport]:
    """Collect every student found in ``source`` into ``out``; returns one report each."""
    exercises = [course.get(i) for i in exercise_ids] if exercise_ids else course.exercises
    source = source.resolve()
    out = out.resolve()
    if out == source or source in out.parents:
        raise CollectError("OUT must not be inside SOURCE")
    sources = discover(source)
    out.mkdir(parents=True, exist_ok=True)
    taken_ids: set[str] = set()
    reports: list[StudentReport] = []
    for src in sources:
        student = _unique(sanitise(src.name), taken_ids)
        report = StudentReport(student, _printable(src.origin), info=src.info)
        if student != src.name:
            report.notes.append(f"student id {student!r} from {_printable(src.name)!r}")
        folder = out / student
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        with contextlib.ExitStack() as stack:
            try:
                entries = list(src.entries(stack))
            except (OSError, zipfile.BadZipFile, ValueError, RuntimeError) as exc:
                report.notes.append(f"could not be read: {exc}")
                entries = []
            if len(entries) >= MAX_ENTRIES:
                report.notes.append(f"{MAX_ENTRIES} files or more: only those were searched")
            _take(entries, exercises, folder, report)
        reports.append(report)
    _write_report(out, source, reports, _orphans(source))
    return reports


def _orphans(source: Path) -> list[str]:
    """Zip member names that climb out of the zip and belong to no student folder."""
    if not source.is_file():
        return []
    with zipfile.ZipFile(source) as archive:
        names = archive.namelist()
    owners = {_top(n) for n in names if _safe_parts(n)}
    return [_printable(n) for n in names if _safe_parts(n) is None and _top(n) not in owners]


def collect_folder(exercises: Sequence[Exercise], folder: Path, out: Path,
                   student: str = "submission") -> StudentReport:
    """Take one learner's declared files from a folder laid out any way (a Gradescope upload,
    a clone, loose files) into ``out`` laid out like exercises/."""
    report = StudentReport(student, str(folder))
    _take(list(_folder_entries(folder)), exercises, out, report)
    return report


def _write_report(out: Path, source: Path, reports: list[StudentReport],
                  ignored: list[str]) -> None:
    path = out / REPORT
    previous: dict[str, Any] = {}
    try:
        previous = json.loads(path.read_text(encoding="utf-8")).get("students", {})
    except (OSError, ValueError, AttributeError):
        previous = {}
    students = dict(previous) if isinstance(previous, dict) else {}
    students.update({r.id: r.to_dict() for r in reports})
    text = json.dumps({"source": _printable(str(source)), "ignored": ignored,
                       "students": dict(sorted(students.items()))}, indent=2,
                      ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
