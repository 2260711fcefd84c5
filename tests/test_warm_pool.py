"""Warm worker templates (grader batch): a forked worker grades like a fresh one, reaches no
more than its own folder, and leaves nothing for the next student; a failed template only means
fresh workers again."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import probed

from grader.engine import fingerprint, judge_preload, warm_pool
from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.engine.outcomes import CallTimeout, SubmissionProblem
from grader.engine.plugin import readable_data, worker_limits
from grader.engine.proxy import Submission, WorkerSpec
from grader.instructor import batch
from grader.sandbox import isolation
from grader.sandbox import limits as sandbox

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "course"
REL = "01_programming/01_tiny-stats"
MARKER = "4242.5"  # a sleep no other process on the machine runs



@pytest.fixture(autouse=True)
def tier_a(monkeypatch: pytest.MonkeyPatch, session_tier: isolation.Tier) -> isolation.Tier:
    """Templates are tier A's: every test here runs in it, or skips saying why."""
    found = probed("A")
    if isinstance(found, str):
        pytest.skip(found)
    if found.landlock < warm_pool.MIN_LANDLOCK or not found.seccomp:
        pytest.skip(f"warm templates need Landlock ABI {warm_pool.MIN_LANDLOCK}+ and seccomp")
    monkeypatch.setattr(isolation, "_current", found)
    monkeypatch.setenv(isolation.ENV_VAR, "A")
    monkeypatch.delenv(warm_pool.ENV_VAR, raising=False)
    return found

HOSTILE = textwrap.dedent(f"""
    import os, signal, subprocess

    def mean(values):
        return sum(values) / len(values)

    def median(values):
        return sorted(values)[len(values) // 2]

    def _try(action):
        try:
            action()
            return "allowed"
        except OSError as exc:
            return type(exc).__name__

    def _shm():  # it would outlive the unit in the template's IPC namespace
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.shmget(0x4C41, 4096, 0o1666) < 0:
            raise OSError(ctypes.get_errno(), "shmget")

    def probe():
        here = os.getcwd()
        return {{
            "own folder": _try(lambda: open(os.path.join(here, "mine.txt"), "w").write("x")),
            "other units' inputs": _try(lambda: os.listdir("/run/grader/units")),
            "the template's /tmp": _try(lambda: os.listdir("/tmp")),
            "signal the template": _try(lambda: os.kill(os.getppid(), signal.SIGSTOP)),
            "signal init": _try(lambda: os.kill(1, signal.SIGKILL)),
            "the template's memory": _try(lambda: open(f"/proc/{{os.getppid()}}/mem", "rb")),
            "outside TCP": _try(lambda: __import__("socket").create_connection(
                ("127.0.0.1", 22), timeout=1)),
            "System V shared memory": _try(_shm),
        }}

    def leave():
        child = subprocess.Popen(["sleep", "{MARKER}"], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(os.path.expanduser("~"), "note.txt"), "w") as fh:
            fh.write("left for the next student")
        return child.pid

    def spin():
        while True:
            pass

    def bomb():
        import os
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    while True:
                        pass
                children += 1
        except OSError:
            return children

    def _state(pid):
        try:
            with open(f"/proc/{{pid}}/stat") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return "gone"

    def others():
        me = os.getpid()
        return sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me
                      and _state(p) not in ("Z", "X", "gone"))
""")


@pytest.fixture
def course() -> Course:
    return Course.load(FIXTURE)


@pytest.fixture
def pool(course: Course) -> Iterator[warm_pool.Pool]:
    made = warm_pool.Pool(course)
    yield made
    warm_pool.detach()
    made.close()


def _spec(course: Course, source: Path) -> WorkerSpec:
    ex = course.get("tiny-stats")
    return WorkerSpec(source=source, files=ex.files, modules=ex.modules, call_seconds=30,
                      exercise_seconds=120, limits=worker_limits(ex), network=ex.network,
                      readable=readable_data(course, ex))


def _hostile(tmp_path: Path) -> Path:
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "stats.py").write_text(HOSTILE)
    return folder


def _lease(pool: warm_pool.Pool, course: Course, slot: int = 0) -> None:
    address = pool.address(course.get("tiny-stats"), slot)
    assert address is not None
    warm_pool.attach(*address)


def _sleepers() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if MARKER.encode() in fh.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def test_a_warm_worker_grades_like_a_fresh_one(pool: warm_pool.Pool, course: Course) -> None:
    source = FIXTURE / "solutions" / REL
    fresh = Submission(_spec(course, source))
    try:
        expected = (fresh.mean([1.0, 2.0, 6.0]), fresh.median([3.0, 1.0, 2.0]))
        assert not isinstance(fresh._worker.proc, warm_pool.ForkedProcess)  # type: ignore
    finally:
        fresh.close()
    _lease(pool, course)
    for _ in range(3):  # one template, three workers in a row
        warm = Submission(_spec(course, source))
        try:
            assert (warm.mean([1.0, 2.0, 6.0]), warm.median([3.0, 1.0, 2.0])) == expected
            assert isinstance(warm._worker.proc, warm_pool.ForkedProcess)  # type: ignore
        finally:
            warm.close()


def test_a_warm_worker_reaches_only_its_own_folder(pool: warm_pool.Pool, course: Course,
                                                    tmp_path: Path) -> None:
    _lease(pool, course)
    sub = Submission(_spec(course, _hostile(tmp_path)))
    try:
        seen = sub.probe()
        assert isinstance(sub._worker.proc, warm_pool.ForkedProcess)  # type: ignore
    finally:
        sub.close()
    assert seen.pop("own folder") == "allowed"
    assert all(outcome != "allowed" for outcome in seen.values()), seen


def test_nothing_a_unit_left_reaches_the_next(pool: warm_pool.Pool, course: Course,
                                              tmp_path: Path) -> None:
    hostile = _hostile(tmp_path)
    _lease(pool, course)
    first = Submission(_spec(course, hostile))
    try:
        first.leave()
        stop = time.monotonic() + 10  # its command line shows once exec has finished
        while not _sleepers() and time.monotonic() < stop:
            time.sleep(0.02)
        assert _sleepers(), "the daemon should run while its unit does"
        first._worker.proc.stdin.close()  # type: ignore  # its worker ends; the daemon stays
        time.sleep(0.5)
    finally:
        first.close()
    warm_pool.detach()  # the unit ends: its judge's connection closes
    template = pool._templates[("tiny-stats", 0)]
    stop = time.monotonic() + 10
    while _sleepers() and time.monotonic() < stop:
        time.sleep(0.05)
    assert not _sleepers(), "a process the last unit left outlived it"
    pidfd = template.box._child()
    assert pidfd is not None
    root = f"/proc/{isolation.pid_of(pidfd)}/root"
    while os.listdir(f"{root}/tmp") and time.monotonic() < stop:
        time.sleep(0.05)
    assert os.listdir(f"{root}/tmp") == [], "the last unit's files are still there"
    _lease(pool, course)
    second = Submission(_spec(course, hostile))
    try:
        left = second.others()
        assert isinstance(second._worker.proc, warm_pool.ForkedProcess)  # type: ignore
    finally:
        second.close()
    assert len(left) <= 2, f"only the sandbox's init and the template should remain: {left}"


def test_a_stuck_or_forking_worker_is_ended_and_the_template_serves_on(
        pool: warm_pool.Pool, course: Course, tmp_path: Path) -> None:
    hostile = _hostile(tmp_path)
    _lease(pool, course)
    spec = dataclasses.replace(_spec(course, hostile), call_seconds=2)
    sub = Submission(spec)
    try:
        with pytest.raises(CallTimeout):
            sub.spin()
    finally:
        sub.close()
    sub = Submission(spec)
    try:  # its process limit may stop the bomb before the call's timeout does
        with contextlib.suppress(CallTimeout):
            sub.bomb()
    finally:
        sub.close()
    sub = Submission(spec)
    try:
        assert sub.mean([1.0, 3.0]) == 2.0
        assert isinstance(sub._worker.proc, warm_pool.ForkedProcess)  # type: ignore
        left = sub.others()
    finally:
        sub.close()
    assert len(left) <= 2, f"what the stopped workers started is still running: {left}"


def test_a_template_lost_mid_unit_is_the_machines_fault(pool: warm_pool.Pool,
                                                        course: Course) -> None:
    _lease(pool, course)
    sub = Submission(_spec(course, FIXTURE / "solutions" / REL))
    try:
        assert sub.mean([2.0, 4.0]) == 3.0
        assert not warm_pool.lost_workers()
        template = pool._templates[("tiny-stats", 0)]
        template.box.kill(template.proc.pid)
        with contextlib.suppress(SubmissionProblem):  # or a fresh worker answers
            sub.mean([2.0, 4.0])
    finally:
        sub.close()
    # the judge then ends without an answer, and the batch grades the unit again
    assert warm_pool.lost_workers()


def test_a_dead_template_means_fresh_workers(pool: warm_pool.Pool, course: Course) -> None:
    _lease(pool, course)
    template = pool._templates[("tiny-stats", 0)]
    template.box.kill(template.proc.pid)  # everything in its sandbox, as an OOM kill might
    template.proc.wait(timeout=10)
    sub = Submission(_spec(course, FIXTURE / "solutions" / REL))
    try:
        assert sub.mean([2.0, 4.0]) == 3.0
        assert not isinstance(sub._worker.proc, warm_pool.ForkedProcess)  # type: ignore
    finally:
        sub.close()
    assert pool.address(course.get("tiny-stats"), 0) is not None  # the pool starts another


def test_a_batch_grades_the_same_warm_and_cold(course: Course, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               request: pytest.FixtureRequest) -> None:
    subs = tmp_path / "class"
    for student, source in (("ref", FIXTURE / "solutions"), ("start", FIXTURE / "exercises"),
                            ("ref2", FIXTURE / "solutions")):
        target = subs / student / REL
        target.mkdir(parents=True)
        shutil.copyfile(source / REL / "stats.py", target / "stats.py")
    scores = {}
    handed: list[bool] = []
    address = warm_pool.Pool.address

    def spy(pool: warm_pool.Pool, ex: Exercise, slot: int) -> tuple[str, str] | None:
        found = address(pool, ex, slot)
        handed.append(found is not None)
        return found

    monkeypatch.setattr(warm_pool.Pool, "address", spy)
    fingerprint.environment.cache_clear()  # it names the tier: A here, not the session's
    request.addfinalizer(fingerprint.environment.cache_clear)
    for warm in ("0", "1"):
        monkeypatch.setenv(warm_pool.ENV_VAR, warm)
        summary = batch.run(course, subs, db=tmp_path / f"gb-{warm}.sqlite", jobs=2, seed=3,
                            exercise_ids=["tiny-stats"], quiet=True, say=lambda text: None)
        assert not summary.failed
        import sqlite3

        with sqlite3.connect(tmp_path / f"gb-{warm}.sqlite") as db:
            scores[warm] = sorted(db.execute("SELECT student, exercise, score FROM grades"))
        # each unit's judge leases the template it is handed, whatever its own environment
        assert handed == ([True] * 3 if warm == "1" else []), handed
    assert scores["0"] == scores["1"]
    assert len(scores["1"]) == 3
    from test_batch import leftovers

    assert not leftovers(), "a template outlived its batch"


def test_a_templates_libraries_share_the_cores_among_the_jobs(course: Course) -> None:
    """torch and BLAS size their thread pools when the template imports them."""
    made = warm_pool.Pool(course, jobs=2)
    try:
        assert made.address(course.get("tiny-stats"), 0) is not None
        template = made._templates[("tiny-stats", 0)]
        pidfd = template.box._child()
        assert pidfd is not None
        init = isolation.pid_of(pidfd)
        found: dict[str, str] = {}
        children = Path(f"/proc/{init}/task/{init}/children").read_text().split()
        for pid in [init, *(int(p) for p in children)]:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                found.update(item.decode().split("=", 1) for item in fh.read().split(b"\0")
                             if b"=" in item)
    finally:
        made.close()
    expected = sandbox.thread_env(2)
    assert {name: found.get(name) for name in expected} == expected


def test_a_killed_batchs_pool_folder_is_removed_by_the_next(course: Course,
                                                           tmp_path: Path) -> None:
    """It holds students' input copies; its batch died with kill -9 (pid 2**22 + 1: none)."""
    import tempfile

    stale = Path(tempfile.gettempdir()) / f"{warm_pool.PREFIX}{2**22 + 1}-test"
    (stale / "units" / "grader-worker-x" / "submission").mkdir(parents=True)
    (stale / "units" / "grader-worker-x" / "submission" / "stats.py").write_text("# a student's")
    live = Path(tempfile.gettempdir()) / f"{warm_pool.PREFIX}{os.getpid()}-test"
    live.mkdir()
    try:
        warm_pool.Pool(course).close()
        assert not stale.exists()
        assert live.exists(), "a running batch's folder was removed"
    finally:
        shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(live, ignore_errors=True)


def test_a_batch_killed_with_sigkill_leaves_no_template(tmp_path: Path) -> None:
    """kill -9 of `grader batch` alone: its templates and their workers end with it."""
    import subprocess
    import sys

    from conftest import descendants
    from test_batch import HANGS_THE_JUDGE, assert_all_end, cmdline, slow_course

    slow = slow_course(tmp_path, exercise_seconds=600)
    subs = tmp_path / "class"
    for student in ("s1", "s2", "s3"):
        (subs / student / REL).mkdir(parents=True)
        (subs / student / REL / "stats.py").write_bytes(HANGS_THE_JUDGE)
    env = dict(os.environ, PYTHONPATH=str(FIXTURE.parents[2]), GRADER_ISOLATION="A")
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "--course", str(slow.root), "batch", str(subs),
         "--jobs", "2", "--seed", "5", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    stop = time.monotonic() + 120

    def warm(pids: list[int]) -> list[int]:
        return [p for p in pids if b"grader.engine.warm_template" in cmdline(p)]

    try:  # two templates (bubblewrap, its init, the template), each with a worker
        while len(warm(below := descendants(proc.pid))) < 4 and time.monotonic() < stop:
            time.sleep(0.1)
        assert len(warm(below)) >= 4, f"the batch never started warm workers: {below}"
    finally:
        proc.kill()
        proc.wait()
    assert_all_end(below)


def test_a_template_imports_what_the_exercise_files_import() -> None:
    """Looked-up names too: transformers imports a model's module when its class is looked up."""
    source = ("import numpy as np\nimport os.path\nfrom transformers import AutoTokenizer\n"
              "from pandas import *\n"
              "from . import local\n\ndef f():\n    import torch.nn\n")
    found = judge_preload.imports_of(source, names=True)
    assert {"numpy", "os.path", "transformers", "transformers:AutoTokenizer",
            "torch.nn"} <= found
    assert not any(name.startswith("local") or name.endswith(":*") for name in found)
