"""Grade one unit (one submission of one exercise) in a child process, bounded from outside.

The judge (pytest, the tests, the decoding of replies) works on what a learner made: a hostile
submission can make its checks run for hours or swell its memory. So each unit is graded in a
process of its own, which the caller kills past a wall-clock deadline (the exercise's budget
plus :data:`MARGIN_SECONDS` for the judge's own work) or past :data:`MEMORY_MB` of resident
memory, and records as a grade: never a hang, never a retry. Where the machine allows a cgroup,
everything the unit started (workers, daemons that left their session) ends with it.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from grader.engine import judge_preload, timing
from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.engine.results import ExerciseResult, TestResult
from grader.sandbox import cgroup
from grader.sandbox import limits as sandbox

MARGIN_SECONDS = 60.0  # the judge's own work beyond the exercise's budget: imports, checks
MEMORY_MB = 4096  # the judge's resident memory (its workers have their own limits)
POLL_SECONDS = 0.1
MAX_ANSWER = 64 * 1024 * 1024  # a result is a few KB; its tests' outputs are capped
STOPPED = "grading stopped"


def deadline(ex: Exercise, margin: float | None = None) -> float:
    """Seconds one unit of this exercise may take in all."""
    return ex.budget.exercise_seconds + (MARGIN_SECONDS if margin is None else margin)


@dataclass
class Outcome:
    """How one unit ended: its result (None if the judge failed), time, and the judge's peak."""

    result: ExerciseResult | None
    wall: float
    peak_rss_kb: int
    submission_seconds: float | None = None
    error: str = ""  # the engine failed (not the submission): nothing to record
    crashed: bool = False  # the judge ended on its own, without an answer


def stopped_result(ex: Exercise, why: str, status: str = "timeout") -> ExerciseResult:
    """The grade of a unit the judge could not finish: 0 of the exercise's automatic points."""
    result = ExerciseResult(ex.id, ex.title, ex.skill, message=why)
    points = float(ex.points - sum(item.points for item in ex.manual))
    result.tests = [TestResult(name=STOPPED, task="", status=status, score=0.0,
                               max_score=points, message=why)]
    return result


def context(fork: bool = True, preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """``fork`` from a single-threaded caller that allows it (the CLI: nothing to re-import);
    else a fork server, the judges' template, with the engine and ``preload`` (the libraries the
    tests import: :mod:`grader.engine.judge_preload`) imported once. A batch asks for the
    server: its judges then inherit none of its descriptors (the gradebook, its lock) or threads.
    A process has one fork server: the first caller's ``preload`` is the one that counts."""
    methods = multiprocessing.get_all_start_methods()
    if fork and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([*judge_preload.ENGINE, *preload])
    return ctx


class Judge:
    """One unit being graded in a child process; :meth:`poll` until it returns an Outcome."""

    def __init__(self, ctx: multiprocessing.context.BaseContext, course_root: Path,
                 ex: Exercise, stage_root: Path, seed: int, jobs: int = 1,
                 margin: float | None = None, memory_mb: int | None = None,
                 reference_cache: Path | None = None,
                 template: tuple[str, str] | None = None) -> None:
        self.ex = ex
        self.seconds = deadline(ex, margin)
        self.memory = (MEMORY_MB if memory_mb is None else memory_mb) * 1024 * 1024
        self.group = cgroup.Group.make("unit")
        self._reader, writer = ctx.Pipe(duplex=False)
        self.process: Any = ctx.Process(  # type: ignore[attr-defined]
            target=_main, name=f"grader-judge-{ex.id}", daemon=True,
            args=(writer, str(course_root), ex.id, str(stage_root), seed, jobs,
                  self.group.path if self.group else None, os.getpid(),
                  str(reference_cache) if reference_cache else "", template))
        self.start = time.monotonic()
        try:
            self.process.start()
        except BaseException:
            self._cleanup()
            raise
        writer.close()
        self._peak_kb = 0
        self._answer: dict[str, Any] | None = None

    @property
    def waitables(self) -> list[Any]:
        """What :func:`multiprocessing.connection.wait` may wait on for this judge."""
        return [self._reader, self.process.sentinel]

    def poll(self) -> Outcome | None:
        """The outcome once the judge answered, ended, or was stopped; None while it runs."""
        elapsed = time.monotonic() - self.start
        if self._answer is None and self._reader.poll():
            with contextlib.suppress(EOFError, OSError, ValueError):
                self._answer = json.loads(self._reader.recv_bytes(MAX_ANSWER))
        if self._answer is not None:
            self.process.join(timeout=5)
            return self._finish(self._answer, elapsed)
        if self.process.exitcode is not None:
            code = self.process.exitcode
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            outcome = self._stop(f"{STOPPED}: the grader's process for this exercise ended "
                                 f"unexpectedly ({how}) while checking the submission; ask "
                                 "your instructor to grade it again", "error", elapsed)
            outcome.crashed = True
            return outcome
        rss = self._rss_kb()
        self._peak_kb = max(self._peak_kb, rss)
        if rss * 1024 > self.memory:
            return self._stop(f"{STOPPED}: the grader's checks used more than "
                              f"{self.memory // 2**20} MB of memory on this submission", "error",
                              elapsed)
        if elapsed > self.seconds:
            return self._stop(f"{STOPPED} after {self.seconds:g} s: the submission made the "
                              "grader's checks run too long", "timeout", elapsed)
        return None

    def wait(self) -> Outcome:
        """Poll until the unit ends (never longer than its deadline and a few seconds)."""
        from multiprocessing.connection import wait

        while (outcome := self.poll()) is None:
            wait(self.waitables, timeout=POLL_SECONDS)
        return outcome

    def _rss_kb(self) -> int:
        """The judge's own resident memory: pages it does not share with its template (the
        libraries the fork server imported count once, in the server)."""
        return own_memory_kb(self.process.pid)

    def _finish(self, answer: dict[str, Any], elapsed: float) -> Outcome:
        self._cleanup()
        peak = max(self._peak_kb, int(answer.get("peak_rss_kb", 0)))
        if "error" in answer:
            return Outcome(None, elapsed, peak, error=str(answer["error"])[:2000])
        return Outcome(ExerciseResult.from_dict(answer["result"]), float(answer["wall"]), peak,
                       answer.get("submission_seconds"))

    def _stop(self, why: str, status: str, elapsed: float) -> Outcome:
        self.kill()
        return Outcome(stopped_result(self.ex, why, status), elapsed, self._peak_kb)

    def kill(self) -> None:
        """End the judge and everything the unit started, now."""
        if self.process.exitcode is None:
            with contextlib.suppress(OSError):
                os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        if self.group is not None:
            self.group.remove()
            self.group = None
        self._reader.close()


def _status_kb(pid: int | str, field: bytes) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(field + b":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def own_memory_kb(pid: int) -> int:
    """Resident memory of ``pid`` that is private to it (KB), or its whole RSS where the
    kernel has no ``smaps_rollup``."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            private = [int(line.split()[1]) for line in fh
                       if line.startswith((b"Private_Clean:", b"Private_Dirty:"))]
        if private:
            return sum(private)
    except (OSError, ValueError, IndexError):
        pass
    return _status_kb(pid, b"VmRSS")


def _main(conn: Connection, course_root: str, exercise_id: str, stage_root: str, seed: int,
          jobs: int, group: str | None, launcher: int, reference_cache: str = "",
          template: tuple[str, str] | None = None) -> None:
    """The judge: grade one unit and send the result back as JSON (``reference_cache``: the
    folder where course-only reference values persist between units, "" for none;
    ``template``: the warm template leased for this unit, :mod:`grader.engine.warm_pool`)."""
    sandbox.die_with_parent(os.getppid())
    inherited_kb = _status_kb("self", b"VmRSS")  # the template's pages, shared
    _let_the_fork_server_go()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the launcher's to handle
    try:
        os.kill(launcher, 0)
    except ProcessLookupError:
        os._exit(1)
    if group is not None:
        cgroup.Group(group).enter()
    os.environ[sandbox.JOBS_VAR] = str(jobs)
    os.environ.update(sandbox.thread_env(jobs))  # for the judge's own numeric libraries
    if template is not None:
        from grader.engine import warm_pool

        warm_pool.attach(*template)
    from grader.engine.runner import grade_exercise

    start = time.monotonic()
    try:
        course = Course.load(Path(course_root))
        result = grade_exercise(course, course.get(exercise_id), Path(stage_root), seed,
                                Path(reference_cache) if reference_cache else None)
        timing.write(exercise_id, result.submission_seconds)
        answer: dict[str, Any] = {"result": result.to_dict(), "wall": time.monotonic() - start,
                                  "submission_seconds": result.submission_seconds}
    except Exception as exc:  # an engine failure: say so, never a grade
        answer = {"error": repr(exc)}
    if template is not None:
        from grader.engine import warm_pool

        if warm_pool.lost_workers():  # the machine's fault: no answer, so it is graded again
            os._exit(75)
    high_water = _status_kb("self", b"VmHWM")  # since the fork: it starts at what was inherited
    answer["peak_rss_kb"] = (max(0, high_water - inherited_kb) if high_water and inherited_kb
                             else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    conn.send_bytes(json.dumps(answer).encode())
    conn.close()


def _let_the_fork_server_go() -> None:
    """Close this process's copy of the fork server's lifeline: the server then exits when the
    launcher does (even by SIGKILL), and its judges with it (their parent-death signal)."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if server is not None and fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
        server._forkserver_alive_fd = None
