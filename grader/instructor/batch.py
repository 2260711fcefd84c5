"""Grade a whole class in parallel: one unit per student and exercise, resumable, in SQLite."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.engine import fingerprint, judge, judge_preload, reference_cache, warm_pool
from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.instructor.gradebook import Grade, Gradebook
from grader.sandbox import cgroup
from grader.sandbox.limits import copy_submission

DB_NAME = "gradebook.sqlite"
REFERENCE_CACHE = ".reference-cache"  # beside the gradebook; hidden, so never a student's folder


@dataclass(frozen=True)
class Unit:
    """One student's submission of one exercise, staged and hashed, and why it is graded."""

    student: str
    exercise: str
    stage: Path  # a private copy holding only the declared learner files
    submission_hash: str
    reason: str


@dataclass
class Plan:
    """What a batch run will grade and what it leaves alone."""

    units: list[Unit] = field(default_factory=list)
    up_to_date: int = 0
    kept_stale: int = 0  # stale grades left alone because of --only-missing
    notes: list[str] = field(default_factory=list)


@dataclass
class UnitTiming:
    """How long one unit took: wall time in the grading process and inside submission calls."""

    student: str
    exercise: str
    wall: float
    submission_seconds: float | None
    peak_rss_kb: int = 0  # the judge process's peak resident memory


@dataclass
class Summary:
    """The outcome of a batch run."""

    graded: int = 0
    up_to_date: int = 0
    kept_stale: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # student, exercise, why
    elapsed: float = 0.0
    timings: list[UnitTiming] = field(default_factory=list)
    interrupted: bool = False


class BatchError(RuntimeError):
    """A batch that cannot start: bad folder, gradebook in use."""


def discover_students(submissions: Path) -> list[str]:
    """Student folders directly under ``submissions`` (no links, no hidden folders), sorted."""
    if not submissions.is_dir():
        raise BatchError(f"{submissions} is not a folder of student submissions")
    return sorted(p.name for p in submissions.iterdir()
                  if not p.name.startswith(".") and p.is_dir() and not p.is_symlink())


def _linked_part(base: Path, rel: str) -> str | None:
    """The first component of ``base/rel`` (base included) that is a link, if any."""
    path = base
    for part in (None, *Path(rel).parts):
        path = path / part if part else path
        with contextlib.suppress(FileNotFoundError):
            if path.is_symlink():
                return str(path)
    return None


def stage(student_dir: Path, ex: Exercise, stage_root: Path) -> tuple[Path, str, list[str]]:
    """Copy only the exercise's declared files into a private root; hash exactly that copy."""
    root = stage_root
    target = root / ex.rel
    target.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    link = _linked_part(student_dir, ex.rel)
    if link is not None:
        notes.append(f"{link} is a symbolic link: nothing was taken from it")
    else:
        report = copy_submission(student_dir / ex.rel, ex.files, target, ex.artifacts,
                                 ex.budget.artifact_bytes)
        notes += [f"{name}: {why}" for name, why in report.rejected]
    return root, fingerprint.files_hash(target, ex.handed_in), notes


@dataclass(frozen=True)
class Current:
    """What a grade made now would record, to compare stored grades against."""

    course_hashes: dict[str, str]
    grader: str
    env_hash: str
    seed: int

    @classmethod
    def of(cls, course: Course, exercises: Sequence[Exercise], seed: int) -> Current:
        """The current course hashes, engine version, environment and class seed."""
        return cls({ex.id: fingerprint.course_hash(course, ex) for ex in exercises},
                   fingerprint.engine_version(), fingerprint.environment_hash(), seed)


def stale_reasons(grade: Grade, current: Current, submission_hash: str | None) -> list[str]:
    """Why a stored grade no longer matches what grading now would use (empty: up to date)."""
    reasons = []
    if submission_hash is not None and grade.submission_hash != submission_hash:
        reasons.append("submission changed")
    if current.course_hashes.get(grade.exercise, grade.course_hash) != grade.course_hash:
        reasons.append("tests or data changed")
    if grade.grader != current.grader:
        reasons.append(f"grader changed ({grade.grader} -> {current.grader})")
    if grade.env_hash != current.env_hash:
        reasons.append("environment changed")
    if grade.seed != current.seed:
        reasons.append("class seed changed")
    return reasons


def class_seed(gb: Gradebook, requested: int | None) -> tuple[int, str]:
    """The seed every student is graded with (same hidden inputs for the whole class)."""
    stored = gb.meta("seed")
    if requested is None and stored is not None:
        return int(stored), ""
    seed = secrets.randbelow(2**31) if requested is None else requested
    gb.set_meta("seed", str(seed))
    if stored is not None and int(stored) != seed:
        return seed, f"class seed changed from {stored} to {seed}: earlier grades are stale"
    return seed, ""


def plan(course: Course, exercises: Sequence[Exercise], submissions: Path, gb: Gradebook,
         stage_root: Path, students: Sequence[str], current: Current, regrade: bool = False,
         only_missing: bool = False) -> Plan:
    """Stage every unit and decide which need grading: new, stale or forced."""
    result = Plan()
    for student in students:
        for ex in exercises:
            unit_root = stage_root / student / ex.id
            root, digest, notes = stage(submissions / student, ex, unit_root)
            result.notes += [f"{student}/{ex.id}: {n}" for n in notes]
            stored = gb.get(student, ex.id)
            if stored is None:
                reason = "new"
            elif regrade:
                reason = "regrade requested"
            else:
                reasons = stale_reasons(stored, current, digest)
                if not reasons:
                    result.up_to_date += 1
                    continue
                if only_missing:
                    result.kept_stale += 1
                    continue
                reason = "; ".join(reasons)
            result.units.append(Unit(student, ex.id, root, digest, reason))
    return result


# -- the parent --------------------------------------------------------------------------------

@contextlib.contextmanager
def _exclusive(db: Path) -> Iterator[None]:
    """One batch per gradebook at a time."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another `grader batch` is writing {db}; wait for it or stop "
                             "it first") from None
        yield


class _Display:
    """A progress bar with ETA on the terminal (rich), or nothing when quiet."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.quiet = quiet
        self._progress: Any = None
        if quiet or not total:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"),
            console=Console(stderr=True), transient=False)
        self._task = self._progress.add_task("", total=total)
        self._progress.start()

    def advance(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def run(course: Course, submissions: Path, db: Path | None = None, jobs: int = 1,
        exercise_ids: Sequence[str] = (), student_ids: Sequence[str] = (), regrade: bool = False,
        only_missing: bool = False, seed: int | None = None, quiet: bool = False,
        say: Callable[[str], None] = print, cluster: str | None = None,
        require_tier: str = "") -> Summary:
    """Grade every selected unit that is new or stale; write each grade as it finishes."""
    submissions = submissions.resolve()
    db = (db or submissions / DB_NAME).resolve()
    exercises = [course.get(i) for i in exercise_ids] if exercise_ids else list(course.exercises)
    everyone = discover_students(submissions)
    unknown = sorted(set(student_ids) - set(everyone))
    if unknown:
        raise BatchError(f"no submission folder for {', '.join(unknown)} in {submissions}")
    students = [s for s in everyone if s in student_ids] if student_ids else everyone
    for problem in course.broken:
        say(f"warning: skipping a broken manifest: {problem}")
    summary = Summary()
    with _exclusive(db), Gradebook(db) as gb, \
            tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
        the_seed, note = class_seed(gb, seed)
        if note:
            say(note)
        gb.set_meta("submissions", str(submissions))
        gb.set_meta("course", str(course.root))
        current = Current.of(course, exercises, the_seed)
        work = plan(course, exercises, submissions, gb, Path(tmp), students, current,
                    regrade=regrade, only_missing=only_missing)
        summary.up_to_date, summary.kept_stale = work.up_to_date, work.kept_stale
        for line in work.notes:
            say(f"note: {line}")
        say(f"{len(students)} students x {len(exercises)} exercises: {len(work.units)} to "
            f"grade, {work.up_to_date} up to date" +
            (f", {work.kept_stale} stale kept (--only-missing)" if work.kept_stale else "") +
            f"; seed {the_seed}; {jobs} job{'s' if jobs != 1 else ''}; gradebook {db}")
        whole_class = not exercise_ids and not student_ids
        if not work.units:
            if whole_class:  # every unit is graded: earlier interrupted runs are settled
                gb.settle_runs()
            return summary
        cgroup.sweep_stale()  # what a grader killed with SIGKILL may have left
        references = None if cluster else _reference_folder(db, say)  # a worker keeps its own
        run_id = gb.start_run(jobs, len(work.units), _command_line())
        display = _Display(len(work.units), quiet)
        start = time.monotonic()
        try:
            if cluster:
                from grader.instructor.cluster import grade_units

                grade_units(cluster, course, work.units, the_seed, current, gb, run_id,
                            summary, display, require_tier)
            else:
                _grade_all(course, work.units, jobs, the_seed, current, gb, run_id, summary,
                           display, references)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            display.close()
            summary.elapsed = time.monotonic() - start
        if not summary.interrupted:
            gb.finish_run(run_id)
            if whole_class and not summary.failed:
                gb.settle_runs()
        for student, ex_id, why in summary.failed:
            say(f"could not grade {student}/{ex_id}: {why}")
        rate = summary.graded / summary.elapsed if summary.elapsed else 0.0
        say(f"graded {summary.graded} in {summary.elapsed:.1f} s ({rate:.2f} per second)" +
            (f"; {len(summary.failed)} could not be graded: run again to retry"
             if summary.failed else "") +
            ("; interrupted: run the same command again to resume" if summary.interrupted
             else ""))
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _reference_folder(db: Path, say: Callable[[str], None]) -> Path | None:
    """Where this class's judges keep course-only reference values (hidden data, reference
    outputs): computed once per exercise and class seed, not per student. Only the grader
    writes there (0700); ``GRADER_REFERENCE_CACHE`` moves it, ``off`` turns it off."""
    folder = reference_cache.configured_folder(db.parent / REFERENCE_CACHE)
    if folder is None:
        return None
    try:
        return reference_cache.prepare(folder)
    except (OSError, reference_cache.CacheUnusable) as exc:
        say(f"note: reference values are computed for every student: {exc}")
        return None


def _command_line() -> str:
    import sys

    return " ".join(["grader", *sys.argv[1:]])[:1000]


def _grade_all(course: Course, units: list[Unit], jobs: int, seed: int, current: Current,
               gb: Gradebook, run_id: int, summary: Summary, display: _Display,
               references: Path | None = None) -> None:
    """Keep ``jobs`` units in flight, each in a judge process bounded in time and memory
    (:mod:`grader.engine.judge`); record each as it finishes, a stopped unit as a grade. A
    judge that died on its own is tried once more, then recorded. Every wait has a timeout."""
    from multiprocessing.connection import wait

    # One exercise's units in a row: its warm templates then serve many students each.
    queue = sorted(units, key=lambda u: u.exercise, reverse=True)
    retried: set[Unit] = set()
    jobs = max(1, jobs)
    exercises = [course.get(name) for name in sorted({u.exercise for u in units})]
    ctx = judge.context(fork=False, preload=judge_preload.judge_imports(course, exercises))
    running: dict[judge.Judge, tuple[Unit, int]] = {}
    free = list(range(jobs))
    pool = warm_pool.Pool.for_batch(course, jobs=jobs)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                unit = queue.pop()
                slot = free.pop()
                ex = course.get(unit.exercise)
                warm = pool.address(ex, slot) if pool is not None else None
                running[judge.Judge(ctx, course.root, ex, unit.stage, seed, jobs,
                                    reference_cache=references, template=warm)] = (unit, slot)
            wait([w for j in running for w in j.waitables], timeout=judge.POLL_SECONDS)
            for unit_judge in list(running):
                outcome = unit_judge.poll()
                if outcome is None:
                    continue
                unit, slot = running.pop(unit_judge)
                free.append(slot)
                if pool is not None:
                    pool.release(slot)
                if outcome.crashed and unit not in retried:  # once: the machine may be at fault
                    retried.add(unit)
                    queue.append(unit)
                    continue
                if outcome.result is None:  # an engine failure is not the student's grade
                    summary.failed.append((unit.student, unit.exercise, outcome.error))
                    display.advance(f"{unit.student}/{unit.exercise} failed")
                    continue
                record_outcome(gb, unit, outcome, current, run_id, summary, display)
            if pool is not None:  # an exercise's last unit is done: free its templates' memory
                pool.retire({u.exercise for u in queue} |
                            {u.exercise for u, _ in running.values()})
    finally:
        for unit_judge in running:  # interrupted: end every unit still in flight
            unit_judge.kill()
        if pool is not None:
            pool.close()


def record_outcome(gb: Gradebook, unit: Unit, outcome: judge.Outcome, current: Current,
                   run_id: int, summary: Summary, display: _Display) -> None:
    """One finished unit: into the gradebook (its own transaction), the summary, the display."""
    assert outcome.result is not None
    _record(gb, unit, outcome, current, run_id)
    summary.graded += 1
    summary.timings.append(UnitTiming(unit.student, unit.exercise, outcome.wall,
                                      outcome.submission_seconds, outcome.peak_rss_kb))
    display.advance(f"{unit.student}/{unit.exercise} "
                    f"{outcome.result.score:g}/{outcome.result.max_score:g}")


def _record(gb: Gradebook, unit: Unit, outcome: judge.Outcome, current: Current,
            run_id: int) -> None:
    assert outcome.result is not None
    result = outcome.result.to_dict()
    gb.record(Grade(
        student=unit.student, exercise=unit.exercise, score=float(result["score"]),
        max_score=float(result["max_score"]), status=str(result["status"]), result=result,
        submission_hash=unit.submission_hash,
        course_hash=current.course_hashes[unit.exercise], grader=current.grader,
        environment=fingerprint.environment(), env_hash=current.env_hash, seed=current.seed,
        duration=outcome.wall, submission_seconds=outcome.submission_seconds, run_id=run_id))


def status(course: Course, gb: Gradebook) -> list[tuple[Grade, list[str]]]:
    """Every stored grade with the reasons it is stale now (empty when up to date)."""
    seed_text = gb.meta("seed")
    known = {ex.id: ex for ex in course.exercises}
    exercises = [known[e] for e in gb.exercises() if e in known]
    current = Current.of(course, exercises, int(seed_text) if seed_text else 0)
    folder = gb.meta("submissions")
    out = []
    with tempfile.TemporaryDirectory(prefix="grader-status-") as tmp:
        for grade in gb.grades():
            digest = None
            ex = known.get(grade.exercise)
            if folder and ex is not None and (Path(folder) / grade.student).is_dir():
                _, digest, _ = stage(Path(folder) / grade.student, ex,
                                     Path(tmp) / grade.student / ex.id)
            reasons = stale_reasons(grade, current, digest)
            if ex is None:
                reasons.append("exercise no longer in the course")
            out.append((grade, reasons))
    return out


def default_jobs() -> int:
    """One job per core, leaving nothing idle on small machines."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
