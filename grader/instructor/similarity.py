"""Integrity signals across a class: pairs of students whose code or artefacts look alike.

Never a verdict: every pair comes with its evidence, for a person to look at. Within each
exercise, every student's handed-in files become a set of fingerprints (code: winnowed token
k-grams; models: per-tensor sketches; JSON outputs: rounded content hashes). The starter's and
the reference's fingerprints are removed first, so the course's own text never counts, and so
are fingerprints that a large share of the class has (everyday idiom, a shared base model).
Candidate pairs come from an inverted index of what is left, never from comparing all pairs.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.instructor.artefact_hashes import (
    DECIMALS,
    SIGNIFICANT,
    NotComparable,
    json_digest,
    model_digest,
)
from grader.instructor.fingerprints import MAX_TEXT_BYTES, Fingerprints, fingerprint, language
from grader.sandbox.limits import read_output

REFERENCE = "(course reference)"
CODE, MODEL, OUTPUT = "code", "model", "output"
MAX_JSON_BYTES = 5 * 1024 * 1024
MAX_CANDIDATES = 400_000  # distinct candidate pairs per exercise; past it, no new pairs
MAX_KEPT = 200  # pairs kept per exercise and kind (the best ones)
MAX_REGIONS = 60  # flagged pairs per exercise whose matching regions are kept for the page
MAX_GROUP = 25  # students listed pairwise when many hand in the same artefact


@dataclass(frozen=True)
class Settings:
    """The documented thresholds (docs/instructors.md, "Similarity")."""

    threshold: float = 0.5  # code: shared share of the smaller submission's own fingerprints
    min_shared: int = 15  # code: and at least this many shared fingerprints
    model_threshold: float = 0.8  # models: share of the smaller model's own tensors
    common_share: float = 0.2  # a fingerprint in more than this share of the class is idiom
    min_common: int = 8  # ... but a fingerprint in this many students or fewer always counts

    def common_cap(self, students: int) -> int:
        """Most students a fingerprint may appear in and still count."""
        return max(self.min_common, int(self.common_share * students))


@dataclass
class Match:
    """One pair (or one student and the course's reference) and why they look alike."""

    kind: str  # code, model or output
    exercise: str
    a: str
    b: str  # another student, or REFERENCE
    shared: int
    size_a: int
    size_b: int
    score: float  # 0..1: shared over the smaller side's own fingerprints
    flagged: bool
    evidence: list[str] = field(default_factory=list)
    # code: per side, (file, start, end) character ranges of the matching regions
    regions_a: list[tuple[str, int, int]] = field(default_factory=list)
    regions_b: list[tuple[str, int, int]] = field(default_factory=list)


@dataclass
class SimilarityReport:
    """Every kept pair, best first, with what was skipped and how long it took."""

    matches: list[Match] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    students: int = 0
    exercises: int = 0
    files: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # summed over the processes that compared: load-independent
    settings: Settings = field(default_factory=Settings)

    @property
    def flagged(self) -> list[Match]:
        """The pairs above the thresholds."""
        return [m for m in self.matches if m.flagged]


@dataclass
class _Doc:
    """One student's fingerprints for one exercise and kind."""

    hashes: set[int] = field(default_factory=set)
    spans: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    evidence: dict[int, str] = field(default_factory=dict)  # artefacts: what a hash stands for
    exact: dict[str, set[int]] = field(default_factory=dict)  # models: file -> exact tensors
    files: dict[str, str] = field(default_factory=dict)  # artefacts: file -> sha/exact hash


def _read(base: Path, rel: str, cap: int, notes: list[str], who: str) -> bytes | None:
    """A handed-in file's bytes (no links, capped); None when missing or skipped with a note."""
    try:
        return read_output(base, rel, cap)
    except FileNotFoundError as exc:
        if "(" in str(exc):  # there, but refused: a link, a folder, a device
            notes.append(f"{who}: {str(exc).rsplit('(', 1)[-1].rstrip(')')}; not read")
        return None
    except ValueError as exc:
        notes.append(f"{who}: {exc}; skipped")
        return None


def _course_file(course: Course, tree: str, ex: Exercise, name: str, cap: int) -> bytes | None:
    base = course.root / tree
    try:
        return read_output(base, f"{ex.rel}/{name}", cap)
    except (FileNotFoundError, ValueError):
        return None


def _code_docs(course: Course, ex: Exercise, class_dir: Path, students: Sequence[str],
               notes: list[str]) -> tuple[dict[str, _Doc], _Doc, set[int], int]:
    """Per student, code fingerprints; the reference's own (beyond the starter); course set."""
    names = [n for n in ex.files if language(n) is not None]
    course_hashes: set[int] = set()
    reference = _Doc()
    starter_hashes: set[int] = set()
    for name in names:
        for tree in ("exercises", "solutions"):
            data = _course_file(course, tree, ex, name, MAX_TEXT_BYTES)
            if data is None:
                continue
            prints = fingerprint(data.decode("utf-8", "replace"), name)
            course_hashes |= prints.hashes
            if tree == "exercises":
                starter_hashes |= prints.hashes
            else:
                reference.hashes |= prints.hashes
    reference.hashes -= starter_hashes
    docs: dict[str, _Doc] = {}
    files = 0
    seen: dict[tuple[str, bytes], Fingerprints] = {}  # identical files are lexed once
    for student in students:
        doc = _Doc()
        for name in names:
            data = _read(class_dir / student, f"{ex.rel}/{name}", MAX_TEXT_BYTES, notes,
                         f"{student}/{ex.id}/{name}")
            if data is None:
                continue
            files += 1
            key = (name, hashlib.sha256(data).digest())
            if key not in seen:
                seen[key] = fingerprint(data.decode("utf-8", "replace"), name)
                if seen[key].cut:
                    notes.append(f"{student}/{ex.id}/{name}: {seen[key].cut}")
            prints = seen[key]
            for h, spans in prints.spans.items():
                if h not in starter_hashes:
                    doc.hashes.add(h)
                    doc.spans.setdefault(h, (name, *spans[0]))
        if doc.hashes:
            docs[student] = doc
    return docs, reference, course_hashes, files


def _artefact_docs(course: Course, ex: Exercise, class_dir: Path, students: Sequence[str],
                   notes: list[str]) -> tuple[dict[str, dict[str, _Doc]], dict[str, _Doc], int]:
    """Per kind and student, model and JSON-output fingerprints; the reference's per kind."""
    models = [n for n in ex.handed_in if n.lower().endswith(".safetensors")]
    outputs = [n for n in ex.handed_in if n.lower().endswith(".json")]
    per_kind: dict[str, dict[str, _Doc]] = {MODEL: {}, OUTPUT: {}}
    course_docs = {MODEL: _Doc(), OUTPUT: _Doc()}
    starter_docs = {MODEL: _Doc(), OUTPUT: _Doc()}
    files = 0

    def add(doc: _Doc, kind: str, name: str, data: bytes, who: str) -> None:
        if kind == MODEL:
            try:
                digest = model_digest(data)
            except NotComparable as exc:
                notes.append(f"{who}: {exc}; not compared")
                return
            doc.files[name] = digest.sha256[:16]
            doc.exact[name] = set(digest.exact.values())
            for tensor, h in digest.sketch.items():
                doc.hashes.add(h)
                doc.evidence[h] = f"{name}: tensor {tensor}"
            return
        exact, rounded = json_digest(data)
        doc.files[name] = f"{exact:016x}"
        doc.hashes.add(rounded)
        doc.evidence[rounded] = name

    for kind, names in ((MODEL, models), (OUTPUT, outputs)):
        cap = ex.budget.artifact_bytes if kind == MODEL else MAX_JSON_BYTES
        for name in names:
            shipped = None
            for tree, docs in (("solutions", course_docs), ("exercises", starter_docs)):
                data = _course_file(course, tree, ex, name, cap)
                if data is not None:
                    add(docs[kind], kind, name, data, f"course {tree}/{ex.id}/{name}")
                    shipped = data if tree == "exercises" else shipped
            for student in students:
                data = _read(class_dir / student, f"{ex.rel}/{name}", cap, notes,
                             f"{student}/{ex.id}/{name}")
                if data is None or data == shipped:  # left as shipped: not attempted
                    continue
                files += 1
                doc = per_kind[kind].setdefault(student, _Doc())
                add(doc, kind, name, data, f"{student}/{ex.id}/{name}")
    for kind in (MODEL, OUTPUT):
        starter = starter_docs[kind].hashes
        course_docs[kind].hashes -= starter
        for student, doc in list(per_kind[kind].items()):
            doc.hashes -= starter  # a placeholder left as shipped is not attempted
            if not doc.hashes:
                del per_kind[kind][student]
    return per_kind, course_docs, files


def _pairs(docs: dict[str, _Doc], cap: int | None,
           notes: list[str], what: str) -> tuple[dict[tuple[str, str], int], set[int]]:
    """Shared-fingerprint counts per candidate pair from an inverted index; the common hashes."""
    index: dict[int, list[str]] = {}
    for student, doc in docs.items():
        for h in doc.hashes:
            index.setdefault(h, []).append(student)
    common: set[int] = set()
    counts: dict[tuple[str, str], int] = {}
    full = False
    crowd = 0  # the most students sharing one uncapped fingerprint
    for h, holders in index.items():
        if len(holders) < 2:
            continue
        if cap is not None and len(holders) > cap:
            common.add(h)
            continue
        if len(holders) > MAX_GROUP:  # only without a cap: one output file many hand in
            crowd = max(crowd, len(holders))
            holders = holders[:MAX_GROUP]
        holders = sorted(holders)
        for i, a in enumerate(holders):
            for b in holders[i + 1:]:
                key = (a, b)
                if key in counts:
                    counts[key] += 1
                elif len(counts) < MAX_CANDIDATES:
                    counts[key] = 1
                else:
                    full = True
    if crowd:
        notes.append(f"{what}: {crowd} students hand in the same file; pairs listed for the "
                     f"first {MAX_GROUP} (alphabetically)")
    if full:
        notes.append(f"{what}: more than {MAX_CANDIDATES} candidate pairs; the rest were not "
                     "counted (raise common_share's strictness or compare fewer students)")
    return counts, common


def _code_matches(ex: Exercise, docs: dict[str, _Doc], reference: _Doc,
                  course_hashes: set[int], settings: Settings, notes: list[str],
                  students: int) -> list[Match]:
    own = {s: _Doc(hashes=d.hashes - course_hashes, spans=d.spans) for s, d in docs.items()}
    counts, common = _pairs(own, settings.common_cap(students), notes, f"{ex.id} code")
    sizes = {s: len(d.hashes - common) for s, d in own.items()}
    found: list[Match] = []
    for (a, b), shared in counts.items():
        small = max(1, min(sizes[a], sizes[b]))
        score = shared / small
        if shared < max(3, settings.min_shared // 3):
            continue
        flagged = shared >= settings.min_shared and score >= settings.threshold
        found.append(Match(CODE, ex.id, a, b, shared, sizes[a], sizes[b], round(score, 3),
                           flagged, [f"{shared} shared code fingerprints: {score:.0%} of the "
                                     f"smaller submission's own ({small}); starter, reference "
                                     "and code common in the class left out"]))
    found.sort(key=lambda m: (not m.flagged, -m.score, -m.shared))
    found = found[:MAX_KEPT]
    for m in found[:MAX_REGIONS]:
        if not m.flagged:
            break
        both = (own[m.a].hashes & own[m.b].hashes) - common
        m.regions_a = [own[m.a].spans[h] for h in both]
        m.regions_b = [own[m.b].spans[h] for h in both]
    if reference.hashes:  # the hidden reference solution itself, handed in
        for student, doc in docs.items():
            inside = doc.hashes & reference.hashes
            score = len(inside) / len(reference.hashes)
            if len(inside) >= settings.min_shared and score >= settings.threshold:
                found.append(Match(
                    CODE, ex.id, student, REFERENCE, len(inside), len(doc.hashes),
                    len(reference.hashes), round(score, 3), True,
                    [f"contains {score:.0%} of the reference solution's fingerprints "
                     f"({len(inside)} of {len(reference.hashes)}, starter excluded); the "
                     "reference is not released to students"],
                    regions_a=[doc.spans[h] for h in inside]))
    return found


def _same_files(a: _Doc, b: _Doc) -> list[str]:
    return sorted(n for n, h in a.files.items() if b.files.get(n) == h)


def _reference_matches(ex: Exercise, kind: str, docs: dict[str, _Doc], reference: _Doc,
                       settings: Settings) -> list[Match]:
    """Students whose artefact is the course's own reference output."""
    found = []
    for student, doc in docs.items():
        same = _same_files(doc, reference)
        inside = doc.hashes & reference.hashes
        score = 1.0 if same else len(inside) / max(1, len(reference.hashes))
        needed = settings.model_threshold if kind == MODEL else 1e-9
        if not same and (not inside or score < needed):
            continue
        evidence = [f"{n}: byte-for-byte identical to the reference's" for n in same]
        if kind == MODEL:
            evidence.append(f"{len(inside)} of {len(reference.hashes)} tensors equal to the "
                            f"reference model's at {DECIMALS} decimals (sampled values)")
        else:
            evidence += [f"{doc.evidence[h]}: identical to the reference's after rounding "
                         f"numbers to {SIGNIFICANT} significant digits" for h in sorted(inside)]
        evidence.append("the same as the course's own reference output: was it handed in "
                        "instead of the learner's own run?")
        found.append(Match(kind, ex.id, student, REFERENCE, len(inside), len(doc.hashes),
                           len(reference.hashes), round(score, 3), True, evidence))
    return found


def _artefact_matches(ex: Exercise, kind: str, docs: dict[str, _Doc], reference: _Doc,
                      settings: Settings, notes: list[str], students: int) -> list[Match]:
    found = _reference_matches(ex, kind, docs, reference, settings)
    # A tensor most of the class shares is the common base model (frozen layers), not
    # copying, and so is one equal to the reference's; an output file many students share is
    # more suspicious, not less: no cap for outputs.
    cap = None
    if kind == MODEL:
        cap = settings.common_cap(students)
        for doc in docs.values():
            doc.hashes -= reference.hashes
    counts, common = _pairs(docs, cap, notes, f"{ex.id} {kind}s")
    candidates = set(counts)
    by_file: dict[tuple[str, str], list[str]] = {}
    for student, doc in docs.items():
        for name, h in doc.files.items():
            by_file.setdefault((name, h), []).append(student)
    for holders in by_file.values():
        holders = sorted(holders)[:MAX_GROUP]
        candidates |= {(a, b) for i, a in enumerate(holders) for b in holders[i + 1:]}
    for a, b in candidates:
        da, db = docs[a], docs[b]
        shared = len((da.hashes & db.hashes) - common)
        size_a, size_b = len(da.hashes - common), len(db.hashes - common)
        same = _same_files(da, db)
        score = 1.0 if same else shared / max(1, min(size_a, size_b))
        evidence = [f"{n}: byte-for-byte identical file" for n in same]
        if kind == MODEL:
            evidence += [f"{n}: every tensor's bytes identical (the file itself differs)"
                         for n in sorted(set(da.exact) & set(db.exact))
                         if n not in same and da.exact[n] == db.exact[n]]
            evidence.append(f"{shared} of {min(size_a, size_b)} distinctive tensors equal at "
                            f"{DECIMALS} decimals (sampled values; tensors the reference or "
                            "much of the class share are left out)")
            flagged = bool(same) or (shared >= 1 and score >= settings.model_threshold)
        else:
            names = sorted({da.evidence[h] for h in da.hashes & db.hashes} - set(same))
            evidence += [f"{n}: identical after rounding numbers to {SIGNIFICANT} significant "
                         "digits (a deterministic recipe can also do this: compare the code)"
                         for n in names]
            flagged = True
        found.append(Match(kind, ex.id, a, b, shared, size_a, size_b, round(score, 3),
                           flagged, evidence))
    found.sort(key=lambda m: (not m.flagged, -m.score, -m.shared))
    return found[:MAX_KEPT]


def compare_exercise(course_root: str, class_dir: str, exercise_id: str,
                     students: Sequence[str],
                     settings: Settings) -> tuple[list[Match], list[str], int, float]:
    """Every kept pair of one exercise, its notes, how many files it read and the CPU seconds
    it took (one unit of work)."""
    cpu = time.process_time()
    course = Course.load(Path(course_root))
    ex = course.get(exercise_id)
    notes: list[str] = []
    docs, reference, course_hashes, files = _code_docs(course, ex, Path(class_dir), students,
                                                       notes)
    matches = _code_matches(ex, docs, reference, course_hashes, settings, notes, len(students))
    del docs
    per_kind, course_docs, more = _artefact_docs(course, ex, Path(class_dir), students, notes)
    for kind, kind_docs in per_kind.items():
        matches += _artefact_matches(ex, kind, kind_docs, course_docs[kind], settings, notes,
                                     len(students))
    return matches, notes, files + more, time.process_time() - cpu


def compare(course: Course, class_dir: Path, students: Sequence[str],
            exercises: Sequence[Exercise] | None = None, jobs: int = 1,
            settings: Settings | None = None,
            progress: Callable[[str], None] | None = None) -> SimilarityReport:
    """Compare every student with every other, exercise by exercise, ``jobs`` at a time."""
    settings = settings or Settings()
    chosen = list(exercises) if exercises is not None else list(course.exercises)
    report = SimilarityReport(students=len(students), exercises=len(chosen), settings=settings)
    start = time.perf_counter()
    args = [(str(course.root), str(class_dir), ex.id, list(students), settings)
            for ex in chosen]
    if jobs <= 1:
        results = [compare_exercise(*a) for a in args]
    else:
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [pool.submit(compare_exercise, *a) for a in args]
            results = []
            for ex, future in zip(chosen, futures, strict=True):
                results.append(future.result())
                if progress:
                    progress(ex.id)
    for matches, notes, files, cpu in results:
        report.matches += matches
        report.notes += notes
        report.files += files
        report.cpu_seconds += cpu
    report.matches.sort(key=lambda m: (not m.flagged, -m.score, -m.shared, m.exercise, m.a,
                                       m.b))
    report.seconds = time.perf_counter() - start
    return report
