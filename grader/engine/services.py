"""Servers a grading starts for its submission to reach, such as a cloud emulator: port by port.

An exercise with ``network = "services"`` gets its own network: in tier A a worker reaches the
ports exposed here and nothing else on the machine (see :mod:`grader.sandbox.portforward`), in
tier B Landlock allows TCP connections to these ports only. One grading runs in one judge
process, so the registry is the process's own.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_ports: set[int] = set()


def expose(port: int) -> None:
    """Let workers started from now on reach 127.0.0.1:``port``."""
    if not 0 < int(port) < 65536:
        raise ValueError(f"not a TCP port: {port!r}")
    with _lock:
        _ports.add(int(port))


def withdraw(port: int) -> None:
    """The server on ``port`` is gone: workers started from now on do not reach it."""
    with _lock:
        _ports.discard(int(port))


def exposed() -> tuple[int, ...]:
    """The ports a worker started now may reach, sorted."""
    with _lock:
        return tuple(sorted(_ports))
