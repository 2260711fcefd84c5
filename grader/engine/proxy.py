"""The parent's side of the worker protocol: start, call, time out, kill, and decode answers.

``Submission`` is what tests see as the ``submission`` fixture: ``submission.clean(raw)`` runs
``clean`` in a worker process and returns plain data. Expected values never leave this process.
Everything the worker sends is untrusted: it is size-capped, must answer the request just made
(a line sent out of turn is garbage), and decodes only into plain data.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from grader.engine import services, timing, warm_pool
from grader.engine.outcomes import (
    CallTimeout,
    ImportFailed,
    MissingFunction,
    NotAttempted,
    NotPlainReturn,
    SubmissionCrashed,
    SubmissionProblem,
    SubmissionRaised,
)
from grader.engine.plaindata import (
    NotPlainData,
    ProtocolError,
    decode,
    describe,
    dumps_message,
    encode,
)
from grader.sandbox import isolation, portforward
from grader.sandbox import limits as sandbox

MAX_HEADER = 16 * 1024 * 1024
MAX_PAYLOAD = 512 * 1024 * 1024
LOG_CAP = 4 * 1024
DRAIN_CAP = 8 * 1024 * 1024  # a worker's child may print forever: never read more at once
HARNESS = "_course_harness"
_PRIVATE = re.compile(r"/grader-worker-[^/\s'\"]+/(submission|home)")
_PATH_EDGE = frozenset(" \t\r\n'\"()[]{}<>=:,;")
OUT_OF_TURN = ("the submission's process wrote to the grader's private channel out of turn "
               "during {what}; it was stopped")


def worker_boot() -> list[str]:
    """The command line that starts a worker in isolated mode (its configuration follows)."""
    package_parent = str(Path(__file__).resolve().parents[2])
    boot = (f"import sys; sys.path.append({package_parent!r}); "
            "from grader.engine.worker import main; main()")
    return [sys.executable, "-I", "-c", boot]


@dataclass
class CapturedOutput:
    """What the learner's code printed, kept up to a cap."""

    kept: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def add(self, data: bytes) -> None:
        room = max(LOG_CAP - len(self.kept), 0)
        self.kept += data[:room]
        self.dropped += max(len(data) - room, 0)

    def text(self) -> str:
        """The kept output, with the worker's private folders named as the learner knows them."""
        out = _hide_private(self.kept.decode("utf-8", "replace"))
        if self.dropped:
            out += f"\n[... {self.dropped} more bytes of output not shown]"
        return out


def _hide_private(text: str) -> str:
    """Replace ``/tmp/grader-worker-xyz/submission`` by ``.`` and its ``home`` by ``~``."""
    if "grader-worker-" not in text:
        return text
    parts, done = [], 0
    for match in _PRIVATE.finditer(text):
        start = match.start()
        while start > done and text[start - 1] not in _PATH_EDGE:  # back to the path's start
            start -= 1
        parts += [text[done:start], "~" if match.group(1) == "home" else "."]
        done = match.end()
    return "".join(parts) + text[done:]


@dataclass(frozen=True)
class WorkerSpec:
    """Everything needed to start a worker for one exercise's submission."""

    source: Path
    files: tuple[str, ...]
    modules: tuple[str, ...]
    call_seconds: float
    exercise_seconds: float
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    harness: Path | None = None  # course-owned helper run beside the learner's code
    network: str = "none"  # "loopback": serves itself on 127.0.0.1; "services": reaches the
    readable: tuple[Path, ...] = ()  # course folders the learner may read (the public data)
    artifacts: tuple[str, ...] = ()  # files the learner's code saved: copied when present
    artifact_bytes: int = sandbox.MAX_FILE_BYTES  # the size cap of each artifact


class _Worker:
    """One live worker process."""

    def __init__(self, spec: WorkerSpec, output: Callable[[], CapturedOutput]) -> None:
        self.spec = spec
        self._output = output
        tier = isolation.current()
        lease = warm_pool.lease() if tier.name == "A" and warm_pool.suits(spec.network) \
            else None
        self._tmp = tempfile.TemporaryDirectory(prefix="grader-worker-",
                                                dir=lease.units if lease else None,
                                                ignore_cleanup_errors=True)
        self.root = Path(self._tmp.name)
        self.dir = self.root / "submission"
        home = self.root / "home"
        home.mkdir()
        self.copy_report = sandbox.copy_submission(spec.source, spec.files, self.dir,
                                                   spec.artifacts, spec.artifact_bytes)
        modules = list(spec.modules)
        if spec.harness is not None:
            shutil.copyfile(spec.harness, self.dir / f"{HARNESS}.py")
            modules.append(HARNESS)
        self.ports = services.exposed() if spec.network == "services" else ()
        self.bridge: portforward.Bridge | None = None
        self.proc: subprocess.Popen[bytes] | warm_pool.ForkedProcess
        if lease is not None and self._start_warm(lease, tier, modules):
            return
        self.box = isolation.Box(tier, self.root, spec.limits, spec.network, spec.readable,
                                 ports=self.ports)
        try:
            if self.ports and tier.name == "A":
                self.bridge = portforward.Bridge(self.root / "ports", self.ports)
            self.box.prepare()
            self.proc = subprocess.Popen(
                self.box.command(worker_boot(), modules),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=self.dir, env=self.box.env(), start_new_session=True,
                preexec_fn=self.box.preexec(), close_fds=True,
                pass_fds=self.box.pass_fds(),
            )
        except BaseException:
            if self.bridge is not None:
                self.bridge.close()
            self.box.close()
            self._tmp.cleanup()
            raise
        self._running()

    def _start_warm(self, lease: warm_pool.Lease, tier: isolation.Tier,
                    modules: list[str]) -> bool:
        """Fork the worker from the exercise's warm template; False: start a fresh one."""
        box = warm_pool.ForkedBox(tier, self.root, self.spec.limits, self.spec.network,
                                  self.spec.readable)
        try:
            box.prepare()
            self.proc = warm_pool.ForkedProcess(lease, box, modules)
        except (OSError, warm_pool.TemplateUnavailable):
            box.close()
            return False
        self.box = box
        self._running()
        return True

    def _running(self) -> None:
        """The worker process exists: watch it, and read and write its pipes without blocking."""
        self.box.started(self.proc.pid)
        assert self.proc.stdout and self.proc.stderr and self.proc.stdin
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            os.set_blocking(stream.fileno(), False)
        self._buf = bytearray()
        self._next_id = 1
        self._killed = False

    def alive(self) -> bool:
        """Whether the process still runs (it is not reaped here, so its pid stays ours)."""
        return not self._killed and self._exit_status() is None

    def _exit_status(self) -> tuple[bool, int] | None:
        """(killed by a signal?, exit code or signal number) once ended; None while it runs.

        Where ``waitid`` exists the worker is not reaped, so its pid cannot be reused before
        :meth:`kill` sweeps its process group and session.
        """
        if self.proc.returncode is None and hasattr(os, "waitid") and \
                isinstance(self.proc, subprocess.Popen):
            try:
                info = os.waitid(os.P_PID, self.proc.pid,
                                 os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = None
            else:
                if info is None:
                    return None
                return self.box.exit_status(info.si_code != os.CLD_EXITED, info.si_status)
        code = self.proc.poll()
        return None if code is None else self.box.exit_status(code < 0, abs(code))

    def kill(self) -> None:
        """Kill the worker's process tree, reap it, close the pipes and remove its files."""
        if self._killed:
            return
        self._killed = True
        self.box.kill(self.proc.pid)
        if self.bridge is not None:
            self.bridge.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream:
                with contextlib.suppress(OSError):
                    stream.close()
        self.box.close()
        self._tmp.cleanup()

    def request(self, header: dict[str, Any], blobs: list[bytes], seconds: float, what: str,
                timeout_message: str) -> tuple[dict[str, Any], list[bytes]]:
        """Send one request (or none, for the greeting) and wait for its answer."""
        msg_id = 0
        data = b""
        if header:
            if self._buf or self._unasked_data():
                self.kill()
                raise SubmissionCrashed(OUT_OF_TURN.format(what=what))
            msg_id = self._next_id
            self._next_id += 1
            data = dumps_message(dict(header, id=msg_id), blobs)
        began = time.monotonic()
        try:
            reply, reply_blobs = self._exchange(data, began + seconds, what, timeout_message)
        finally:
            if header:  # a call (the greeting counts as the worker's start)
                timing.add_since("learner_compute", began)
        if type(reply.get("id")) is not int or reply["id"] != msg_id or self._buf:
            self.kill()
            raise SubmissionCrashed(OUT_OF_TURN.format(what=what))
        if type(reply.get("ok")) is not bool:
            self.kill()
            raise SubmissionCrashed(f"the submission's process sent a malformed answer during "
                                    f"{what}")
        return reply, reply_blobs

    def _unasked_data(self) -> bool:
        """Whether the worker sent protocol bytes while nobody was waiting for an answer."""
        assert self.proc.stdout
        try:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return False
        self._buf += chunk
        return bool(chunk)

    def _exchange(self, data: bytes, deadline: float, what: str,
                  timeout_message: str) -> tuple[dict[str, Any], list[bytes]]:
        """Write ``data`` and read the answer, both bounded by ``deadline``; collect output."""
        assert self.proc.stdout and self.proc.stderr and self.proc.stdin
        out_fd, err_fd = self.proc.stdout.fileno(), self.proc.stderr.fileno()
        in_fd = self.proc.stdin.fileno()
        pending = memoryview(data)
        with selectors.DefaultSelector() as sel:
            sel.register(out_fd, selectors.EVENT_READ)
            sel.register(err_fd, selectors.EVENT_READ)
            if pending:
                sel.register(in_fd, selectors.EVENT_WRITE)
            while True:
                if not pending:
                    parsed = self._parse(what)
                    if parsed is not None:
                        self._drain(err_fd)
                        return parsed
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise CallTimeout(timeout_message)
                events = sel.select(timeout=min(remaining, 0.2))
                for key, _ in events:
                    if key.fd == in_fd:
                        try:
                            sent = os.write(in_fd, pending[:1 << 16])
                        except BlockingIOError:
                            continue
                        except OSError:  # the worker is gone (EPIPE)
                            self._died(what)
                        pending = pending[sent:]
                        if not pending:
                            sel.unregister(in_fd)
                        continue
                    chunk = self._read(key.fd)
                    if chunk is None:
                        continue
                    if key.fd == err_fd:
                        if chunk:
                            self._output().add(chunk)
                        else:
                            sel.unregister(err_fd)
                    elif chunk:
                        self._buf += chunk
                        if len(self._buf) > MAX_HEADER + MAX_PAYLOAD:
                            self.kill()
                            raise SubmissionCrashed(f"{what} sent back more data than allowed")
                    else:
                        if not pending and (parsed := self._parse(what)) is not None:
                            return parsed
                        self._died(what)
                if self._exit_status() is not None:
                    # Ended, but a child it left may hold the pipes open: no EOF would come.
                    self._read_all(out_fd)
                    if not pending and (parsed := self._parse(what)) is not None:
                        return parsed
                    self._died(what)

    @staticmethod
    def _read(fd: int) -> bytes | None:
        try:
            return os.read(fd, 1 << 20)
        except BlockingIOError:
            return None

    def _read_all(self, fd: int) -> None:
        while (chunk := self._read(fd)) and len(self._buf) <= MAX_HEADER + MAX_PAYLOAD:
            self._buf += chunk

    def _drain(self, fd: int) -> None:
        """Collect output already written, up to a cap (a child could print without end)."""
        taken = 0
        while taken < DRAIN_CAP:
            try:
                chunk = os.read(fd, 1 << 20)
            except OSError:
                return
            if not chunk:
                return
            taken += len(chunk)
            self._output().add(chunk)

    def _parse(self, what: str) -> tuple[dict[str, Any], list[bytes]] | None:
        end = self._buf.find(b"\n", 0, MAX_HEADER)
        if end < 0:
            if len(self._buf) > MAX_HEADER:
                self.kill()
                raise SubmissionCrashed(f"the submission's process sent a malformed answer "
                                        f"during {what}")
            return None
        try:
            header = json.loads(self._buf[:end])
            if type(header) is not dict:
                raise ValueError("not an object")
            sizes = header.get("blobs", [])
            if type(sizes) is not list or any(type(n) is not int or n < 0 for n in sizes):
                raise ValueError("bad blob sizes")
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply
            self.kill()
            raise SubmissionCrashed(f"the submission's process sent a malformed answer during "
                                    f"{what}") from None
        if sum(sizes) > MAX_PAYLOAD:
            self.kill()
            raise SubmissionCrashed(f"the answer to {what} was larger than allowed")
        total = end + 1 + sum(sizes)
        if len(self._buf) < total:
            return None
        blobs, pos = [], end + 1
        for n in sizes:
            blobs.append(bytes(self._buf[pos:pos + n]))
            pos += n
        del self._buf[:total]
        return header, blobs

    def _died(self, what: str) -> NoReturn:
        """The worker's channel closed: say how it ended, clean up, raise SubmissionCrashed."""
        assert self.proc.stderr
        stop = time.monotonic() + 2
        status = self._exit_status()
        while status is None and time.monotonic() < stop:
            time.sleep(0.02)
            status = self._exit_status()
        self._drain(self.proc.stderr.fileno())
        self.kill()
        if self.box.problem:
            raise SubmissionCrashed(self.box.problem)
        raise SubmissionCrashed(f"the submission's process {_ending(status, what)}")


def _ending(status: tuple[bool, int] | None, what: str) -> str:
    """How a worker ended, in words a learner can act on."""
    if status is None:
        return f"stopped answering during {what} (it closed the grader's channel)"
    by_signal, number = status
    if not by_signal and number == 0:
        return f"ended with exit code 0 during {what}: something called os._exit()"
    if not by_signal:
        return (f"ended with exit code {number} during {what}: something called os._exit() or "
                "broke Python itself (its output may say how)")
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGSEGV:
        return (f"crashed with a segmentation fault (SIGSEGV) during {what}: native code (ctypes "
                "or a C extension) read memory it does not own")
    if number == signal.SIGABRT:
        return f"aborted (SIGABRT) during {what}"
    if number in (signal.SIGKILL, signal.SIGXCPU):
        return f"was killed by {name} during {what}: out of CPU time or memory?"
    return f"was killed by {name} during {what}"


class ModuleProxy:
    """Attribute access on one module of the submission gives callables that run in the worker."""

    def __init__(self, owner: Submission, name: str) -> None:
        self._owner = owner
        self._name = name

    def __getattr__(self, attr: str) -> Callable[..., Any]:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return self._owner.function(attr, self._name)


class Submission:
    """Proxy to a learner's modules: attribute access gives callables that run in a worker."""

    def __init__(self, spec: WorkerSpec, exercise_id: str = "") -> None:
        self._spec = spec
        self._exercise_id = exercise_id
        self._worker: _Worker | None = None
        self._early: _Worker | None = None  # started, its greeting not yet read
        self._import_error: SubmissionProblem | None = None
        self._used = 0.0
        self.output = CapturedOutput()
        self.calls: list[str] = []

    @property
    def primary(self) -> str:
        """The module that plain attribute access reaches."""
        return self._spec.modules[0] if self._spec.modules else HARNESS

    @property
    def harness(self) -> ModuleProxy:
        """The exercise's course-owned harness module, running inside the worker."""
        return ModuleProxy(self, HARNESS)

    def module(self, name: str) -> ModuleProxy:
        """One of the learner's modules by name."""
        return ModuleProxy(self, name)

    @property
    def copy_report(self) -> sandbox.CopyReport | None:
        """What was copied, missing or refused when the current worker started (None before)."""
        worker = self._worker or self._early
        return worker.copy_report if worker is not None else None

    def handed_in(self, rel: str, max_bytes: int) -> bytes:
        """Bytes of a file as the learner handed it in, before any of its code ran (no links,
        size-capped). FileNotFoundError when absent, ValueError when larger than ``max_bytes``."""
        return sandbox.read_output(self._spec.source, rel, max_bytes)

    def read_file(self, rel: str, max_bytes: int = 64 * 1024 * 1024) -> bytes:
        """Bytes of a file the submission wrote in its working folder (no links, size-capped)."""
        if self._import_error is not None:
            raise copy.copy(self._import_error).with_traceback(None) from None
        worker = self._worker
        if worker is None or worker._killed:
            # Text-only exercises read files before any call: start the worker to copy them.
            worker = self._ensure_worker(self._spec.exercise_seconds - self._used)
        try:
            return worker.box.read_output(rel, max_bytes)
        except ValueError as exc:
            raise SubmissionCrashed(str(exc)) from None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.function(name)

    def function(self, name: str, module: str | None = None) -> Callable[..., Any]:
        """A callable that runs ``module.name`` in the worker."""
        mod = module or self.primary

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.call(mod, name, args, kwargs)

        call.__name__ = name
        return call

    def has(self, name: str, module: str | None = None) -> bool:
        """Whether the learner's module defines a callable of this name."""
        mod = self._known_module(module or self.primary)
        reply, _ = self._request({"op": "has", "module": mod, "name": name, "args": None}, [],
                                 f"looking up {name}")
        return bool(reply.get("value") is True)

    def call(self, module: str, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        """Run one function in the worker and return its decoded plain-data result."""
        self._known_module(module)
        shown = ", ".join([describe(a) for a in args] +
                          [f"{k}={describe(v)}" for k, v in kwargs.items()])
        what = f"{name}({shown})"
        self.calls.append(what)
        try:
            packed = encode((tuple(args), dict(kwargs)))
        except NotPlainData as exc:  # a test bug, not the learner's
            raise TypeError(f"test passed non-plain data to {name}: {exc}") from exc
        reply, blobs = self._request({"op": "call", "module": module, "name": name,
                                      "args": packed.tree}, packed.blobs, what)
        if reply.get("ok") is True:
            try:
                return decode(reply.get("value"), blobs)
            except ProtocolError as exc:
                raise SubmissionCrashed(f"{what} sent back data that could not be read: "
                                        f"{exc}") from None
        raise self._problem(reply.get("error"), what, name, module)

    def _known_module(self, module: str) -> str:
        known = set(self._spec.modules) | ({HARNESS} if self._spec.harness else set())
        if module not in known:  # a test bug: name it for the course author
            raise LookupError(f"the test asked for module {module!r}, which is not among this "
                              f"exercise's modules ({', '.join(sorted(known)) or 'none'})")
        return module

    def _problem(self, error: Any, what: str, name: str, module: str) -> SubmissionProblem:
        if type(error) is not dict:
            return SubmissionCrashed(f"the submission's process sent a malformed answer during "
                                     f"{what}")
        kind = error.get("kind")
        message = str(error.get("message", ""))[:4000]
        trace = str(error.get("trace", ""))[:4000]
        if kind == "not_implemented":
            return NotAttempted(message or f"{name}() still raises NotImplementedError: "
                                "not attempted yet")
        if kind == "missing":
            return MissingFunction(f"{module}.py has no function {name}(): define it with that "
                                   "exact name (check the README's task list)")
        if kind == "not_plain":
            return NotPlainReturn(f"{what}: {message}")
        if kind == "exception":
            return SubmissionRaised(f"{what} raised {message}", trace=trace,
                                    exc_type=str(error.get("exc_type", ""))[:200],
                                    exc_message=str(error.get("exc_message", ""))[:4000])
        return SubmissionCrashed(f"{what}: {message}")

    def _request(self, header: dict[str, Any], blobs: list[bytes],
                 what: str) -> tuple[dict[str, Any], list[bytes]]:
        if self._import_error is not None:
            # A fresh copy: re-raising one object would grow its traceback with every test.
            raise copy.copy(self._import_error).with_traceback(None) from None
        budget = self._spec.exercise_seconds
        if self._used >= budget:
            raise CallTimeout(f"timeout: the exercise's time budget of {budget:g} s is used up; "
                              f"{what} was not run")
        start = time.monotonic()
        try:
            worker = self._ensure_worker(budget - self._used)
            left = budget - self._used - (time.monotonic() - start)
            if left <= 0:
                raise CallTimeout(f"timeout: the exercise's time budget of {budget:g} s was "
                                  f"used up while starting the submission; {what} was not run")
            seconds = min(self._spec.call_seconds, left)
            if seconds < self._spec.call_seconds:
                message = (f"timeout: {what} was stopped when the exercise's time budget of "
                           f"{budget:g} s ran out")
            else:
                message = f"timeout: {what} was stopped after {seconds:g} s"
            return worker.request(header, blobs, seconds, what, message)
        except (CallTimeout, SubmissionCrashed):
            if self._worker is not None:
                self._worker.kill()
            self._worker = None
            raise
        finally:
            self._used += time.monotonic() - start

    def start_early(self) -> None:
        """Start the worker process now without waiting for it, so the learner's imports run
        while the judge loads its own; the first call reads its greeting. Not for exercises
        whose servers are exposed later (``network = "services"``)."""
        if self._worker is None and self._early is None and self._spec.network != "services":
            self._early = _Worker(self._spec, lambda: self.output)

    def _ensure_worker(self, left: float) -> _Worker:
        if self._worker is not None:
            # A server the tests started after this worker is out of its reach: start anew.
            current = services.exposed() if self._spec.network == "services" else ()
            if self._worker.alive() and self._worker.ports == current:
                return self._worker
            self._worker.kill()  # it ended between calls: sweep what it left, free its files
            self._worker = None
        began = time.monotonic()  # with an early start, only the wait that is left counts
        if self._early is not None:
            # Started while the judge loaded its own libraries: that overlap costs the budget
            # nothing, as it holds up no test; the wait for its greeting counts from here.
            worker, self._early = self._early, None
        else:
            worker = _Worker(self._spec, lambda: self.output)
        names = ", ".join(f"{m}.py" for m in self._spec.modules) or "the exercise's harness"
        # Importing heavy libraries is not one call: start-up may use the rest of the budget.
        seconds = max(left, self._spec.call_seconds)
        try:
            reply, _ = worker.request(
                {}, [], seconds, "importing the submission",
                f"timeout: importing {names} took longer than {seconds:.0f} s. Move slow work "
                "(loading data, training, loops) from the top of the module into functions")
        except CallTimeout as exc:
            self._import_error = exc
            raise
        except SubmissionCrashed as exc:
            self._import_error = ImportFailed(
                f"{names} could not be imported: {exc.message}. Check for code at the top of "
                "your module that exits or crashes; keep work inside functions")
            raise self._import_error from None
        timing.add_since("worker_start", began)  # spawn to greeting: the learner module imported
        if reply.get("ok") is not True:
            raw = reply.get("error")
            error: dict[str, Any] = raw if type(raw) is dict else {}
            message = str(error.get("message", "import failed"))[:4000]
            if error.get("kind") == "isolation":
                self._import_error = ImportFailed(
                    f"the grader could not isolate the submission ({message}): a problem of the "
                    "grading machine, not of your code")
            elif error.get("kind") == "missing_file":  # not handed in: no engine error
                self._import_error = NotAttempted(
                    "missing: " + _import_message(error, message, worker.copy_report))
            else:
                self._import_error = ImportFailed(
                    _import_message(error, message, worker.copy_report),
                    trace=str(error.get("trace", ""))[:4000])
            worker.kill()
            raise self._import_error
        self._worker = worker
        return worker

    @property
    def seconds(self) -> float:
        """Time spent in requests to the worker: start, import and calls."""
        return self._used

    def close(self) -> None:
        """Stop the worker, if one runs."""
        if self._early is not None:
            self._early.kill()
            self._early = None
        if self._worker is not None:
            self._worker.kill()
            self._worker = None


def _import_message(error: dict[str, Any], message: str, report: sandbox.CopyReport) -> str:
    if error.get("kind") == "missing_file":
        extra = "".join(f"; {name} was not accepted ({why})" for name, why in report.rejected)
        return f"{message}{extra}. Put your work in the file the README names"
    module = str(error.get("module", "your module"))[:100]
    return (f"{module}.py could not be imported: {message}. Fix this first: no test can run "
            "until the module imports")
