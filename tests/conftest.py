"""Shared fixtures for the project's own tests: the tiny fixture course, worker hygiene, tiers.

Tests grade in isolation tier C (plain subprocess) unless they ask for the ``tier`` fixture,
which runs them once per tier (A, B, C) and skips, with the reason, a tier this machine cannot
give. ``GRADER_TEST_ISOLATION=A pytest tests/test_attacks.py`` runs the rest of the corpus in
tier A too. Not every test holds outside tier C: the golden files name it, and two tests of
test_proxy.py read worker pids, which a PID namespace makes all alike (test_isolation.py checks
the same behaviours per tier).
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.sandbox import isolation

TESTS = Path(__file__).resolve().parent
FIXTURE_COURSE = TESTS / "fixtures" / "course"
TINY_STATS = "tiny-stats"
SESSION_TIER = os.environ.get("GRADER_TEST_ISOLATION", "C")
os.environ[isolation.ENV_VAR] = SESSION_TIER  # the grader's subprocesses (CLI, batch) too
TIERS = ("A", "B", "C")
_PROBED: dict[str, isolation.Tier | str] = {}

# Submission folders hold hostile files (conftest.py, pytest.py, sitecustomize.py) and the fixture
# course holds grading tests: never let this test session collect or import them.
collect_ignore = ["attacks", "golden", "fixtures"]


@pytest.fixture(scope="session")
def fixture_course() -> Course:
    """The tiny course under tests/fixtures/course (fast: no heavy imports)."""
    return Course.load(FIXTURE_COURSE)


@pytest.fixture(scope="session")
def tiny_stats(fixture_course: Course) -> Exercise:
    """The fixture course's one exercise: stats.py with mean() and median()."""
    return fixture_course.get(TINY_STATS)


@pytest.fixture(scope="session")
def reference_root() -> Path:
    """The fixture course's reference solutions, laid out like exercises/."""
    return FIXTURE_COURSE / "solutions"


@pytest.fixture(autouse=True)
def session_tier(monkeypatch: pytest.MonkeyPatch) -> isolation.Tier:
    """Every test starts in the session's tier (C unless GRADER_TEST_ISOLATION says otherwise)."""
    tier = probed(SESSION_TIER)
    if isinstance(tier, str):
        raise pytest.UsageError(f"GRADER_TEST_ISOLATION={SESSION_TIER}: {tier}")
    monkeypatch.setattr(isolation, "_current", tier)
    return tier


def probed(name: str) -> isolation.Tier | str:
    """Tier ``name`` or why this machine cannot give it, probed once per test session."""
    if name not in _PROBED:
        _PROBED[name] = isolation.probe(name)
    return _PROBED[name]


@pytest.fixture(params=TIERS)
def tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
         session_tier: isolation.Tier) -> isolation.Tier:
    """Run the test once per isolation tier; a tier this machine lacks is skipped, with why."""
    found = probed(str(request.param))
    if isinstance(found, str):
        pytest.skip(found)
    monkeypatch.setattr(isolation, "_current", found)
    monkeypatch.setenv(isolation.ENV_VAR, found.name)
    return found


@pytest.fixture
def worker_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Workers started during the test get their folders here; none may outlive the test."""
    base = tmp_path / "workers"
    base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    yield base
    uid = isolation.sandbox_uid()
    leftovers = processes_mentioning(str(base)) + live_children() + \
        (processes_of(uid) if uid is not None else [])
    for pid in leftovers:  # started by this test: end them so one failure does not cascade
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"processes outlived their worker: {leftovers}"
    assert not list(base.iterdir()), "a worker's private folder was not removed"


# Helpers a batch graded in this process leaves running on purpose, for the next batch.
POOL_HELPERS = (b"multiprocessing.forkserver", b"multiprocessing.resource_tracker")


def cmdline(pid: int) -> bytes:
    """A process's command line, NUL-separated (empty once it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def descendants(pid: int) -> list[int]:
    """Live processes below ``pid``, at any depth."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] not in (b"Z", b"X"):
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def live_children(parent: int | None = None) -> list[int]:
    """Pids of live (non-zombie) children of ``parent`` (default: this process), except the
    multiprocessing helpers an earlier batch left for reuse."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                command = fh.read()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] not in (b"Z", b"X") and \
                not any(helper in command for helper in POOL_HELPERS):
            found.append(int(entry))
    return found


def processes_of(uid: int) -> list[int]:
    """Pids of live processes whose real uid is ``uid`` (a root grader's sandbox uid)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as fh:
                lines = dict(line.split(b":", 1) for line in fh.read().splitlines()
                             if b":" in line)
            if int(lines[b"Uid"].split()[0]) == uid and lines[b"State"].split()[0] not in (
                    b"Z", b"X"):
                found.append(int(entry))
        except (OSError, KeyError, ValueError, IndexError):
            continue
    return found


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line or environment contains ``text``."""
    needle = text.encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                if fh.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X"):
                    continue
            for name in ("cmdline", "environ"):
                with open(f"/proc/{entry}/{name}", "rb") as fh:
                    if needle in fh.read():
                        found.append(int(entry))
                        break
        except (OSError, IndexError):
            continue
    return found
