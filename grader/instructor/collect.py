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
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.instructor.student_ids import Assigned, CanvasFile, assign, canvas_file, moodle_folder
from grader.instructor.student_ids import sanitise as sanitise
from grader.instructor.zip_directory import ZipRefused, check, ratio_problem
from grader.sandbox.limits import MAX_FILE_BYTES, allowed_file

REPORT = "collect.json"
IGNORED_DIRS = frozenset({".git", "__pycache__", ".venv", "venv", "node_modules",
                          ".ipynb_checkpoints", "__MACOSX", ".grader", ".pytest_cache"})
MAX_ENTRIES = 20_000  # per student: a folder bigger than this is not a submission
MAX_ZIP_BYTES = 200 * 1024 * 1024  # total uncompressed size read from one student's zips
MAX_ZIP_DEPTH = 2  # a student's zip, and zips inside it; nothing deeper is opened
READ_ERRORS = (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError,
               NotImplementedError, zlib.error)


@dataclass
class Entry:
    """One file a submission offers: a path inside it and a way to read it (never a link)."""

    parts: tuple[str, ...]
    size: int
    read: Callable[[int], bytes]  # reads at most the given number of bytes + 1
    problem: str = ""  # why it may not be taken, when it may not (a link, not a regular file)
    note: str = ""  # worth telling the instructor (a duplicate name in a zip)
    listed: str = ""  # "rejected" or "error": reported even when no exercise wants the file


@dataclass
class Source:
    """One student's raw submission, before matching."""

    name: str  # as found (folder name, zip stem, Canvas name and user id); sanitised later
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
    errors: list[str] = field(default_factory=list)  # the instructor must act on these

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "errors": self.errors, "taken": self.taken,
                "missing": self.missing,
                "rejected": [{"file": f, "why": w} for f, w in self.rejected],
                "notes": self.notes, **({"info": self.info} if self.info else {})}


class CollectError(RuntimeError):
    """A source that cannot be read at all."""


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


def _open_zip(stack: contextlib.ExitStack, path: Path, what: str) -> zipfile.ZipFile:
    """A zip on disk, opened only once its directory passed the size and entry-count checks."""
    fh = stack.enter_context(path.open("rb"))
    check(fh, what)
    fh.seek(0)
    return stack.enter_context(zipfile.ZipFile(fh))


def _zip_entries(archive: zipfile.ZipFile, prefix: tuple[str, ...], depth: int,
                 budget: list[int], members: Sequence[zipfile.ZipInfo] | None = None
                 ) -> Iterator[Entry]:
    """Members of a zip (only ``members`` when given) as entries; nested zips are opened in
    memory within the student's size budget and appear as a folder named like the zip."""
    infos = [i for i in (archive.infolist() if members is None else members)
             if not i.is_dir()][:MAX_ENTRIES]
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
                        "unsafe name in the zip (absolute or '..'): ignored", listed="rejected")
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
        elif parts[-1].lower().endswith(".zip") and depth >= MAX_ZIP_DEPTH:
            yield Entry(full, info.file_size, _nothing, "a zip inside a zip inside a zip is not "
                        "opened: zip the files themselves", note, listed="error")
        elif parts[-1].lower().endswith(".zip"):
            inner = _open_inner(archive, info, budget)
            if isinstance(inner, str):
                yield Entry(full, info.file_size, _nothing, inner, note, listed="error")
            else:
                yield from _zip_entries(inner, full, depth + 1, budget)
        else:
            yield Entry(full, info.file_size, _zip_reader(archive, info, budget),
                        ratio_problem(info.file_size, info.compress_size), note)


def _top(name: str) -> str:
    """The first path component of a zip member name ('' for none)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return parts[0] if parts else ""


def _printable(text: str) -> str:
    """Text safe to write as UTF-8 (file names may hold undecodable bytes)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _open_inner(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                budget: list[int]) -> zipfile.ZipFile | str:
    problem = ratio_problem(info.file_size, info.compress_size)
    if problem:
        return problem
    if info.file_size > budget[0]:
        return (f"not opened: this student's zips unpack to more than the "
                f"{MAX_ZIP_BYTES / 2**20:g} MB allowed in all")
    try:
        data = _read_member(archive, info, budget[0])
        budget[0] -= len(data)
        buffer = io.BytesIO(data)
        check(buffer, "the zip inside the zip")
        buffer.seek(0)
        return zipfile.ZipFile(buffer)
    except ZipRefused as exc:
        return str(exc)
    except READ_ERRORS as exc:
        return f"a zip inside the zip cannot be read: {exc}"


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """A member's bytes, never more than ``cap`` + 1 whatever its header claims."""
    with archive.open(info) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise ValueError("larger than allowed")
    return data


def _zip_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                budget: list[int]) -> Callable[[int], bytes]:
    def read(cap: int = MAX_FILE_BYTES) -> bytes:
        if min(info.file_size, cap + 1) > budget[0]:
            raise ValueError(f"this student's zips unpack to more than the "
                             f"{MAX_ZIP_BYTES / 2**20:g} MB allowed in all")
        with archive.open(info) as fh:
            data = fh.read(cap + 1)
        budget[0] -= len(data)
        return data
    return read


def _zip_source(name: str, origin: str, path: Path) -> Source:
    def entries(stack: contextlib.ExitStack) -> Iterator[Entry]:
        archive = _open_zip(stack, path, "the zip")
        yield from _zip_entries(archive, (), 1, [MAX_ZIP_BYTES])
    return Source(name, origin, entries)


# -- finding students in a source ----------------------------------------------------------------

def discover(source: Path, stack: contextlib.ExitStack) -> tuple[list[Source], list[str]]:
    """Students in a folder, a bulk zip or an nbgrader course (``submitted/<student>/``), and
    the zip names that belong to no student."""
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise CollectError(f"{source} is a file but not a zip")
        return _bulk_zip(source, stack)
    if not source.is_dir():
        raise CollectError(f"{source} does not exist")
    if (source / "submitted").is_dir():
        return [_folder_source(p.name, p, f"nbgrader submitted/{p.name}", _nbgrader_info(p))
                for p in sorted((source / "submitted").iterdir())
                if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")], []
    found: list[Source] = []
    canvas_users: dict[str, list[tuple[Path, CanvasFile]]] = {}
    for path in sorted(source.iterdir()):
        if path.name.startswith(".") or path.is_symlink() or (path.name == REPORT
                                                               and path.is_file()):
            continue
        canvas = canvas_file(path.name) if path.is_file() else None
        if canvas:
            canvas_users.setdefault(canvas.user, []).append((path, canvas))
        elif path.is_dir():
            moodle = moodle_folder(path.name)
            found.append(_folder_source(f"{moodle[0]}_{moodle[1]}" if moodle else path.name,
                                        path, path.name, _moodle_info(moodle)))
        elif zipfile.is_zipfile(path):
            found.append(_zip_source(path.stem, path.name, path))
    for files in canvas_users.values():
        found.append(_canvas_files_source(files))
    return found, []


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


def _canvas_info(files: Sequence[CanvasFile]) -> dict[str, str]:
    """What Canvas says about a student: the user id (the key), the name, whether late."""
    return {"lms": "canvas", "canvas_user_id": files[0].user, "name": files[0].name,
            "late": "yes" if any(f.late for f in files) else "no"}


def _moodle_info(moodle: tuple[str, str] | None) -> dict[str, str]:
    if moodle is None:
        return {}
    return {"lms": "moodle", "moodle_participant_id": moodle[1], "name": _printable(moodle[0])}


def _canvas_files_source(files: list[tuple[Path, CanvasFile]]) -> Source:
    """One Canvas user's files from an unzipped download (zips among them opened)."""
    def entries(stack: contextlib.ExitStack) -> Iterator[Entry]:
        budget = [MAX_ZIP_BYTES]
        for path, canvas in files:
            if canvas.file.lower().endswith(".zip") and zipfile.is_zipfile(path):
                try:
                    archive = _open_zip(stack, path, "the zip")
                except ZipRefused as exc:
                    yield Entry((canvas.file,), 0, _nothing, str(exc), listed="error")
                    continue
                yield from _zip_entries(archive, (), 1, budget)
            elif path.is_file() and not path.is_symlink():
                yield Entry((canvas.file,), path.stat().st_size, _reader(path))
    first = files[0][1]
    return Source(f"{first.name}_{first.user}", ", ".join(p.name for p, _ in files), entries,
                  _canvas_info([c for _, c in files]))


def _bulk_zip(path: Path, stack: contextlib.ExitStack) -> tuple[list[Source], list[str]]:
    """An LMS bulk download: one student per top-level folder or zip, or Canvas-named files
    (one student per Canvas user id); opened once for every student."""
    try:
        archive = _open_zip(stack, path, path.name)
    except ZipRefused as exc:
        raise CollectError(f"{path}: {exc}") from None
    infos = [i for i in archive.infolist() if not i.is_dir()]
    by_top: dict[str, list[zipfile.ZipInfo]] = {}
    for info in infos:
        by_top.setdefault(_top(info.filename), []).append(info)
    students: dict[tuple[str, str], list[str]] = {}  # (kind, key) -> top-level names
    seen: set[str] = set()
    canvas: dict[str, list[CanvasFile]] = {}
    names: dict[tuple[str, str], str] = {}
    moodle_of: dict[tuple[str, str], tuple[str, str] | None] = {}
    for info in infos:
        parts = _safe_parts(info.filename)
        if not parts or parts[0] in IGNORED_DIRS:
            continue  # a name that climbs out is listed in its owner's report, if it has one
        top = parts[0]
        if top in seen:
            continue
        seen.add(top)
        if len(parts) == 1:
            found = canvas_file(top)
            if found:
                key = ("canvas", found.user)
                canvas.setdefault(found.user, []).append(found)
                names.setdefault(key, f"{found.name}_{found.user}")
            elif top.lower().endswith(".zip"):
                key = ("zip", top[:-4])
                names[key] = top[:-4]
            else:
                continue  # any other loose file at the top belongs to nobody
        else:
            moodle = moodle_folder(top)
            key = ("dir", top)
            names[key] = f"{moodle[0]}_{moodle[1]}" if moodle else top
            moodle_of[key] = moodle
        students.setdefault(key, []).append(top)
    sources = []
    for key, tops in sorted(students.items(), key=lambda item: names[item[0]]):
        about = (_canvas_info(canvas[key[1]]) if key[0] == "canvas"
                 else _moodle_info(moodle_of.get(key)))
        members = [i for top in tops for i in by_top.get(top, [])]
        sources.append(_bulk_member_source(names[key], path, archive, tops, members, about))
    owners = {_top(i.filename) for i in infos if _safe_parts(i.filename)}
    orphans = [_printable(i.filename) for i in infos
               if _safe_parts(i.filename) is None and _top(i.filename) not in owners]
    return sources, orphans


def _bulk_member_source(student: str, path: Path, archive: zipfile.ZipFile, tops: list[str],
                        members: list[zipfile.ZipInfo], info: dict[str, str]) -> Source:
    """One student's members of a bulk zip: a folder, files, or zips inside it."""
    def entries(stack: contextlib.ExitStack) -> Iterator[Entry]:
        for entry in _zip_entries(archive, (), 1, [MAX_ZIP_BYTES], members):
            found = canvas_file(entry.parts[0]) if len(entry.parts) == 1 else None
            if found and not entry.problem:
                entry.parts = (found.file,)
            elif len(entry.parts) > 1:
                entry.parts = entry.parts[1:]
            yield entry

    origin = f"{path.name}: {', '.join(sorted(tops))}"[:300]
    return Source(student, origin, entries, info)


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
        where = _printable("/".join(entry.parts))
        if entry.problem and entry.listed == "error":
            report.errors.append(f"{where}: {entry.problem}")
        elif entry.problem and entry.listed:
            report.rejected.append((where, entry.problem))
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


def assignment(out: Path) -> list[str]:
    """The exercises ``grader collect`` gathered into ``out`` (empty: unknown)."""
    try:
        data = json.loads((out / REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    ids = data.get("exercises") if isinstance(data, dict) else None
    return [str(i) for i in ids] if isinstance(ids, list) else []


def collect(course: Course, source: Path, out: Path,
            exercise_ids: Sequence[str] = ()) -> list[StudentReport]:
    """Collect every student found in ``source`` into ``out``; returns one report each."""
    exercises = [course.get(i) for i in exercise_ids] if exercise_ids else course.exercises
    source = source.resolve()
    out = out.resolve()
    if out == source or source in out.parents:
        raise CollectError("OUT must not be inside SOURCE")
    with contextlib.ExitStack() as outer:  # a bulk zip stays open for every student in it
        sources, ignored = discover(source, outer)
        out.mkdir(parents=True, exist_ok=True)
        earlier = [p.name for p in out.iterdir()
                   if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
        ids = assign([(s.name, _printable(s.origin)) for s in sources], earlier)
        reports = [_collect_one(src, given, exercises, out)
                   for src, given in zip(sources, ids, strict=True)]
    _write_report(out, source, reports, ignored, [ex.id for ex in exercises])
    return reports


def _collect_one(src: Source, given: Assigned, exercises: Sequence[Exercise],
                 out: Path) -> StudentReport:
    """One student's declared files into ``out/<id>``; a refused zip costs only this student."""
    report = StudentReport(given.id, _printable(src.origin), info=src.info,
                           errors=list(given.errors))
    if given.id != src.name:
        report.notes.append(f"student id {given.id!r} from {_printable(src.name)!r}")
    folder = out / given.id
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        report.errors.append(f"{folder} is there already and is not a student folder: it was "
                             "left alone, and this student was not collected")
        return report
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with contextlib.ExitStack() as stack:
        try:
            entries = list(src.entries(stack))
        except ZipRefused as exc:
            report.errors.append(f"{report.origin}: {exc}")
            entries = []
        except READ_ERRORS as exc:
            report.errors.append(f"{report.origin} could not be read: {exc}")
            entries = []
        if len(entries) >= MAX_ENTRIES:
            report.notes.append(f"{MAX_ENTRIES} files or more: only those were searched")
        _take(entries, exercises, folder, report)
    return report


def collect_folder(exercises: Sequence[Exercise], folder: Path, out: Path,
                   student: str = "submission") -> StudentReport:
    """Take one learner's declared files from a folder laid out any way (a Gradescope upload,
    a clone, loose files) into ``out`` laid out like exercises/."""
    report = StudentReport(student, str(folder))
    _take(list(_folder_entries(folder)), exercises, out, report)
    return report


def _write_report(out: Path, source: Path, reports: list[StudentReport],
                  ignored: list[str], assignment: list[str]) -> None:
    path = out / REPORT
    previous: dict[str, Any] = {}
    try:
        previous = json.loads(path.read_text(encoding="utf-8")).get("students", {})
    except (OSError, ValueError, AttributeError):
        previous = {}
    students = dict(previous) if isinstance(previous, dict) else {}
    students.update({r.id: r.to_dict() for r in reports})
    # "exercises": the assignment collected, which batch grades unless told otherwise
    text = json.dumps({"source": _printable(str(source)), "exercises": assignment,
                       "ignored": ignored, "students": dict(sorted(students.items()))},
                      indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
