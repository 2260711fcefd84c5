"""A cgroup v2 per worker and per unit, where this machine lets the grader make one: every process
inside is ended at once (``cgroup.kill``), even one that left its session and environment.

A process cannot leave a cgroup without write access to the ``cgroup.procs`` of a common
ancestor, which only the grader's user has: a sandboxed worker (its own uid in tiers A and B)
cannot move out. Without a writable cgroup v2 hierarchy (most non-root graders, macOS) nothing
here is used and the older sweeps (process group, session, marked processes) remain.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from dataclasses import dataclass
from functools import cache

PREFIX = "grader-"
_COUNTER = itertools.count()


def _mount() -> str | None:
    """Where the cgroup v2 hierarchy is mounted (``/sys/fs/cgroup`` or, hybrid, ``.../unified``)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                left, _, right = line.partition(" - ")
                if right.split(" ", 1)[0] == "cgroup2":
                    return left.split()[4]
    except OSError:
        return None
    return None


def _own_path() -> str | None:
    """This process's cgroup v2 folder (read each time: a unit's judge moves itself)."""
    mount = _mount()
    if mount is None:
        return None
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("0::"):
                    path = line[3:].strip()
                    return os.path.join(mount, path.lstrip("/"))
    except OSError:
        return None
    return None


@cache
def available() -> bool:
    """Whether this process may make child cgroups that have ``cgroup.kill`` (Linux 5.14+)."""
    base = _own_path()
    if base is None or not os.access(os.path.join(base, "cgroup.procs"), os.W_OK):
        return False
    probe = os.path.join(base, f"{PREFIX}probe-{os.getpid()}")
    try:
        os.mkdir(probe)
    except OSError:
        return False
    try:
        return all(os.access(os.path.join(probe, name), os.W_OK)
                   for name in ("cgroup.procs", "cgroup.kill"))
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(probe)


@dataclass(frozen=True)
class Group:
    """One cgroup made by the grader: processes go in, everything inside is killed together."""

    path: str

    @classmethod
    def make(cls, kind: str) -> Group | None:
        """A new cgroup below this process's own, or None where none can be made."""
        base = _own_path()
        if base is None or not available():
            return None
        path = os.path.join(base, f"{PREFIX}{kind}-{os.getpid()}-{next(_COUNTER)}")
        try:
            os.mkdir(path)
        except OSError:
            return None
        return cls(path)

    def enter(self, pid: int = 0) -> None:
        """Move ``pid`` (0: the calling process) into this cgroup; its children follow."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as fh:
            fh.write(str(pid))

    def pids(self) -> list[int]:
        """Processes in this cgroup and the cgroups below it."""
        found: list[int] = []
        for folder, _, _ in os.walk(self.path):
            with contextlib.suppress(OSError, ValueError), \
                    open(os.path.join(folder, "cgroup.procs")) as fh:
                found += [int(line) for line in fh if line.strip()]
        return found

    def kill(self) -> None:
        """SIGKILL every process inside, including the cgroups below (never blocks long)."""
        try:
            with open(os.path.join(self.path, "cgroup.kill"), "w") as fh:
                fh.write("1")
        except OSError:  # gone already, or an older kernel: kill what is listed
            for pid in self.pids():
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self, seconds: float = 2.0) -> bool:
        """Kill what is left and remove the cgroup and those below it; False if one stays."""
        stop = time.monotonic() + seconds
        while True:
            self.kill()
            left = False
            for folder, _, _ in sorted(os.walk(self.path), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(folder)
                except FileNotFoundError:
                    continue
                except OSError:
                    left = True
            if not left or time.monotonic() > stop:
                return not left
            time.sleep(0.01)  # killed processes leave the cgroup once they have exited


def sweep_stale() -> int:
    """Remove cgroups left by graders that died (their pid, in the name, no longer runs)."""
    base = _own_path()
    if base is None or not available():
        return 0
    removed = 0
    with contextlib.suppress(OSError):
        for name in os.listdir(base):
            parts = name.split("-")
            if not name.startswith(PREFIX) or len(parts) < 4 or not parts[-2].isdigit():
                continue
            if not os.path.exists(f"/proc/{parts[-2]}"):
                removed += Group(os.path.join(base, name)).remove(0.5)
    return removed
