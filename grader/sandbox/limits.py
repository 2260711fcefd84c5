"""What every isolation tier shares: copied files, scrubbed environment, rlimits, a watchdog, kills.

On its own this is tier C (see :mod:`grader.sandbox.isolation`): it stops accidents and the
grade-forging tricks that need the grader's process, but not a determined attacker's reads,
writes and network use as the grader's own user (``tests/attacks/README.md`` lists them).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import importlib
import os
import resource
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Only these kinds of learner file are ever copied: no bytecode, no native code, no links.
ALLOWED_SUFFIXES = frozenset({
    ".py", ".sql", ".txt", ".md", ".csv", ".json", ".toml", ".yaml", ".yml", ".ipynb",
    ".js", ".mjs", ".r", ".html", ".cfg", ".ini",
})
ALLOWED_NAMES = frozenset({"Dockerfile", ".dockerignore", "requirements.txt"})
# Artifacts (files the learner's code saves, such as a model) may also be safetensors: plain
# tensors and a JSON header, never pickle (so no .bin, .pt or .pkl).
ARTIFACT_SUFFIXES = ALLOWED_SUFFIXES | {".safetensors"}
MAX_FILE_BYTES = 5 * 1024 * 1024
WATCH_SECONDS = 0.25


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker."""

    memory_mb: int = 3072
    cpu_seconds: int = 300
    open_files: int = 256
    file_mb: int = 128
    disk_mb: int = 256  # everything the worker writes (tier A: its tmpfs; B and C: a watchdog)
    disk_files: int = 10_000  # files and folders the worker may create
    processes: int = 512  # RLIMIT_NPROC, threads included (tiers A and B)


@dataclass(frozen=True)
class CopyReport:
    """What happened to each declared file when the submission was copied."""

    copied: tuple[str, ...]
    missing: tuple[str, ...]
    rejected: tuple[tuple[str, str], ...]


def allowed_file(name: str, artifact: bool = False) -> bool:
    """Whether a file of this name may be copied from a submission (as a learner file, or as an
    artifact such as a saved model)."""
    base = os.path.basename(name)
    suffixes = ARTIFACT_SUFFIXES if artifact else ALLOWED_SUFFIXES
    return base in ALLOWED_NAMES or Path(base).suffix.lower() in suffixes


def copy_submission(source: Path, files: Sequence[str], dest: Path,
                    artifacts: Sequence[str] = (),
                    artifact_bytes: int = MAX_FILE_BYTES) -> CopyReport:
    """Copy the declared learner files and artifacts, and nothing else, into ``dest``.

    A missing learner file is reported in ``missing``; a missing artifact is simply not copied
    (the exercise's tests say what to run to make it).
    """
    copied: list[str] = []
    missing: list[str] = []
    rejected: list[tuple[str, str]] = []
    dest.mkdir(parents=True, exist_ok=True)
    wanted = [(rel, False) for rel in files] + [(rel, True) for rel in artifacts]
    for rel, artifact in wanted:
        if not allowed_file(rel, artifact):
            rejected.append((rel, "file type not allowed"))
            continue
        try:
            data = _read_regular(source, rel, artifact_bytes if artifact else MAX_FILE_BYTES)
        except FileNotFoundError:
            if not artifact:
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


def read_output(base: Path, rel: str, max_bytes: int, prefix: str = "") -> bytes:
    """Bytes of a file a worker wrote under ``base/prefix``: no links anywhere below ``base``,
    regular files only, capped."""
    try:
        if prefix and (not rel or Path(rel).is_absolute()):
            raise _Refused("not a plain relative path")
        return _read_regular(base, f"{prefix}/{rel}" if prefix else rel, max_bytes)
    except _Refused as exc:
        if str(exc).startswith("larger"):
            raise ValueError(f"{rel} is {exc}") from None
        raise FileNotFoundError(f"{rel} was not written by the submission ({exc})") from None


class Watchdog:
    """Watches a worker from a thread of the parent: its folder's size and file count (every
    tier), and where rlimits cannot cap the total, the memory of all its processes.

    A many-small-files disk fill passes ``RLIMIT_FSIZE``; N processes may each use the memory
    budget. When a limit is crossed the worker is killed and :attr:`tripped` says why.
    """

    def __init__(self, limits: Limits, folder: Callable[[], str | None], kill: Callable[[], None],
                 memory_of: int | None = None) -> None:
        self.limits = limits
        self.tripped: str | None = None
        self._folder = folder
        self._kill = kill
        self._leader = memory_of
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="grader-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            problem = self.check()
            if problem is not None:
                self.tripped = problem
                self._kill()
                return

    def check(self) -> str | None:
        """Why the worker must stop now, or None."""
        folder = self._folder()
        if folder is not None:
            files, used = _usage(folder, self.limits.disk_files + 1)
            if files > self.limits.disk_files:
                return (f"the submission created more than {self.limits.disk_files} files and "
                        "folders, so it was stopped (a disk-filling attack?)")
            if used > self.limits.disk_mb * 1024 * 1024:
                return (f"the submission wrote more than {self.limits.disk_mb} MB to disk, so it "
                        "was stopped")
        if self._leader is not None:
            resident = _group_memory(self._leader)
            if resident > self.limits.memory_mb * 1024 * 1024:
                return (f"the submission's processes used more than {self.limits.memory_mb} MB "
                        "of memory together, so they were stopped")
        return None

    def stop(self) -> None:
        """End the thread and wait for it."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


def _usage(folder: str, max_files: int) -> tuple[int, int]:
    """Files and folders below ``folder`` and the bytes they occupy; stops counting early."""
    files = used = 0
    pending = [folder]
    while pending and files <= max_files:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    files += 1
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    used += getattr(info, "st_blocks", 0) * 512 or info.st_size
                    if stat.S_ISDIR(info.st_mode):
                        pending.append(entry.path)
        except OSError:
            continue
    return files, used


def _group_memory(leader: int) -> int:
    """Memory of the processes in ``leader``'s group or session: proportional set size, so
    pages a fork shares with its parent count once."""
    if not os.path.isdir("/proc/self"):
        return _group_memory_psutil(leader)
    total = 0
    for pid in [leader, *_stragglers(leader, b"")]:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


def _group_memory_psutil(leader: int) -> int:
    """The same without ``/proc`` (macOS), through psutil where it is installed; else 0."""
    try:
        psutil: Any = importlib.import_module("psutil")
        group = os.getpgid(leader)
    except (ImportError, OSError):
        return 0
    total = 0
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == group:
                total += int(proc.memory_info().rss)
        except (OSError, psutil.Error):
            continue
    return total


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
        **thread_env(),
    }


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS")
JOBS_VAR = "GRADER_JOBS"  # set by ``grader batch --jobs N`` for the grading processes it starts


def threads_per_worker(jobs: int | None = None) -> int:
    """How many threads each worker's numeric libraries may use: the cores this process may run
    on shared among the units graded at once (``GRADER_JOBS``), never fewer than one."""
    if jobs is None:
        try:
            jobs = int(os.environ.get(JOBS_VAR, "1"))
        except ValueError:
            jobs = 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    return max(1, cores // max(1, jobs))


def thread_env(jobs: int | None = None) -> dict[str, str]:
    """OpenMP (torch too), MKL, OpenBLAS, numexpr, Accelerate and Rayon thread counts."""
    count = str(threads_per_worker(jobs))
    return dict.fromkeys(THREAD_VARS, count)


def limiter(limits: Limits, cgroup: str | None = None) -> Callable[[], None]:
    """A pre-exec function that applies rlimits in the child before it runs Python, and moves
    it into its own cgroup (``cgroup``: that cgroup's folder) where the grader made one.

    On Linux the worker also dies with the grader (``PR_SET_PDEATHSIG``): a grader killed with
    SIGKILL must not leave a looping submission behind.
    """
    prctl = _linux_prctl()
    parent = os.getpid()
    procs = os.path.join(cgroup, "cgroup.procs") if cgroup else None

    def apply() -> None:
        if procs is not None:
            with open(procs, "w") as fh:
                fh.write("0")
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


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent ends (Linux); exit at once if
    ``parent`` has already gone."""
    prctl = _linux_prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _linux_prctl() -> Callable[[int, int], int] | None:
    """libc's ``prctl``, loaded in the parent (not between fork and exec), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


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
            if leader in (int(fields[2]), int(fields[3])) or (marker and any(
                    marker in _read_proc(entry, name) for name in ("cmdline", "environ"))):
                found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _read_proc(pid: str, name: str) -> bytes:
    with open(f"/proc/{pid}/{name}", "rb") as fh:
        return fh.read(1 << 20)
