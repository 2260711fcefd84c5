"""Where a unit's time goes, for `make bench`: named monotonic marks and counters per process.

Off (every call a no-op) unless ``GRADER_TIMING`` names a file when this module is imported;
then the judge writes the split of its unit there as JSON when it ends: judge start (process
start to the first test), worker start and imports, learner compute (inside worker calls), test
logic (the rest of the tests) and teardown. Timestamps are ``time.monotonic()``, one clock for
every process of the machine, so a caller can compare them with its own.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

ENV = "GRADER_TIMING"
PHASES = ("judge_start", "worker_start", "learner_compute", "test_logic", "teardown")

_path = os.environ.get(ENV) or None
_marks: dict[str, float] = {}
_counters: dict[str, float] = {}


def _process_start() -> float:
    """This process's start on the monotonic clock (Linux: from /proc; else: now)."""
    now = time.monotonic()
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat[stat.rindex(")") + 2:].split()[19])  # field 22, starttime
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        return now - (since_boot - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return now


# Taken where this module is first imported: the grading command, whose judge forks from it.
_origin = _process_start() if _path else 0.0


def enabled() -> bool:
    """Whether timing is on in this process."""
    return _path is not None


def first(name: str) -> None:
    """Record now as ``name``, unless it was recorded before."""
    if _path is not None and name not in _marks:
        _marks[name] = time.monotonic()


def last(name: str) -> None:
    """Record now as ``name``, replacing an earlier record."""
    if _path is not None:
        _marks[name] = time.monotonic()


def add_since(name: str, began: float) -> None:
    """Add the seconds since ``began`` (a ``time.monotonic()`` reading) to counter ``name``."""
    if _path is not None:
        _counters[name] = _counters.get(name, 0.0) + time.monotonic() - began


def split(end: float | None = None) -> dict[str, float]:
    """The unit's phases in seconds, from the marks and counters so far; they sum to ``wall``."""
    end = time.monotonic() if end is None else end
    begin = _marks.get("tests_start", end)
    done = max(_marks.get("tests_end", begin), begin)
    worker = _counters.get("worker_start", 0.0)
    compute = _counters.get("learner_compute", 0.0)
    phases = {"judge_start": begin - _origin, "worker_start": worker,
              "learner_compute": compute,
              "test_logic": max(done - begin - worker - compute, 0.0),
              "teardown": end - done}
    phases["wall"] = sum(phases.values())
    return phases


def write(exercise: str, submission_seconds: float) -> None:
    """Write this unit's split as JSON to the file ``GRADER_TIMING`` names (when it is on)."""
    if _path is None:
        return
    end = time.monotonic()
    record = {"exercise": exercise, "origin": _origin, "end": end,
              "submission_seconds": submission_seconds, "marks": dict(_marks),
              "counters": dict(_counters), **split(end)}
    Path(_path).write_text(json.dumps(record, indent=1))
