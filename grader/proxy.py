"""The parent's side of the worker protocol: start, call, time out, kill, and decode answers.

``Submission`` is what tests see as the ``submission`` fixture: ``submission.clean(raw)`` runs
``clean`` in a worker process and returns plain data. Expected values never leave this process.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import sandbox
from grader.outcomes import (
    CallTimeout,
    ImportFailed,
    MissingFunction,
    NotAttempted,
    NotPlainReturn,
    SubmissionCrashed,
    SubmissionProblem,
    SubmissionRaised,
)
from grader.plaindata import NotPlainData, ProtocolError, decode, describe, dumps_message, encode

MAX_HEADER = 16 * 1024 * 1024
MAX_PAYLOAD = 512 * 1024 * 1024
LOG_CAP = 16 * 1024


@dataclass
class CapturedOutput:
    """What the learner's code printed, kept up to a cap."""

    kept: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def add(self, data: bytes) -> None:
        room = LOG_CAP - len(self.kept)
        self.kept += data[:max(room, 0)]
        self.dropped += max(len(data) - max(room, 0), 0)

    def text(self) -> str:
        out = self.kept.decode("utf-8", "replace")
        if self.dropped:
            out += f"\n[... {self.dropped} more bytes of output not shown]"
        return out


@dataclass(frozen=True)
class WorkerSpec:
    """Everything needed to start a worker for one exercise's submission."""

    source: Path
    files: tuple[str, ...]
    modules: tuple[str, ...]
    call_seconds: float
    exercise_seconds: float
    limits: sandbox.Limits = sandbox.Limits()
    harness: Path | None = None  # course-owned helper run beside the learner's code


HARNESS = "_course_harness"


class _Worker:
    """One live worker process."""

    def __init__(self, spec: WorkerSpec, output: Callable[[], CapturedOutput]) -> None:
        self.spec = spec
        self._output = output
        self._tmp = tempfile.TemporaryDirectory(prefix="grader-worker-")
        root = Path(self._tmp.name)
        self.dir = root / "submission"
        home = root / "home"
        home.mkdir()
        self.copy_report = sandbox.copy_submission(spec.source, spec.files, self.dir)
        modules = list(spec.modules)
        if spec.harness is not None:
            shutil.copyfile(spec.harness, self.dir / f"{HARNESS}.py")
            modules.append(HARNESS)
        config = json.dumps({"dir": str(self.dir), "modules": modules})
        self.proc = subprocess.Popen(
            sandbox.worker_command(config, root / "pycache"),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=self.dir, env=sandbox.scrubbed_env(home), start_new_session=True,
            preexec_fn=sandbox.limiter(spec.limits), close_fds=True,
        )
        assert self.proc.stdout and self.proc.stderr and self.proc.stdin
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self.proc.stderr.fileno(), False)
        self._buf = bytearray()
        self._next_id = 1

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """Kill the worker's whole process group and remove its files."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        self._tmp.cleanup()

    def request(self, header: dict[str, Any], blobs: list[bytes], deadline: float,
                what: str) -> tuple[dict[str, Any], list[bytes]]:
        """Send one request (or none, for the greeting) and wait for its answer."""
        msg_id = 0
        if header:
            msg_id = self._next_id
            self._next_id += 1
            assert self.proc.stdin
            try:
                self.proc.stdin.write(dumps_message(dict(header, id=msg_id), blobs))
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._died(what)
        reply, reply_blobs = self._read_reply(deadline, what)
        if reply.get("id") != msg_id:
            self.kill()
            raise SubmissionCrashed(f"the worker answered out of turn during {what}")
        return reply, reply_blobs

    def _read_reply(self, deadline: float, what: str) -> tuple[dict[str, Any], list[bytes]]:
        assert self.proc.stdout and self.proc.stderr
        out_fd, err_fd = self.proc.stdout.fileno(), self.proc.stderr.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(out_fd, selectors.EVENT_READ)
            sel.register(err_fd, selectors.EVENT_READ)
            while True:
                parsed = self._parse()
                if parsed is not None:
                    self._drain(err_fd)
                    return parsed
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise CallTimeout(f"timeout: {what} was stopped after "
                                      f"{self.spec.call_seconds:g} s")
                for key, _ in sel.select(timeout=min(remaining, 1.0)):
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
                        self._died(what)

    @staticmethod
    def _read(fd: int) -> bytes | None:
        try:
            return os.read(fd, 1 << 20)
        except BlockingIOError:
            return None

    def _drain(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            self._output().add(chunk)

    def _parse(self) -> tuple[dict[str, Any], list[bytes]] | None:
        end = self._buf.find(b"\n", 0, MAX_HEADER)
        if end < 0:
            if len(self._buf) > MAX_HEADER:
                self.kill()
                raise SubmissionCrashed("the worker sent a malformed answer")
            return None
        try:
            header = json.loads(self._buf[:end])
            sizes = header.get("blobs", []) if type(header) is dict else None
            if type(sizes) is not list or any(type(n) is not int or n < 0 for n in sizes):
                raise ValueError("bad blob sizes")
        except ValueError:
            self.kill()
            raise SubmissionCrashed("the worker sent a malformed answer") from None
        if sum(sizes) > MAX_PAYLOAD:
            self.kill()
            raise SubmissionCrashed("the worker's answer was larger than allowed")
        total = end + 1 + sum(sizes)
        if len(self._buf) < total:
            return None
        blobs, pos = [], end + 1
        for n in sizes:
            blobs.append(bytes(self._buf[pos:pos + n]))
            pos += n
        del self._buf[:total]
        return header, blobs

    def _died(self, what: str) -> None:
        assert self.proc.stderr
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self._drain(self.proc.stderr.fileno())
        code = self.proc.returncode
        self.kill()
        if code is not None and code < 0:
            reason = f"was killed by signal {signal.Signals(-code).name}"
            if -code in (signal.SIGKILL, signal.SIGXCPU):
                reason += " (out of CPU time or memory?)"
        else:
            reason = f"exited with code {code}"
        raise SubmissionCrashed(f"the submission's process {reason} during {what}")


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

    def read_file(self, rel: str, max_bytes: int = 64 * 1024 * 1024) -> bytes:
        """Bytes of a file the submission wrote in its working folder (no links, size-capped)."""
        worker = self._worker
        if worker is None:
            raise FileNotFoundError(f"{rel}: the submission has not run yet")
        base = worker.dir.resolve()
        path = (base / rel).resolve()
        if base not in path.parents or path.is_symlink() or not path.is_file():
            raise FileNotFoundError(f"{rel} was not written by the submission")
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise SubmissionCrashed(f"{rel} is larger than {max_bytes // (1024 * 1024)} MB")
        return data

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
        reply, _ = self._request({"op": "has", "module": module or self.primary, "name": name,
                                  "args": None}, [], f"looking up {name}")
        return bool(reply.get("value") is True)

    def call(self, module: str, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        """Run one function in the worker and return its decoded plain-data result."""
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

    def _problem(self, error: Any, what: str, name: str, module: str) -> SubmissionProblem:
        if type(error) is not dict:
            return SubmissionCrashed(f"{what}: the worker sent a malformed answer")
        kind = error.get("kind")
        message = str(error.get("message", ""))[:4000]
        trace = str(error.get("trace", ""))[:4000]
        if kind == "not_implemented":
            return NotAttempted(f"{name}() still raises NotImplementedError: not attempted yet")
        if kind == "missing":
            return MissingFunction(f"{module}.py has no function {name}(): define it with that "
                                   "exact name (check the README's task list)")
        if kind == "not_plain":
            return NotPlainReturn(f"{what}: {message}")
        if kind == "exception":
            return SubmissionRaised(f"{what} raised {message}", trace=trace,
                                    exc_type=str(error.get("exc_type", "")),
                                    exc_message=str(error.get("exc_message", "")))
        return SubmissionCrashed(f"{what}: {message}")

    def _request(self, header: dict[str, Any], blobs: list[bytes],
                 what: str) -> tuple[dict[str, Any], list[bytes]]:
        if self._import_error is not None:
            raise self._import_error
        remaining = self._spec.exercise_seconds - self._used
        if remaining <= 0:
            raise CallTimeout(f"timeout: the exercise's time budget of "
                              f"{self._spec.exercise_seconds:g} s is used up; {what} was not run")
        start = time.monotonic()
        try:
            worker = self._ensure_worker(start + remaining)
            deadline = time.monotonic() + min(self._spec.call_seconds, remaining)
            return worker.request(header, blobs, deadline, what)
        except (CallTimeout, SubmissionCrashed):
            self._worker = None
            raise
        finally:
            self._used += time.monotonic() - start

    def _ensure_worker(self, deadline: float) -> _Worker:
        if self._worker is not None and self._worker.alive():
            return self._worker
        worker = _Worker(self._spec, lambda: self.output)
        # Importing heavy libraries is not the learner's call budget: give start-up its own.
        startup = max(deadline, time.monotonic() + self._spec.call_seconds)
        try:
            reply, _ = worker.request({}, [], startup, "importing the submission")
        except SubmissionCrashed as exc:
            self._import_error = ImportFailed(
                f"the submission could not start: {exc.message}. Check for code at the top of "
                "your module that exits or crashes; keep work inside functions")
            raise self._import_error from None
        if reply.get("ok") is not True:
            error = reply.get("error") if type(reply.get("error")) is dict else {}
            message = str(error.get("message", "import failed"))[:4000]
            self._import_error = ImportFailed(_import_message(error, message, worker.copy_report),
                                              trace=str(error.get("trace", ""))[:4000])
            worker.kill()
            raise self._import_error
        self._worker = worker
        return worker

    def close(self) -> None:
        """Stop the worker, if one runs."""
        if self._worker is not None:
            self._worker.kill()
            self._worker = None


def _import_message(error: dict[str, Any], message: str, report: sandbox.CopyReport) -> str:
    if error.get("kind") == "missing_file":
        extra = "".join(f"; {name} was not accepted ({why})" for name, why in report.rejected)
        return f"{message}{extra}. Put your work in the file the README names"
    module = error.get("module", "your module")
    return (f"{module}.py could not be imported: {message}. Fix this first: no test can run "
            "until the module imports")
