"""How a worker process is confined: copied files, scrubbed environment, rlimits, own session.

This is the *plain* tier: it stops accidents and the grade-forging tricks that need the grader's
process, but not a determined attacker's reads, writes and network use as the grader's own user.
What it cannot do is listed in ``tests/attacks/README.md``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import resource
import signal
import stat
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Only these kinds of learner file are ever copied: no bytecode, no native code, no links.
ALLOWED_SUFFIXES = frozenset({
    ".py", ".sql", ".txt", ".md", ".csv", ".json", ".toml", ".yaml", ".yml", ".ipynb",
    ".js", ".mjs", ".r", ".html", ".cfg", ".ini",
})
ALLOWED_NAMES = frozenset({"Dockerfile", ".dockerignore", "requirements.txt"})
MAX_FILE_BYTES = 5 * 1024 * 1024
TIER = "plain"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker."""

    memory_mb: int = 3072
    cpu_seconds: int = 300
    open_files: int = 256
    file_mb: int = 128


@dataclass(frozen=True)
class CopyReport:
    """What happened to each declared file when the submission was copied."""

    copied: tuple[str, ...]
    missing: tuple[str, ...]
    rejected: tuple[tuple[str, str], ...]


def allowed_file(name: str) -> bool:
    """Whether a file of this name may be copied from a submission."""
    base = os.path.basename(name)
    return base in ALLOWED_NAMES or Path(base).suffix.lower() in ALLOWED_SUFFIXES


def copy_submission(source: Path, files: Sequence[str], dest: Path) -> CopyReport:
    """Copy the declared learner files, and nothing else, into ``dest``."""
    copied: list[str] = []
    missing: list[str] = []
    rejected: list[tuple[str, str]] = []
    dest.mkdir(parents=True, exist_ok=True)
    for rel in files:
        if not allowed_file(rel):
            rejected.append((rel, "file type not allowed"))
            continue
        try:
            data = _read_regular(source, rel)
        except FileNotFoundError:
            missing.append(rel)
            continue
        except _Refused as exc:
            rejected.append((rel, str(exc)))
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        copied.append(rel)
    return CopyReport(tuple(copied), tuple(missing), tuple(rejected))


class _Refused(Exception):
    """A declared file that exists but may not be copied."""


def _read_regular(base: Path, rel: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read ``base/rel`` without following a link anywhere below ``base`` (no swap races)."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or any(p in ("..", ".") for p in parts):
        raise _Refused("not a plain relative path")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fds = [os.open(base, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))]
    try:
        for part in parts[:-1]:
            fds.append(_open_at(part, flags | getattr(os, "O_DIRECTORY", 0), fds[-1]))
        fd = _open_at(parts[-1], flags | getattr(os, "O_NONBLOCK", 0), fds[-1])
        fds.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Refused("not a regular file")
        too_big = _Refused(f"larger than {_size(max_bytes)}")
        if info.st_size > max_bytes:
            raise too_big
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise too_big
        return data
    finally:
        for opened in fds:
            os.close(opened)


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _open_at(name: str, flags: int, dir_fd: int) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        try:  # O_NOFOLLOW answers ELOOP for a link, O_DIRECTORY ENOTDIR: say which it was
            link = stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
        except OSError:
            link = False
        if link or exc.errno == errno.ELOOP:
            raise _Refused("symbolic links are not accepted") from None
        raise _Refused((exc.strerror or "cannot be read").lower()) from None


def read_output(base: Path, rel: str, max_bytes: int) -> bytes:
    """Bytes of a file a worker wrote under ``base``: no links, regular files only, capped."""
    try:
        return _read_regular(base, rel, max_bytes)
    except _Refused as exc:
        if str(exc).startswith("larger"):
            raise ValueError(f"{rel} is {exc}") from None
        raise FileNotFoundError(f"{rel} was not written by the submission ({exc})") from None


def scrubbed_env(home: Path) -> dict[str, str]:
    """A minimal environment: nothing of the grader's secrets, offline model hubs."""
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin",
                                 "/bin"]),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
    }


def limiter(limits: Limits) -> Callable[[], None]:
    """A pre-exec function that applies rlimits in the child before it runs Python.

    On Linux the worker also dies with the grader (``PR_SET_PDEATHSIG``): a grader killed with
    SIGKILL must not leave a looping submission behind.
    """
    prctl = _linux_prctl()
    parent = os.getpid()

    def apply() -> None:
        mb = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:  # the grader died before the line above
                os._exit(1)

    return apply


_PR_SET_PDEATHSIG = 1


def _linux_prctl() -> Callable[[int, int], int] | None:
    """libc's ``prctl``, loaded in the parent (not between fork and exec), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def worker_command(config_json: str) -> list[str]:
    """The command line that starts a worker in isolated mode."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    boot = (f"import sys; sys.path.append({package_parent!r}); "
            "from grader.worker import main; main()")
    return [sys.executable, "-I", "-c", boot, config_json]


def kill_tree(leader: int, marker: str, rounds: int = 5) -> int:
    """SIGKILL a worker's process group, then what it left: its session and its marked processes.

    ``killpg`` misses a child that called ``setsid``. On Linux, ``/proc`` also finds processes
    still in the worker's session or whose command line or environment names ``marker`` (the
    worker's private folder, inherited through ``fork``). A process that execs with a fresh
    environment, or rewrites both, escapes: only a PID namespace (bubblewrap) closes that gap.
    Call it before reaping the leader, so its pid cannot be reused meanwhile. Returns how many
    stragglers outside the group were killed.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGKILL)
    killed = 0
    for _ in range(rounds):
        found = _stragglers(leader, marker.encode())
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        if not found:
            break
        time.sleep(0.01)  # let SIGKILLed processes turn into zombies before looking again
    return killed


def _stragglers(leader: int, marker: bytes) -> list[int]:
    """Live processes (not zombies) in ``leader``'s group or session, or carrying ``marker``."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    me = os.getpid()
    found = []
    for entry in entries:
        if not entry.isdigit() or int(entry) in (me, leader):
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            if fields[0] in (b"Z", b"X"):
                continue
            if leader in (int(fields[2]), int(fields[3])) or any(
                    marker in _read_proc(entry, name) for name in ("cmdline", "environ")):
                found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _read_proc(pid: str, name: str) -> bytes:
    with open(f"/proc/{pid}/{name}", "rb") as fh:
        return fh.read(1 << 20)
