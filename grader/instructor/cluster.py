"""Grade a batch's units on a Dask cluster: units travel as bytes, grades come back as data.

The parent (the instructor's machine) plans and stages units as usual, packs each one's staged
files as bytes (capped and hashed: workers share no filesystem), and submits them to a Dask
scheduler. Each worker has the same course checkout and environment; a unit refuses to grade
when the worker's course hash, grader version or environment differs from the parent's, naming
what differs. The gradebook stays with the parent, which records each finished unit once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

COURSE_ENV = "GRADER_COURSE"  # the worker's course checkout (default: the package's course)
MAX_UNIT_BYTES = 256 * 1024 * 1024  # a packed unit's files, all together
LOCAL = "local:"


class ClusterError(RuntimeError):
    """The cluster cannot grade this batch (unreachable, or workers that differ)."""


@dataclass(frozen=True)
class Expected:
    """What the parent would record, which every worker must match before it grades."""

    course_hashes: dict[str, str]
    grader: str
    environment: dict[str, object]
    require_tier: str = ""


def pack(stage: Path, limit: int = MAX_UNIT_BYTES) -> dict[str, Any]:
    """A staged unit's regular files as ``{relative path: bytes}`` plus their digest."""
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(stage.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        total += len(data)
        if total > limit:
            raise ClusterError(f"{stage} holds more than {limit // 2**20} MB: not sent")
        files[path.relative_to(stage).as_posix()] = data
    return {"files": files, "digest": _digest(files)}


def _digest(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return digest.hexdigest()


def _unpack(packed: Mapping[str, Any], into: Path) -> None:
    """Write a packed unit below ``into``, refusing anything that would land outside it."""
    files = packed["files"]
    if _digest(files) != packed["digest"]:
        raise ClusterError("the unit's files do not match their digest: not graded")
    root = into.resolve()
    for rel, data in files.items():
        target = (root / rel).resolve()
        if root not in target.parents:
            raise ClusterError(f"{rel!r} would be written outside the unit: not graded")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


# -- on the worker ---------------------------------------------------------------------------

def _course_root() -> Path:
    from grader.engine.course import Course

    configured = os.environ.get(COURSE_ENV)
    return Course.load(Path(configured)).root if configured else Course.find().root


def differences(expected: Expected, exercise_ids: list[str] | None = None) -> list[str]:
    """What on this machine differs from the parent's grading set-up (empty: the same)."""
    from grader.engine import fingerprint
    from grader.engine.course import Course
    from grader.sandbox import isolation

    course = Course.load(_course_root())
    found = []
    for ex_id in exercise_ids or sorted(expected.course_hashes):
        try:
            here = fingerprint.course_hash(course, course.get(ex_id))
        except KeyError:
            found.append(f"{ex_id} is not in this worker's course")
            continue
        if here != expected.course_hashes[ex_id]:
            found.append(f"course hash for {ex_id}: {here} here, "
                         f"{expected.course_hashes[ex_id]} on the instructor's machine")
    if fingerprint.engine_version() != expected.grader:
        found.append(f"grader version: {fingerprint.engine_version()} here, "
                     f"{expected.grader} on the instructor's machine")
    env = fingerprint.environment()
    for key in sorted(set(env) | set(expected.environment)):
        if env.get(key) != expected.environment.get(key):
            found.append(f"environment {key}: {env.get(key)!r} here, "
                         f"{expected.environment.get(key)!r} on the instructor's machine")
    tier = isolation.current()
    if expected.require_tier and not tier.at_least(expected.require_tier):
        found.append(f"isolation tier {tier.label} is weaker than the required "
                     f"{expected.require_tier}")
    return found


def describe_worker() -> dict[str, Any]:
    """Who this worker is, for the parent's messages (host, course, tier)."""
    import socket

    from grader.sandbox import isolation

    return {"host": socket.gethostname(), "course": str(_course_root()),
            "tier": isolation.current().label}


@cache
def _worker_references() -> Path | None:
    """Where this worker keeps course-only reference values between units:
    ``GRADER_REFERENCE_CACHE`` on the worker, else a private folder removed when it exits."""
    import atexit

    from grader.engine import reference_cache

    if os.environ.get(reference_cache.CACHE_VAR) is None:
        folder = Path(tempfile.mkdtemp(prefix="grader-references-"))  # 0700
        atexit.register(shutil.rmtree, folder, True)
        return folder
    configured = reference_cache.configured_folder(None)
    try:
        return reference_cache.prepare(configured) if configured else None
    except (OSError, reference_cache.CacheUnusable):
        return None


_WARM: dict[str, Any] = {}
_WARM_LOCK = threading.Lock()
WARM_PER_SLOT = 2  # a worker keeps the templates of its two latest exercises per thread


@contextlib.contextmanager
def _warm_slot(course: Any) -> Iterator[tuple[Any, int]]:
    """This worker's template pool and a slot of it no other task uses meanwhile."""
    from grader.engine import warm_pool

    with _WARM_LOCK:
        if "pool" not in _WARM:
            import atexit

            _WARM["pool"] = warm_pool.Pool.for_batch(course, per_slot=WARM_PER_SLOT)
            _WARM["busy"] = set()
            if _WARM["pool"] is not None:
                atexit.register(_WARM["pool"].close)
        pool, busy = _WARM["pool"], _WARM["busy"]
        slot = next(i for i in range(len(busy) + 1) if i not in busy)
        busy.add(slot)
    try:
        yield pool, slot
    finally:
        with _WARM_LOCK:
            if pool is not None:
                pool.release(slot)
            busy.discard(slot)


def grade_packed(packed: Mapping[str, Any], exercise_id: str, seed: int,
                 expected: Expected) -> dict[str, Any]:
    """A Dask task: check this worker matches, unpack, grade in a bounded judge, answer."""
    from grader.engine import judge, judge_preload
    from grader.engine.course import Course

    problems = differences(expected, [exercise_id])
    if problems:
        raise ClusterError("this worker differs from the instructor's machine: "
                           + "; ".join(problems))
    course = Course.load(_course_root())
    stage = Path(tempfile.mkdtemp(prefix="grader-unit-"))
    try:
        _unpack(packed, stage)
        # The worker's judge template imports what every exercise's tests import, once.
        ctx = judge.context(fork=False, preload=judge_preload.judge_imports(course,
                                                                          course.exercises))
        ex = course.get(exercise_id)
        with _warm_slot(course) as (pool, slot):
            warm = pool.address(ex, slot) if pool is not None else None
            outcome = judge.Judge(ctx, course.root, ex, stage, seed,
                                  reference_cache=_worker_references(), template=warm).wait()
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {"result": outcome.result.to_dict() if outcome.result else None,
            "wall": outcome.wall, "peak_rss_kb": outcome.peak_rss_kb,
            "submission_seconds": outcome.submission_seconds, "error": outcome.error,
            "worker": describe_worker()}


def _outcome(answer: Mapping[str, Any]) -> Any:
    """A worker's answer as the judge's Outcome, as a local unit would end."""
    from grader.engine import judge
    from grader.engine.results import ExerciseResult

    result = answer.get("result")
    return judge.Outcome(ExerciseResult.from_dict(result) if result else None,
                         float(answer["wall"]), int(answer.get("peak_rss_kb", 0)),
                         answer.get("submission_seconds"), str(answer.get("error", "")))


def worker_command(scheduler: str, course_root: Path, processes: int
                   ) -> tuple[list[str], dict[str, str]]:
    """The ``dask worker`` command line (and environment) that grades ``course_root``."""
    import sys

    cmd = [sys.executable, "-m", "distributed.cli.dask_worker", scheduler,
           "--nworkers", str(max(1, processes)), "--nthreads", "1",
           "--preload", __name__, "--no-dashboard"]
    # a grading worker starts processes of its own, which Dask's daemonic workers cannot
    env = {COURSE_ENV: str(course_root), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    return cmd, env


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: fail fast without a course, and import the engine once."""
    import importlib

    for name in ("grader.engine.judge", "grader.engine.runner", "grader.engine.plugin"):
        importlib.import_module(name)  # once here, inherited by every forked grading process

    _course_root()


# -- on the instructor's machine -------------------------------------------------------------

@contextlib.contextmanager
def connect(address: str, course_root: Path | None = None) -> Iterator[Any]:
    """A Dask client for ``tcp://HOST:PORT``, or a LocalCluster for ``local:N``."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("--cluster needs Dask's distributed: pip install distributed"
                           ) from None
    if address.startswith(LOCAL):
        workers = int(address[len(LOCAL):] or "1")
        if course_root is not None:  # local workers grade this very course
            os.environ[COURSE_ENV] = str(course_root)
        # a grading worker starts processes of its own, which Dask's daemonic workers cannot
        with dask.config.set({"distributed.worker.daemon": False}):
            local = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None)
            with local, Client(local) as client:  # type: ignore[no-untyped-call]
                yield client
        return
    try:
        client = Client(address, timeout=30)  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        yield client


def check_workers(client: Any, expected: Expected) -> None:
    """Refuse the batch when a connected worker differs from this machine (named)."""
    client.wait_for_workers(1, timeout=120)
    found = client.run(differences, expected)
    bad = {worker: problems for worker, problems in found.items() if problems}
    if bad:
        lines = [f"{worker}: {'; '.join(problems)}" for worker, problems in sorted(bad.items())]
        raise ClusterError("these workers differ from the instructor's machine, so their "
                           "grades would not be comparable:\n  " + "\n  ".join(lines))


def grade_units(address: str, course: Any, units: list[Any], seed: int, current: Any,
                gb: Any, run_id: int, summary: Any, display: Any,
                require_tier: str = "") -> None:
    """``grader batch --cluster``: every unit on the cluster, each recorded here once."""
    from distributed import as_completed

    from grader.engine import fingerprint
    from grader.instructor.batch import record_outcome

    expected = Expected(dict(current.course_hashes), current.grader,
                        dict(fingerprint.environment()), require_tier)
    with connect(address, course.root) as client:
        check_workers(client, expected)
        futures = {}
        for unit in units:
            packed = pack(unit.stage)
            key = f"grade-{unit.student}-{unit.exercise}-{packed['digest'][:12]}"
            futures[client.submit(grade_packed, packed, unit.exercise, seed, expected,
                                  pure=False, key=key)] = unit
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            unit = futures[future]
            try:
                answer = future.result()
            except Exception as exc:  # a differing worker, or one that died too often
                why = str(exc) if isinstance(exc, ClusterError) else \
                    f"the cluster could not grade it: {type(exc).__name__}: {exc}"
                summary.failed.append((unit.student, unit.exercise, why))
                display.advance(f"{unit.student}/{unit.exercise} failed")
                continue
            outcome = _outcome(answer)
            if outcome.result is None:  # the engine failed on the worker: not a grade
                summary.failed.append((unit.student, unit.exercise, outcome.error))
                display.advance(f"{unit.student}/{unit.exercise} failed")
                continue
            record_outcome(gb, unit, outcome, current, run_id, summary, display)
