"""Warm worker templates for ``grader batch``: an exercise's heavy imports paid once per slot.

The batch parent keeps, for each exercise being graded and each of its ``--jobs`` slots, one
template (:mod:`grader.engine.warm_template`) in a tier-A sandbox of its own. The unit graded in
a slot leases that slot's template through a Unix socket only the grader's user can reach; its
judge asks it for workers (:class:`ForkedProcess`), which start with the libraries already
imported and confine themselves exactly as a fresh worker does, except that Landlock lets them
read only the system, their own input and their own folder (the template's ``/tmp`` holds the
unit's folders only). When the lease ends the template kills every process the unit left and
empties its ``/tmp``; the parent removes the unit's input copies. Units of one exercise are
graded in a row, so each template serves many students before it is stopped.

Used only where it is as strong as tier A: bubblewrap, Landlock ABI 6 or later (signal and
abstract-socket scoping), seccomp, and exercises without a network. Anything else, or any
failure of a template, falls back to a fresh worker per unit. ``GRADER_WARM=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from grader.engine import judge_preload
from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.sandbox import isolation
from grader.sandbox import limits as sandbox

ENV_VAR = "GRADER_WARM"
PREFIX = "grader-warm-"  # the pool's folder: grader-warm-<batch pid>-<random>
MIN_LANDLOCK = 6  # signal and abstract-socket scoping keep a unit's processes apart
MAX_MESSAGE = 64 * 1024
REPLY_SECONDS = 30.0  # a template still importing answers its first request late


class TemplateUnavailable(RuntimeError):
    """No warm worker could be had: start a fresh one."""


def enabled() -> bool:
    """Whether warm templates may be used on this machine and in this process."""
    if os.environ.get(ENV_VAR, "1").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    tier = isolation.current()
    return tier.name == "A" and tier.landlock >= MIN_LANDLOCK and tier.seccomp


def suits(network: str) -> bool:
    """Whether a worker with this network may come from a template (no network: its own)."""
    return network == "none"


def preload_for(course: Course, ex: Exercise) -> list[str]:
    """What the exercise's own files import from third parties: its starter, its harness and,
    in the instructor's copy, its reference solution (what a finished submission imports).
    ``module`` or ``module:name`` (``from transformers import AutoTokenizer``: libraries that
    load lazily import the name's submodule only when it is first looked up)."""
    found: set[str] = set()
    names = [f"{m}.py" for m in ex.modules] + ([ex.harness] if ex.harness else [])
    for folder in (course.exercise_dir(ex), course.solution_dir(ex)):
        for name in names:
            path = folder / name
            with contextlib.suppress(OSError, SyntaxError, ValueError):
                if path.is_file() and path.stat().st_size <= judge_preload.MAX_SOURCE:
                    found |= judge_preload.imports_of(path.read_text(encoding="utf-8"),
                                                       names=True)
    return sorted(n for n in found if judge_preload.third_party(n.partition(":")[0]))



# -- the batch parent's side -----------------------------------------------------------------


class Template:
    """One running template: its sandbox, listening socket and the folder for units' inputs."""

    def __init__(self, folder: Path, key: str, ex: Exercise, course: Course,
                 jobs: int = 1) -> None:
        from grader.engine.plugin import readable_data, worker_limits

        self.key = key
        # a name no other process carries: stopping the template also sweeps what names it
        self.root = Path(tempfile.mkdtemp(prefix=f"grader-template-{key}-", dir=folder))
        self.units = self.root / "units"
        self.units.mkdir()
        os.chmod(self.root, 0o711)
        os.chmod(self.units, 0o711)
        self.address = str(folder / f"{key}.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._listener.bind(self.address)
        self._listener.listen(4)
        self.box = isolation.Box(isolation.current(), self.root, worker_limits(ex), "none",
                                 readable_data(course, ex), template=True)
        boot = (f"import sys; sys.path.append({str(Path(__file__).resolve().parents[2])!r}); "
                "from grader.engine.warm_template import main; main()")
        config = {"listen_fd": self._listener.fileno(), "preload": preload_for(course, ex)}
        self._log = open(self.root / "template.log", "wb")  # noqa: SIM115 - closed in stop()
        try:
            self.box.prepare()
            self.proc = subprocess.Popen(
                [*self.box.prefix(), sys.executable, "-I", "-c", boot, json.dumps(config)],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, cwd="/",
                # torch and BLAS size their thread pools at import: the units graded at once
                # share the cores, whatever the grader's own environment says
                env={**self.box.env(), **sandbox.thread_env(jobs)}, start_new_session=True,
                preexec_fn=self.box.preexec(),
                close_fds=True, pass_fds=(*self.box.pass_fds(), self._listener.fileno()))
        except BaseException:
            self.box.close()
            self._log.close()
            raise
        finally:  # the template holds it now: once it is gone, connecting is refused
            self._listener.close()
        self.box.started(self.proc.pid)

    def alive(self) -> bool:
        """Whether the template still runs."""
        return self.proc.poll() is None

    def clear_units(self) -> None:
        """Remove the input copies a finished (or killed) unit left."""
        for entry in list(self.units.iterdir()):
            shutil.rmtree(entry, ignore_errors=True)

    def stop(self) -> None:
        """End the template and everything in its sandbox; remove its files."""
        self.box.kill(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.box.close()
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.address)
        shutil.rmtree(self.root, ignore_errors=True)


class Pool:
    """The templates of one batch run: one per exercise and slot, started when first needed."""

    def __init__(self, course: Course, per_slot: int = 0, jobs: int = 1) -> None:
        self.course = course
        self.jobs = jobs  # units graded at once: their workers share the cores
        self.per_slot = per_slot  # templates kept per slot, the latest used (0: no cap)
        sweep_stale()
        # 0700: the grader's alone; the pid in its name lets a later batch remove it
        self._dir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        self._templates: dict[tuple[str, int], Template] = {}
        self._failed: set[str] = set()

    @classmethod
    def for_batch(cls, course: Course, per_slot: int = 0, jobs: int = 1) -> Pool | None:
        """A pool where templates can be used here, else None (every worker starts fresh)."""
        return cls(course, per_slot, jobs) if enabled() else None

    def address(self, ex: Exercise, slot: int) -> tuple[str, str] | None:
        """(socket, units folder) of the template for ``ex`` in ``slot``; None: start fresh."""
        if not suits(ex.network) or ex.id in self._failed:
            return None
        key = (ex.id, slot)
        found = self._templates.pop(key, None)  # put back last: the latest used is last
        if found is not None and not found.alive():
            found.stop()
            found = None
        if found is None:
            same_slot = [k for k in self._templates if k[1] == slot]
            if self.per_slot and len(same_slot) >= self.per_slot:  # the slot is idle now
                for old in same_slot[:len(same_slot) - self.per_slot + 1]:
                    self._templates.pop(old).stop()
            try:
                found = Template(self._dir, f"{ex.id}-{slot}", ex, self.course, self.jobs)
            except (OSError, subprocess.SubprocessError):
                self._failed.add(ex.id)
                return None
        self._templates[key] = found
        return found.address, str(found.units)

    def release(self, slot: int) -> None:
        """The unit in ``slot`` ended: remove its input copies (its template cleaned the rest)."""
        for (_, used), template in self._templates.items():
            if used == slot:
                template.clear_units()

    def retire(self, still_needed: Iterable[str]) -> None:
        """Stop the templates of exercises no unit left in this run needs."""
        keep = set(still_needed)
        for key in [k for k in self._templates if k[0] not in keep]:
            self._templates.pop(key).stop()

    def close(self) -> None:
        """Stop every template and remove the pool's folder."""
        self.retire(())
        shutil.rmtree(self._dir, ignore_errors=True)


def sweep_stale() -> int:
    """Remove the folders of pools whose batch died (kill -9): students' input copies."""
    removed = 0
    base = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for entry in base.iterdir():
            pid = entry.name[len(PREFIX):].split("-", 1)[0]
            if not entry.name.startswith(PREFIX) or not pid.isdigit():
                continue
            if not os.path.exists(f"/proc/{pid}") and entry.is_dir() and \
                    not entry.is_symlink() and entry.stat().st_uid == os.geteuid():
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


# -- the judge's side ------------------------------------------------------------------------

_attached: tuple[str, str] | None = None
_lease: Lease | None = None


def attach(address: str, units: str) -> None:
    """This judge process grades its unit with the template at ``address``."""
    global _attached
    _attached = (address, units)


def detach() -> None:
    """End this process's lease (its template then clears the unit) and use no template."""
    global _attached, _lease
    if _lease is not None:
        _lease.close()
    _attached = _lease = None


def lost_workers() -> bool:
    """Whether this unit's template failed while its workers ran: the unit's grade may show the
    machine's fault, not the student's, so the judge does not answer (the batch grades it
    again)."""
    return _lease is not None and _lease.lost_workers


def lease() -> Lease | None:
    """This process's lease on its template, once attached and while usable; else None."""
    global _lease
    if _attached is None:  # the batch parent decided (this process's environment may be older)
        return None
    if _lease is None or _lease.broken:
        if _lease is not None:
            return None  # it failed once: fresh workers from now on
        _lease = Lease(*_attached)
    return _lease


class Lease:
    """A connection to one template, held for one unit; requests are answered in turn."""

    def __init__(self, address: str, units: str) -> None:
        self.units = Path(units)
        self.broken = False
        self.spawned = 0  # workers this lease started
        self.lost_workers = False  # the template failed while workers of this unit ran
        self._lock = threading.Lock()
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._conn.connect(address)
        except OSError:
            self.broken = True

    def close(self) -> None:
        """End the lease: the template kills what the unit left and empties its ``/tmp``."""
        with self._lock:
            self.broken = True
            with contextlib.suppress(OSError):
                self._conn.close()

    def request(self, message: dict[str, Any], fds: Sequence[int] = (),
                seconds: float = REPLY_SECONDS) -> tuple[dict[str, Any], list[int]]:
        """Send one request and wait (bounded) for its answer and the descriptors it carries."""
        with self._lock:
            if self.broken:
                raise TemplateUnavailable("the warm template is gone")
            try:
                data = json.dumps(message).encode()
                if fds:
                    socket.send_fds(self._conn, [data], list(fds))
                else:
                    self._conn.send(data)
                ready, _, _ = select.select([self._conn], [], [], seconds)
                if not ready:
                    raise TimeoutError("the warm template did not answer")
                reply, got, _, _ = socket.recv_fds(self._conn, MAX_MESSAGE, 1)
                if not reply:
                    raise ConnectionError("the warm template closed the connection")
                answer = json.loads(reply)
            except (OSError, ValueError) as exc:
                self.broken = True
                self.lost_workers = self.spawned > 0
                with contextlib.suppress(OSError):
                    self._conn.close()
                raise TemplateUnavailable(f"the warm template failed: {exc}") from None
        if type(answer) is not dict:
            raise TemplateUnavailable("the warm template sent a malformed answer")
        return answer, list(got)


class ForkedBox(isolation.Box):
    """A tier-A worker's box whose process comes from a template rather than from bubblewrap."""

    lease: Lease | None = None
    nspid: int = 0

    def prepare(self) -> None:
        """Make the input copy readable by the worker's uid; make its cgroup."""
        super().prepare()
        os.chmod(self.host_root, 0o711)

    def _plan(self) -> dict[str, object]:
        """Tier A's plan, reading only the system, the exercise's data, its input and folder."""
        plan = super()._plan()
        source = f"{isolation.UNITS}/{self.host_root.name}/submission"
        plan["input"] = source
        rules = plan.get("landlock")
        if isinstance(rules, dict):
            rules["read"] = [*self._readable(), "/etc", "/proc", "/sys", source]
        policy = plan.get("seccomp")
        if isinstance(policy, dict):  # the template's IPC namespace serves unit after unit
            policy["sysv_ipc"] = False
        return plan

    def config(self, modules: Sequence[str]) -> dict[str, object]:
        """What the forked worker runs with: its folder, modules and confinement."""
        return {"dir": self.dir, "modules": list(modules), "confine": self._plan()}

    def exit_status(self, by_signal: bool, number: int) -> tuple[bool, int]:
        """The worker's own status (no bubblewrap in between)."""
        return by_signal, number

    def kill(self, leader: int) -> None:
        """SIGKILL the worker, its cgroup and session (the template removes its folder)."""
        if self.group is not None:
            self.group.kill()
        with self._lock:
            pidfd = self._pidfd
        if pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        if self.lease is not None and self.nspid:
            with contextlib.suppress(TemplateUnavailable):
                self.lease.request({"op": "kill", "pid": self.nspid, "root": self.root}, (),
                                   seconds=10)


class ForkedProcess:
    """What :class:`grader.engine.proxy._Worker` needs of a Popen, for a worker forked by a
    template: its pipes, its pid on this side, and how it ended."""

    def __init__(self, lease: Lease, box: ForkedBox, modules: Sequence[str]) -> None:
        self._lease = lease
        self.box = box
        self.returncode: int | None = None
        ends = [os.pipe() for _ in range(3)]
        theirs = [ends[0][0], ends[1][1], ends[2][1]]
        ours = [ends[0][1], ends[1][0], ends[2][0]]
        try:
            reply, fds = lease.request({"op": "spawn", "config": box.config(modules),
                                        "env": box.env(),
                                        "limits": dataclasses.asdict(box.limits)}, theirs)
        except TemplateUnavailable:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        if reply.get("ok") is not True or len(fds) != 1 or type(reply.get("pid")) is not int:
            for fd in [*ours, *fds]:
                os.close(fd)
            raise TemplateUnavailable(str(reply.get("error", "the template refused")))
        lease.spawned += 1
        self.pidfd = fds[0]
        self.nspid = int(reply["pid"])
        self.pid = isolation.pid_of(self.pidfd)
        box._pidfd = self.pidfd
        box.lease, box.nspid = lease, self.nspid
        self.stdin = os.fdopen(ours[0], "wb", buffering=0)
        self.stdout = os.fdopen(ours[1], "rb", buffering=0)
        self.stderr = os.fdopen(ours[2], "rb", buffering=0)
        try:
            if box.group is not None:  # before it runs anything: it cannot leave the cgroup
                box.group.enter(self.pid)
            lease.request({"op": "go", "pid": self.nspid}, (), seconds=10)
        except (OSError, TemplateUnavailable):
            box.kill(self.pid)
            self.close_pipes()
            raise TemplateUnavailable("the warm worker could not be started") from None

    def close_pipes(self) -> None:
        """Close this side's ends of the worker's pipes."""
        for stream in (self.stdin, self.stdout, self.stderr):
            with contextlib.suppress(OSError):
                stream.close()

    def poll(self) -> int | None:
        """Like Popen.poll: None while it runs, else its exit code (negative: its signal)."""
        if self.returncode is not None:
            return self.returncode
        try:
            ready, _, _ = select.select([self.pidfd], [], [], 0)
        except (OSError, ValueError):
            ready = [True]
        if not ready:
            return None
        try:
            reply, _ = self._lease.request({"op": "status", "pid": self.nspid}, (), seconds=10)
        except TemplateUnavailable:  # the template died, and its workers with it
            self.returncode = -signal.SIGKILL
            return self.returncode
        if reply.get("running") is True:
            return None
        code = int(reply.get("code", 1))
        self.returncode = -code if reply.get("signal") else code
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Like Popen.wait, bounded."""
        stop = time.monotonic() + (timeout if timeout is not None else 3600.0)
        while (code := self.poll()) is None:
            if time.monotonic() > stop:
                raise subprocess.TimeoutExpired("warm worker", timeout or 0.0)
            with contextlib.suppress(OSError, ValueError):
                select.select([self.pidfd], [], [], 0.05)
            time.sleep(0.01)
        return code
