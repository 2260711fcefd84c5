"""Shared fixtures for the project's own tests: the tiny fixture course and worker hygiene."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.course import Course
from grader.manifest import Exercise

TESTS = Path(__file__).resolve().parent
FIXTURE_COURSE = TESTS / "fixtures" / "course"
TINY_STATS = "tiny-stats"

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


@pytest.fixture
def worker_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Workers started during the test get their folders here; none may outlive the test."""
    base = tmp_path / "workers"
    base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    yield base
    leftovers = processes_mentioning(str(base)) + live_children()
    for pid in leftovers:  # started by this test: end them so one failure does not cascade
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"processes outlived their worker: {leftovers}"
    assert not list(base.iterdir()), "a worker's private folder was not removed"


def live_children(parent: int | None = None) -> list[int]:
    """Pids of live (non-zombie) children of ``parent`` (default: this process)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] not in (b"Z", b"X"):
            found.append(int(entry))
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
