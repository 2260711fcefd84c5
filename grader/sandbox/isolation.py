"""Isolation tiers for submission workers: probed once per process, named in every report.

- **A** (Linux where bubblewrap can make namespaces): the worker runs under ``bwrap`` in its own
  PID, IPC, UTS, mount and network namespace (the grading's own servers forwarded in, port by
  port, where the exercise uses them: :mod:`grader.sandbox.portforward`), as
  an unprivileged uid, seeing the Python environment and the system read-only, its submission
  copy and the exercise's public data, and a size-capped tmpfs as its only writable place;
  Landlock, seccomp and rlimits apply inside as well.
- **B** (Linux with Landlock, without usable user namespaces): Landlock confines files, TCP and
  signals, seccomp denies other sockets, ptrace, mounts and namespaces, rlimits cap each process,
  and a watchdog in the parent caps the size and file count of the worker's folder.
- **C** (anywhere else): a plain subprocess with rlimits, a memory and disk watchdog and
  timeouts. The learner's code runs as the grader's user and can read what it can read.

``GRADER_ISOLATION`` picks one (``A``, ``B``, ``C``); the default, ``auto``, takes the strongest
this machine offers.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import select
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from grader.sandbox import cgroup, landlock, seccomp
from grader.sandbox import limits as sandbox

ENV_VAR = "GRADER_ISOLATION"
DEFAULT = "auto"
ORDER = "ABC"
NETWORKS = ("none", "loopback", "services")
SANDBOX_UID = 65534  # the uid inside bubblewrap's user namespace (non-root graders)
UID_BASE = 2_000_000  # root graders: grading process P runs its workers as uid UID_BASE + P
INPUT = "/run/grader/submission"  # tier A: the read-only submission copy the worker starts from
PORTS = "/run/grader/ports"  # tier A: the Unix sockets that carry the grading's servers in
UNITS = "/run/grader/units"  # tier A, a warm template: the read-only copies of its units' files
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Tier B: what of /etc a worker may read (a root grader's worker keeps CAP_DAC_READ_SEARCH)
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group",
       "nsswitch.conf", "hosts", "host.conf", "gai.conf", "services", "protocols", "mime.types",
       "ssl", "ca-certificates", "alternatives", "R", "fonts", "os-release")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
TOOLS = ("node", "Rscript", "hadolint")
INSTALL = "apt-get install -y bubblewrap"


class IsolationError(RuntimeError):
    """A requested isolation tier is not available here."""


@dataclass(frozen=True)
class Tier:
    """The isolation this process gives its workers."""

    name: str  # "A", "B" or "C"
    landlock: int = 0  # Landlock ABI used inside the worker (0: none)
    seccomp: bool = False
    bwrap: str | None = None  # path of bubblewrap (tier A)
    notes: tuple[str, ...] = ()  # why a stronger tier is not used

    @property
    def label(self) -> str:
        """What the reports say, e.g. ``A: bubblewrap + Landlock ABI 7 + seccomp + rlimits``."""
        layers = (["bubblewrap"] if self.name == "A" else []) + \
            ([f"Landlock ABI {self.landlock}"] if self.landlock else []) + \
            (["seccomp"] if self.seccomp else [])
        if self.name == "C":
            return "C: plain subprocess + rlimits + watchdog (weaker)"
        return f"{self.name}: {' + '.join([*layers, 'rlimits'])}"

    def at_least(self, name: str) -> bool:
        """Whether this tier is ``name`` or stronger."""
        return ORDER.index(self.name) <= ORDER.index(name.upper())


def _linux() -> bool:
    return platform.system() == "Linux"


@cache
def _landlock_abi() -> int:
    return landlock.abi() if _linux() else 0


@cache
def _seccomp() -> bool:
    return _linux() and seccomp.available()


def probe(name: str) -> Tier | str:
    """Tier ``name`` if this machine can give it, else why not (one sentence)."""
    name = name.upper()
    if name == "C":
        return Tier("C")
    if not _linux():
        return f"tier {name} needs Linux"
    abi, filters = _landlock_abi(), _seccomp()
    if name == "B":
        if abi < 1:
            return "tier B needs Landlock (Linux 5.13 or newer, enabled in the kernel's LSM list)"
        if not filters:
            return f"tier B needs libseccomp ({seccomp.LIBRARY}, Debian/Ubuntu: libseccomp2)"
        return Tier("B", abi, True)
    if name != "A":
        raise IsolationError(f"unknown isolation tier {name!r}: use A, B, C or auto")
    found = shutil.which("bwrap")
    if found is None:
        return f"tier A needs bubblewrap (Debian/Ubuntu: `{INSTALL}`)"
    tier = Tier("A", abi, filters, found)
    trial = Box(tier, Path("/"), sandbox.Limits(), probing=True)
    try:
        done = subprocess.run([*trial.prefix(), "/bin/true"], capture_output=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"tier A: bubblewrap could not run ({exc})"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return f"tier A: bubblewrap cannot create its namespaces here ({why[0]})"
    return tier


def choose(request: str) -> Tier:
    """The tier for a request: ``auto`` (the strongest available), ``A``, ``B`` or ``C``."""
    request = request.strip().upper() or "AUTO"
    if request == "AUTO":
        notes: list[str] = []
        for name in ORDER:
            found = probe(name)
            if isinstance(found, Tier):
                return Tier(found.name, found.landlock, found.seccomp, found.bwrap, tuple(notes))
            notes.append(found)
        raise AssertionError("tier C is always available")
    found = probe(request)
    if isinstance(found, str):
        raise IsolationError(f"isolation tier {request} was asked for ({ENV_VAR}), but {found}")
    return found


_current: Tier | None = None


def current() -> Tier:
    """This process's tier, probed on first use (``GRADER_ISOLATION``, default ``auto``)."""
    global _current
    if _current is None:
        _current = choose(os.environ.get(ENV_VAR, DEFAULT))
    return _current


def use(name: str | Tier) -> Tier:
    """Switch this process to tier ``name`` (or ``auto``, or a probed Tier); raises if it is not
    available."""
    global _current
    _current = name if isinstance(name, Tier) else choose(name)
    return _current


def require(minimum: str) -> Tier:
    """The current tier, or IsolationError if it is weaker than ``minimum``."""
    if minimum.upper() not in ORDER:
        raise IsolationError(f"unknown isolation tier {minimum!r}: use A, B or C")
    tier = current()
    if not tier.at_least(minimum):
        why = "; ".join(tier.notes) or "it was chosen explicitly"
        raise IsolationError(f"isolation tier {minimum.upper()} or stronger is required, but "
                             f"this machine gives {tier.label} ({why})")
    return tier


def sandbox_uid() -> int | None:
    """The uid a root grader's workers run as; None when the grader is not root."""
    return UID_BASE + os.getpid() if os.geteuid() == 0 else None


# -- one worker's isolation ------------------------------------------------------------------


@dataclass
class Box:
    """How one worker is started, confined, watched, read from and ended, for a tier."""

    tier: Tier
    host_root: Path  # the worker's private folder on the grader's side
    limits: sandbox.Limits
    network: str = "none"  # "none", "loopback" (its own) or "services" (the grading's servers)
    readable: tuple[Path, ...] = ()  # course folders the learner may read (public data)
    ports: tuple[int, ...] = ()  # "services": the grader's 127.0.0.1 ports it may connect to
    probing: bool = False
    template: bool = False  # a warm template's sandbox: it sees ``host_root/units`` at UNITS
    _info: int | None = field(default=None, init=False, repr=False)
    _info_write: int = field(default=-1, init=False, repr=False)
    _pidfd: int | None = field(default=None, init=False, repr=False)
    _root_fd: int | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _watchdog: sandbox.Watchdog | None = field(default=None, init=False, repr=False)
    group: cgroup.Group | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise ValueError(f"network must be one of {', '.join(NETWORKS)}")
        inner = f"/tmp/{self.host_root.name}" if self.tier.name == "A" else str(self.host_root)
        self.root = inner
        self.dir = f"{inner}/submission"
        self.home = f"{inner}/home"
        self.uid = sandbox_uid()

    # -- starting -----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Make the copied submission usable by the worker's uid, and its cgroup (before start)."""
        if not self.probing:
            self.group = cgroup.Group.make("worker")
        source = self.host_root / "submission"
        if self.tier.name == "A" and not self.template:
            for path in [source, *source.rglob("*")]:
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
        elif self.tier.name == "B" and self.uid is not None:
            for path in [self.host_root, *self.host_root.rglob("*")]:
                os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def command(self, boot: list[str], modules: Sequence[str]) -> list[str]:
        """The full command line: the sandbox, Python, the worker and its configuration."""
        config: dict[str, object] = {"dir": self.dir, "modules": list(modules)}
        if self.tier.name != "C":
            config["confine"] = self._plan()
        return [*self.prefix(), *boot, json.dumps(config)]

    def env(self) -> dict[str, str]:
        """The worker's scrubbed environment, with its home where the worker sees it."""
        env = sandbox.scrubbed_env(Path(self.home))
        if self.tier.name != "C":
            env.update(USER="learner", LOGNAME="learner")  # its uid has no passwd entry
        return env

    def preexec(self) -> Callable[[], None]:
        """What the worker's process runs before exec: rlimits, and entering its cgroup."""
        return sandbox.limiter(self.limits, self.group.path if self.group else None)

    def pass_fds(self) -> tuple[int, ...]:
        """Descriptors bubblewrap needs (its info pipe)."""
        return (self._info_write,) if self.tier.name == "A" else ()

    def prefix(self) -> list[str]:
        """bubblewrap and its options (tier A), or nothing."""
        if self.tier.name != "A" or self.tier.bwrap is None:
            return []
        args = [self.tier.bwrap, "--die-with-parent", "--new-session", "--unshare-pid",
                "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--unshare-net"]
        if os.geteuid() == 0:  # privileged bwrap; the worker then drops to its own uid
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            if self.template:  # to end every process and file a unit left, whatever its uid
                args += ["--cap-add", "CAP_KILL", "--cap-add", "CAP_FOWNER",
                         "--cap-add", "CAP_DAC_OVERRIDE"]
        else:
            args += ["--unshare-user", "--disable-userns", "--uid", str(SANDBOX_UID),
                     "--gid", str(SANDBOX_UID)]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(self.limits.disk_mb * 1024 * 1024), "--perms", "1777",
                 "--tmpfs", "/tmp"]
        binds = [("--ro-bind", p, p) for p in self._readable()]
        # All of /etc, read-only: the sandbox's unprivileged uid reads only what is
        # world-readable there, and one mount starts ~20 ms faster than twenty (tier B, whose
        # root-started worker keeps CAP_DAC_READ_SEARCH, allows only ETC).
        binds.append(("--ro-bind", "/etc", "/etc"))
        binds.append(("--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"))
        if self.template:
            binds.append(("--ro-bind", str(self.host_root / "units"), UNITS))
        elif not self.probing:
            binds.append(("--ro-bind", str(self.host_root / "submission"), INPUT))
            if self._forwarded():
                binds.append(("--ro-bind", str(self.host_root / "ports"), PORTS))
        made: set[str] = {"/", "/tmp"}
        for name in SYSTEM:
            if os.path.islink(name):
                args += ["--symlink", os.readlink(name), name]
                made.add(name)
        for option, source, dest in binds:
            for parent in reversed(Path(dest).parents):  # bwrap would make them 0700
                if str(parent) not in made:
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
            made.add(dest)
            args += [option, source, dest]
        if not self.probing:
            self._info, self._info_write = os.pipe()
            os.set_blocking(self._info, False)
            args += ["--info-fd", str(self._info_write)]
        return [*args, "--chdir", "/", "--"]

    def _forwarded(self) -> bool:
        """Whether the grading's servers are carried into this (tier A) worker's network."""
        return self.network == "services" and bool(self.ports) and not self.probing

    def _readable(self) -> list[str]:
        """Every folder a worker reads: Python, the grader package, the system, tools, data."""
        return [*_installed(), *(str(p) for p in self.readable if p.is_dir())]

    def _plan(self) -> dict[str, object]:
        """What the worker must apply to itself before running learner code."""
        tier, abi = self.tier, self.tier.landlock
        plan: dict[str, object] = {"uid": self.uid, "nproc": self._nproc()}
        if tier.name == "A":
            plan["input"] = INPUT
            read, write, inet, unix = ["/"], [self.root], "allow", True
            if self.network == "services":
                inet = "stream"
            if self._forwarded():
                plan["forward"] = {"dir": PORTS, "ports": list(self.ports)}
            deny_tcp = False  # its own network namespace: only itself to talk to
            connect: tuple[int, ...] = ()
        else:
            plan["keep_read_search"] = self.uid is not None
            # /sys: libraries read CPU counts and cgroup quotas there, and some (DuckDB) treat
            # EACCES as an error where they would shrug off ENOENT
            read = [*self._readable(), *(f"/etc/{n}" for n in ETC), "/proc", "/sys"]
            write, unix = [str(self.host_root)], False
            inet = "deny" if self.network == "none" else "stream"
            # "services": TCP to the grading's own ports only (Landlock ABI 4 knows ports, not
            # addresses); "loopback" serves itself, on ports it picks, so TCP stays open
            deny_tcp = self.network != "loopback"
            connect = self.ports if self.network == "services" else ()
        if abi:
            plan["landlock"] = {"read": read, "write": write, "devices": list(DEVICES),
                                "deny_tcp": deny_tcp, "connect_ports": list(connect),
                                "scope": True}
        if tier.seccomp:  # tier B shares the machine's IPC namespace: no System V IPC
            plan["seccomp"] = {"inet": inet, "unix": unix, "sysv_ipc": tier.name == "A"}
        return plan

    def _nproc(self) -> int:
        """RLIMIT_NPROC for the worker: its budget, plus the user's own tasks where it shares
        the count with them (tier B as a non-root grader)."""
        if self.tier.name == "B" and self.uid is None:
            return self.limits.processes + _tasks_of(os.getuid())
        return self.limits.processes

    def started(self, leader: int) -> None:
        """The worker process exists: close our copy of bwrap's pipe, start the watchdog."""
        if self._info_write >= 0:
            os.close(self._info_write)
            self._info_write = -1
        self._watchdog = sandbox.Watchdog(self.limits, self._folder, lambda: self.kill(leader),
                                          leader if self.tier.name == "C" else None)

    # -- while it runs ------------------------------------------------------------------------

    def _child(self) -> int | None:
        """A pidfd of the sandbox's init process (tier A), from bwrap's info pipe."""
        if self._pidfd is not None or self._info is None:
            return self._pidfd
        ready, _, _ = select.select([self._info], [], [], 2.0)
        if not ready:
            return None
        try:
            text = os.read(self._info, 4096)
            pid = int(json.loads(text)["child-pid"])
            self._pidfd = os.pidfd_open(pid)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        finally:
            os.close(self._info)
            self._info = None
        return self._pidfd

    def _folder(self) -> str | None:
        """Where the parent finds the worker's folder; None while it is not reachable."""
        if self.tier.name != "A":
            return str(self.host_root)
        base = self._sandbox_root()
        return None if base is None else f"{base}/{self.root.lstrip('/')}"

    def _sandbox_root(self) -> str | None:
        """``/proc/self/fd/N`` for the sandbox's root folder, once the worker runs inside it."""
        with self._lock:
            if self._root_fd is not None:
                return f"/proc/self/fd/{self._root_fd}"
            pidfd = self._child()
            if pidfd is None:
                return None
            try:
                pid = pid_of(pidfd)
                fd = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                return None
            try:  # only the final root holds the worker's folder (bwrap pivots twice)
                os.stat(self.root.lstrip("/"), dir_fd=fd, follow_symlinks=False)
                signal.pidfd_send_signal(pidfd, 0)  # still the same process: not a reused pid
            except OSError:
                os.close(fd)
                return None
            self._root_fd = fd
            return f"/proc/self/fd/{fd}"

    def read_output(self, rel: str, max_bytes: int) -> bytes:
        """Bytes of a file the worker wrote in its submission folder (no links, capped)."""
        if self.tier.name != "A":
            return sandbox.read_output(self.host_root / "submission", rel, max_bytes)
        base = self._sandbox_root()
        if base is None:
            raise FileNotFoundError(f"{rel} was not written by the submission (its sandbox is "
                                    "gone)")
        return sandbox.read_output(Path(base), rel, max_bytes,
                                   prefix=self.dir.lstrip("/"))

    def exit_status(self, by_signal: bool, number: int) -> tuple[bool, int]:
        """How the worker itself ended: bubblewrap exits with 128 + N when it died of signal N."""
        if self.tier.name == "A" and not by_signal and 128 < number <= 128 + 64:
            return True, number - 128
        return by_signal, number

    @property
    def problem(self) -> str | None:
        """Why the watchdog stopped the worker, if it did."""
        return self._watchdog.tripped if self._watchdog else None

    # -- ending -------------------------------------------------------------------------------

    def kill(self, leader: int) -> None:
        """SIGKILL everything the worker started: its PID namespace (tier A), group, session."""
        if self.group is not None:  # everything it started, even outside its session
            self.group.kill()
        with self._lock:
            pidfd = self._child()
        if pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        sandbox.kill_tree(leader, self.host_root.name)

    def close(self) -> None:
        """Stop watching and release descriptors (after the worker was killed and reaped)."""
        if self._watchdog is not None:
            self._watchdog.stop()
        if self.group is not None:
            self.group.remove()
            self.group = None
        with self._lock:
            for fd in (self._info, self._pidfd, self._root_fd):
                if fd is not None:
                    os.close(fd)
            if self._info_write >= 0:  # the worker never started
                os.close(self._info_write)
            self._info = self._pidfd = self._root_fd = None
            self._info_write = -1


@cache
def _installed() -> tuple[str, ...]:
    """The system's folders, Python (venv and base), the grader package, and tools elsewhere."""
    package = Path(__file__).resolve().parent.parent
    roots: list[str] = []
    for path in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                 str(package)):
        for variant in (os.path.abspath(path), os.path.realpath(path)):
            if variant not in roots:
                roots.append(variant)
    system = [p for p in SYSTEM if os.path.isdir(p) and not os.path.islink(p)]
    search = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin",
                              "/bin"])
    for tool in TOOLS:
        found = shutil.which(tool, path=search)
        if found:
            prefix = str(Path(os.path.realpath(found)).parent.parent)
            if not any(_beneath(prefix, r) for r in [*roots, *system]):
                roots.append(prefix)
    return (*system, *roots)


def _beneath(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def pid_of(pidfd: int) -> int:
    """The pid, as this process sees it, of the process behind ``pidfd``."""
    with open(f"/proc/self/fdinfo/{pidfd}") as fh:
        for line in fh:
            if line.startswith("Pid:"):
                pid = int(line.split()[1])
                if pid > 0:
                    return pid
    raise ProcessLookupError("the sandbox has ended")


def _tasks_of(uid: int) -> int:
    """How many tasks (threads included) ``uid`` runs now: what RLIMIT_NPROC counts."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as fh:
                fields = dict(line.split(b":", 1) for line in fh.read().splitlines()
                              if b":" in line)
            if int(fields[b"Uid"].split()[0]) == uid:
                total += int(fields[b"Threads"])
        except (OSError, KeyError, ValueError, IndexError):
            continue
    return total
