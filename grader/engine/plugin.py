"""The pytest plugin that grades one exercise: fixtures for tests, results filled from hooks."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from grader.engine import timing
from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.engine.outcomes import NotAttempted, NotGraded, SubmissionProblem
from grader.engine.proxy import CapturedOutput, Submission, WorkerSpec
from grader.engine.reference_cache import ReferenceCache, active
from grader.engine.results import ExerciseResult, TestResult
from grader.sandbox import limits as sandbox
from grader.sandbox.limits import Limits


class GradingPlugin:
    """Fixtures (``submission``, ``support``, ``grading_seed``, ...) and result collection."""

    def __init__(self, course: Course, exercise: Exercise, submission_root: Path,
                 seed: int, reference_folder: Path | None = None) -> None:
        self.course = course
        self.ex = exercise
        self.seed = seed
        self.source = submission_root / exercise.rel
        self.hidden_dir = course.solution_dir(exercise) / "tests"
        self.result = ExerciseResult(exercise.id, exercise.title, exercise.skill)
        self._submission: Submission | None = None
        self._support: ModuleType | None = None
        self._started: dict[str, float] = {}
        self._course_hash = ""
        self.reference_folder = reference_folder
        self.references = ReferenceCache(None)
        self._session = contextlib.ExitStack()

    def course_hash(self) -> str:
        """A digest of every course-side file this exercise's tests read."""
        digest = hashlib.sha256()
        ex_dir = self.course.exercise_dir(self.ex)
        folders = [*self.course.test_dirs(self.ex), ex_dir / "data"]
        for folder in folders:
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if path.is_file() and "__pycache__" not in path.parts:
                    digest.update(str(path).encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    # -- fixtures for test authors -------------------------------------------------------------

    @pytest.fixture(scope="session")
    def submission(self) -> Iterator[Submission]:
        """The learner's modules, reached through a worker process."""
        if self._submission is None:
            self._submission = self._make_submission()
        yield self._submission
        self._submission.close()
        self.result.submission_seconds = self._submission.seconds

    def _make_submission(self) -> Submission:
        budget = self.ex.budget
        spec = WorkerSpec(
            source=self.source, files=self.ex.files, modules=self.ex.modules,
            call_seconds=budget.call_seconds, exercise_seconds=budget.exercise_seconds,
            limits=worker_limits(self.ex),
            harness=(self.course.exercise_dir(self.ex) / self.ex.harness
                     if self.ex.harness else None),
            network=self.ex.network, readable=readable_data(self.course, self.ex),
            artifacts=self.ex.artifacts, artifact_bytes=budget.artifact_bytes)
        return Submission(spec, self.ex.id)

    @pytest.fixture(scope="session")
    def support(self) -> ModuleType:
        """The exercise's trusted helper module, ``exercises/<rel>/tests/support.py``."""
        return self._load_support()

    def _load_support(self) -> ModuleType:
        if self._support is None:
            path = self.course.exercise_dir(self.ex) / "tests" / "support.py"
            name = f"_grader_support_{self.ex.id.replace('-', '_')}"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise RuntimeError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            self._support = module
        return self._support

    @pytest.fixture(scope="session")
    def reference_cache(self) -> ReferenceCache:
        """Values that depend only on the course and a key (the seed): computed once per
        exercise and class seed in ``grader batch`` (:mod:`grader.engine.reference_cache`)."""
        return self.references

    @pytest.fixture(scope="session")
    def grading_seed(self) -> int:
        """This run's seed: hidden inputs derive from it, the report records it."""
        return self.seed

    @pytest.fixture(scope="session")
    def exercise(self) -> Exercise:
        """The exercise's manifest."""
        return self.ex

    @pytest.fixture(scope="session")
    def exercise_dir(self) -> Path:
        """The course's learner-visible folder of this exercise (data files live here)."""
        return self.course.exercise_dir(self.ex)

    # -- hooks -------------------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Before any worker runs: trusted helpers load now, and the course's files are hashed
        # so that a submission which rewrites them (possible in the plain tier) is caught.
        self._course_hash = self.course_hash()
        # The worker starts now and imports the learner's libraries while this process loads
        # the tests' own: the two start-ups overlap.
        self._submission = self._make_submission()
        self._submission.start_early()
        self.references = ReferenceCache.for_exercise(self.course, self.ex, self.reference_folder)
        self._session.enter_context(active(self.references))
        if (self.course.exercise_dir(self.ex) / "tests" / "support.py").is_file():
            self._load_support()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._submission is not None:  # no test asked for it (e.g. collection failed)
            self._submission.close()
        self._session.close()
        if self._course_hash and self.course_hash() != self._course_hash:
            for test in self.result.tests:
                test.status, test.score = "error", 0.0
                test.message = ("the course's test files changed while this exercise was "
                                "graded, so this grade cannot be trusted; grade again from a "
                                "clean copy of the course")
            self.result.message = "course files were modified during grading"

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.result.message += f"could not collect tests in {report.nodeid}: " \
                                   f"{report.longreprtext.strip().splitlines()[-1:]}\n"

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Run gated tests (``requires``) after the rest, so their core tests have a result."""
        items.sort(key=lambda item: item.get_closest_marker("requires") is not None)

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        timing.first("tests_start")
        self._started[item.nodeid] = time.monotonic()
        if self._submission is not None:
            self._submission.output = CapturedOutput()
            self._submission.calls = []
        for mark in item.iter_markers("requires"):
            for name in mark.args:
                self._gate(str(name))

    def _gate(self, name: str) -> None:
        """Stop a consistency test whose core test (run before it) did not pass."""
        core = [t for t in self.result.tests if t.name.split("[")[0] == name]
        if not core:
            raise NotGraded(f"not graded: the grader found no result for {name} before this "
                            "check (a course bug: tell your instructor)")
        if any(t.status == "not_attempted" for t in core):
            raise NotAttempted(f"not attempted: {name} must pass first")
        if any(t.status != "passed" for t in core):
            raise NotGraded(f"not graded: {name} must pass first (this check only counts once "
                            "the core result is right)")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        if call.when == "call":
            timing.last("tests_end")
        if report.skipped and call.when in ("setup", "call"):
            self.result.skipped.append(f"{item.name}: {_skip_reason(call)}")
        elif call.when == "call" or (call.when == "setup" and report.failed):
            self._record(item, call)
        return report

    def _record(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
        points_mark = item.get_closest_marker("points")
        task_mark = item.get_closest_marker("task")
        points = float(points_mark.args[0]) if points_mark else 1.0
        status, message = "passed", ""
        if call.excinfo is not None:
            status, message = _classify(call.excinfo.value)
        output = ""
        if self._submission is not None and status != "passed":
            output = self._submission.output.text()
        path = Path(str(item.path))
        self.result.tests.append(TestResult(
            name=item.name, task=str(task_mark.args[0]) if task_mark else "", status=status,
            score=points if status == "passed" else 0.0, max_score=points, message=message,
            hidden=self.hidden_dir in path.parents, output=output,
            duration=time.monotonic() - self._started.get(item.nodeid, time.monotonic())))


def _skip_reason(call: pytest.CallInfo[None]) -> str:
    exc = call.excinfo.value if call.excinfo else None
    return str(getattr(exc, "msg", exc) or "skipped")


def _classify(exc: BaseException) -> tuple[str, str]:
    """A test status and a learner-facing message for what a test raised."""
    if isinstance(exc, SubmissionProblem):
        text = exc.message + (f"\n{exc.trace}" if exc.trace else "")
        return exc.status, text
    if isinstance(exc, AssertionError):
        return "failed", str(exc).strip() or "a check on your result failed"
    return "error", (f"checking your result raised {type(exc).__name__}: {exc}. Look at the "
                     "shape and types of what your function returns")


def worker_limits(ex: Exercise) -> Limits:
    """The rlimits and disk of an exercise's workers (more disk where it saves artifacts)."""
    budget = ex.budget
    room = ({"disk_mb": sandbox.Limits.disk_mb + budget.artifact_mb * len(ex.artifacts)}
            if ex.artifacts else {})
    return Limits(memory_mb=budget.memory_mb, cpu_seconds=int(budget.exercise_seconds) + 30,
                  **room)


def readable_data(course: Course, ex: Exercise) -> tuple[Path, ...]:
    """The exercise's public data folder, which its workers may read."""
    data = course.exercise_dir(ex) / "data"
    return (data,) if data.is_dir() else ()
