"""Grade exercises: one in-process pytest session per exercise, results from the plugin."""

from __future__ import annotations

import contextlib
import io
import platform
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.engine.results import PENDING, ExerciseResult, RunResult, TestResult
from grader.sandbox import isolation

if TYPE_CHECKING:
    from grader.engine import judge

INI = Path(__file__).with_name("pytest_grader.ini")
KEY_LIBRARIES = ("numpy", "pandas", "pyarrow", "pytest", "scikit-learn", "torch", "transformers",
                 "duckdb")


def environment(seed: int, hidden: bool) -> dict[str, object]:
    """A fingerprint of what graded: versions, isolation tier, seed."""
    libraries = {}
    for name in KEY_LIBRARIES:
        try:
            libraries[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        grader_version = metadata.version("ml-engineer-lab")
    except metadata.PackageNotFoundError:
        grader_version = "unknown"
    return {"python": platform.python_version(), "platform": sys.platform,
            "grader": grader_version, "libraries": libraries,
            "isolation": isolation.current().label, "seed": seed, "hidden_tests": hidden}


INSTALL_HINTS = {
    "node": "install Node.js 18 or newer (Debian/Ubuntu: `sudo apt-get install nodejs`)",
    "r": "install R (Debian/Ubuntu: `sudo apt-get install r-base-core r-cran-jsonlite`)",
    "docker": "install Docker and start its engine",
}


def missing_requirements(ex: Exercise) -> list[str]:
    """Tools an exercise needs that this machine lacks."""
    probes = {"node": "node", "docker": "docker", "r": "Rscript"}
    return [req for req in ex.requires if req in probes and shutil.which(probes[req]) is None]


def grade_exercise(course: Course, ex: Exercise, submission_root: Path,
                   seed: int, reference_cache: Path | None = None) -> ExerciseResult:
    """Run one exercise's public and (when present) hidden tests against a submission.

    ``reference_cache``: the folder where course-only reference values persist between
    gradings (:mod:`grader.engine.reference_cache`); None keeps nothing.
    """
    from grader.engine.plugin import GradingPlugin

    start = time.monotonic()
    plugin = GradingPlugin(course, ex, submission_root, seed, reference_cache)
    missing = missing_requirements(ex)
    dirs = course.test_dirs(ex)
    if missing:
        hints = "; ".join(f"{req}: {INSTALL_HINTS.get(req, 'install it')}" for req in missing)
        plugin.result.unavailable = True
        plugin.result.message = (f"skipped: {', '.join(missing)} not found on this machine, so "
                                 f"this exercise is not counted. To take it: {hints}")
    elif not dirs:
        plugin.result.message = f"no tests found for {ex.id} under {course.exercise_dir(ex)}"
    else:
        args = [str(d) for d in dirs] + [
            "-c", str(INI), "--rootdir", str(course.root), "--noconftest",
            "-p", "no:cacheprovider", "-p", "no:stepwise", "--import-mode=importlib",
            "--assert=plain", "-q", "--disable-plugin-autoload", "-W", "ignore",
            # The plugin reads exceptions, never longrepr; the default style parses source for
            # every failing test (about 0.15 s each, seconds for a starter).
            "--tb=native",
        ]
        sink = io.StringIO()
        try:
            import pytest

            with contextlib.redirect_stdout(sink):
                code = pytest.main(args, plugins=[plugin])
        except Exception as exc:  # grade the rest of the course regardless
            plugin.result.message += f"the grader failed on this exercise: {exc!r}\n"
        else:
            if code not in (0, 1) and not plugin.result.tests:
                tail = sink.getvalue().strip().splitlines()[-5:]
                plugin.result.message += f"pytest could not run the tests (exit {int(code)}): " \
                                         + " | ".join(tail)
    plugin.result.tests += [
        TestResult(name=f"manual: {item.id}", task="", status=PENDING, score=0.0,
                   max_score=float(item.points),
                   message=f"pending manual review: {item.title} (an instructor records these "
                           "points; they never count automatically)")
        for item in ex.manual]
    plugin.result.duration = time.monotonic() - start
    plugin.result.message = plugin.result.message.strip()
    return plugin.result


def grade(course: Course, exercises: Sequence[Exercise], submission_root: Path,
          seed: int | None = None,
          progress: Callable[[ExerciseResult], None] | None = None,
          bounded: bool = False, reference_cache: Path | None = None,
          jobs: int = 1) -> RunResult:
    """Grade the chosen exercises of one submission, each isolated from the others.

    ``bounded``: each exercise in a child process killed past its deadline or memory limit
    (:mod:`grader.engine.judge`), as ``grader grade`` and ``check`` do; else in this process.
    ``jobs``: with ``bounded``, how many exercises are graded side by side.
    ``reference_cache``: where course-only reference values persist between gradings.
    """
    seed = secrets.randbelow(2**31) if seed is None else seed
    hidden = any((course.solution_dir(ex) / "tests").is_dir() for ex in exercises)
    run = RunResult(environment=environment(seed, hidden))
    for problem in course.broken:
        run.exercises.append(ExerciseResult(
            id=problem.path.parent.name, title="(broken manifest)", skill="",
            message=f"{problem}. Fix the manifest; the other exercises were graded"))
    side_by_side = bounded and jobs > 1 and len(exercises) > 1
    done = _bounded_side_by_side(course, exercises, submission_root, seed, reference_cache,
                                 jobs) if side_by_side else {}
    for ex in exercises:
        if side_by_side:
            result = done[ex.id]
        elif bounded:
            result = _bounded(course, ex, submission_root, seed, reference_cache)
        else:
            result = grade_exercise(course, ex, submission_root, seed, reference_cache)
        run.exercises.append(result)
        if progress:
            progress(result)
    return run


def _bounded_side_by_side(course: Course, exercises: Sequence[Exercise], submission_root: Path,
                          seed: int, reference_cache: Path | None,
                          jobs: int) -> dict[str, ExerciseResult]:
    """Every exercise in a judge of its own, ``jobs`` at a time, the longest budgets first (so
    the short ones fill in around them); each bounded as :func:`_bounded` is."""
    import importlib
    from multiprocessing.connection import wait

    from grader.engine import judge, judge_preload
    from grader.sandbox import cgroup

    cgroup.sweep_stale()
    # This process is every judge's template: the engine and pytest are imported here once,
    # and each judge forked below starts with them. (Not the tests' libraries: importing torch
    # here would hold up every judge for seconds, where judges import side by side.)
    for name in judge_preload.ENGINE:
        importlib.import_module(name)
    ctx = judge.context()
    queue = sorted(exercises, key=lambda ex: -ex.budget.exercise_seconds)
    running: dict[judge.Judge, Exercise] = {}
    done: dict[str, ExerciseResult] = {}
    try:
        while queue or running:
            while queue and len(running) < jobs:
                ex = queue.pop(0)
                running[judge.Judge(ctx, course.root, ex, submission_root, seed, jobs=jobs,
                                    reference_cache=reference_cache)] = ex
            wait([w for unit in running for w in unit.waitables], timeout=judge.POLL_SECONDS)
            for unit in list(running):
                outcome = unit.poll()
                if outcome is not None:
                    done[running.pop(unit).id] = _result_of(unit.ex, outcome)
    finally:
        for unit in running:
            unit.kill()
    return done


def _bounded(course: Course, ex: Exercise, submission_root: Path, seed: int,
             reference_cache: Path | None) -> ExerciseResult:
    """One exercise graded by a judge process of its own, stopped from outside if need be."""
    from grader.engine import judge
    from grader.sandbox import cgroup

    cgroup.sweep_stale()  # what a grader killed with SIGKILL may have left
    outcome = judge.Judge(judge.context(), course.root, ex, submission_root, seed,
                          reference_cache=reference_cache).wait()
    return _result_of(ex, outcome)


def _result_of(ex: Exercise, outcome: judge.Outcome) -> ExerciseResult:
    """A judge's outcome as the exercise's result (an engine failure is said as one)."""
    from grader.engine import judge

    if outcome.result is None:
        return judge.stopped_result(ex, f"the grader failed on this exercise: {outcome.error}",
                                    "error")
    outcome.result.submission_seconds = outcome.submission_seconds or 0.0
    return outcome.result
