"""A warm worker template: imports an exercise's heavy libraries once, forks a worker per call.

Runs inside a tier-A sandbox of its own (PID, mount, IPC and network namespaces), which
:mod:`grader.engine.warm_pool` starts. It never runs learner code itself: it
imports the libraries the exercise's files import (torch, transformers, sklearn, pandas) and
then serves one grading unit at a time on a ``SOCK_SEQPACKET`` connection:

- ``spawn``: fork a child holding the three pipes the judge sent, and answer its pidfd. The
  child waits for ``go`` (the judge moves it into the worker's cgroup first), then drops its
  privileges, applies the worker's confinement (Landlock reading only the system, its own input
  and its own folder; seccomp; rlimits) and only then imports the learner's modules
  (:func:`grader.engine.worker.main`).
- ``status``: how a child ended, or that it runs. ``kill``: end a child and its session, remove
  its folder.

When the connection closes (the unit ended, or its judge was killed) every other process in
this PID namespace is killed and ``/tmp`` emptied before the next unit is served: no student's
process or file outlives their unit, whatever it did to its session.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import resource
import signal
import socket
import sys
import time
from typing import Any

MAX_MESSAGE = 256 * 1024
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
KILL_ROUNDS = 500  # 5 s at most: SIGKILL cannot be refused


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _send(conn: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(conn, [data], fds)
    else:
        conn.send(data)


def _others() -> list[int]:
    """Every process of this PID namespace but its init (1) and this template."""
    me = os.getpid()
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and int(e) not in (1, me)]


def _reap(ended: dict[int, int]) -> None:
    """Collect every child that ended (workers and orphans this template adopted)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ended[pid] = status


def _sweep(ended: dict[int, int]) -> None:
    """Kill every process of the unit that ended and empty ``/tmp``."""
    for _ in range(KILL_ROUNDS):
        found = _others()
        if not found:
            break
        for pid in found:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)  # killed processes become zombies, reaped here, then leave /proc
        _reap(ended)
    ended.clear()
    _remove_tree("/tmp", keep_top=True)


def _remove_tree(path: str, keep_top: bool = False) -> None:
    """Remove a folder's contents (and the folder) without following links."""
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        for entry in list(entries):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    _remove_tree(entry.path)
                else:
                    os.unlink(entry.path)
    if not keep_top:
        with contextlib.suppress(OSError):
            os.rmdir(path)


def _status(pid: int, ended: dict[int, int]) -> dict[str, Any]:
    _reap(ended)
    if pid not in ended:
        return {"ok": True, "running": True}
    status = ended[pid]
    if os.WIFSIGNALED(status):
        return {"ok": True, "running": False, "signal": True, "code": os.WTERMSIG(status)}
    return {"ok": True, "running": False, "signal": False, "code": os.WEXITSTATUS(status)}


def _kill(pid: int, root: str, ended: dict[int, int]) -> None:
    """End one worker: its session (what it started and kept), itself; remove its folder."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    if pid not in ended:
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(pid, 0)
            ended[pid] = status
    if root.startswith("/tmp/grader-worker-") and "/" not in root[len("/tmp/"):]:
        _remove_tree(root)


def _child(request: dict[str, Any], fds: list[int], go: int, template: int) -> None:
    """In the forked child: take the pipes, wait for ``go``, then become the worker."""
    status = 70
    try:
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, go)
        os.closerange(go + 1, _max_fd())
        if os.read(go, 1) != b"g":  # the judge gave up on this child
            os._exit(71)
        os.close(go)
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != template:
            os._exit(1)
        try:
            _become_fresh(request)
        except BaseException as exc:  # the machine's problem, never the learner's: say so
            _refuse(f"the warm worker could not be set up: {type(exc).__name__}: {exc}")
            os._exit(70)
        from grader.engine import worker

        worker.main()
        status = 0
    except BaseException:  # never return into the template's loop
        status = 70
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def _become_fresh(request: dict[str, Any]) -> None:
    """What a fresh worker would have: rlimits, environment, its own random state."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 0)
    limits = request["limits"]
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_seconds"], limits["cpu_seconds"] + 5))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir("/")
    numpy = sys.modules.get("numpy")
    if numpy is not None:  # seeded from the OS at import: every fork would draw the same
        numpy.random.seed()
    sys.argv = ["grader-worker", json.dumps(request["config"])]


def _refuse(message: str) -> None:
    """Answer the judge's greeting with an isolation error (as a fresh worker's confine would)."""
    from grader.engine.worker import _error, _send

    with contextlib.suppress(BaseException):
        _send(os.fdopen(1, "wb"), dict(_error("isolation", message), id=0), [])


def _max_fd() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return min(soft, 65536)


def _spawn(conn: socket.socket, request: dict[str, Any], fds: list[int],
           preloaded: frozenset[str]) -> int | None:
    """Fork one worker; answer its pidfd. Returns its pid (None if refused)."""
    clash = [m for m in request["config"]["modules"] if m in sys.modules or m in preloaded]
    if len(fds) != 3 or clash:
        for fd in fds:
            os.close(fd)
        _send(conn, {"ok": False, "error": "module name taken by a preloaded library"
                     if clash else "three pipes expected"})
        return None
    go_read, go_write = os.pipe()
    template = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(go_write)
        _child(request, fds, go_read, template)
    os.close(go_read)
    for fd in fds:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    try:
        _send(conn, {"ok": True, "pid": pid}, [pidfd])
    finally:
        os.close(pidfd)
    _GO[pid] = go_write
    return pid


_GO: dict[int, int] = {}


def _serve(conn: socket.socket, preloaded: frozenset[str]) -> None:
    """Answer one unit's requests until its judge closes the connection."""
    ended: dict[int, int] = {}
    try:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 3)
            except OSError:
                return
            if not data:
                return
            try:
                request = json.loads(data)
                op = request["op"]
            except (ValueError, KeyError, TypeError):
                return
            _reap(ended)  # orphans a killed worker left: never let zombies pile up
            if op == "spawn":
                _spawn(conn, request, list(fds), preloaded)
                continue
            for fd in fds:
                os.close(fd)
            pid = int(request.get("pid", 0))
            if op == "go" and pid in _GO:
                write = _GO.pop(pid)
                with contextlib.suppress(OSError):
                    os.write(write, b"g")
                os.close(write)
                _send(conn, {"ok": True})
            elif op == "status":
                _send(conn, _status(pid, ended))
            elif op == "kill":
                if pid in _GO:
                    os.close(_GO.pop(pid))
                _kill(pid, str(request.get("root", "")), ended)
                _send(conn, {"ok": True})
            else:
                _send(conn, {"ok": False, "error": f"unknown request {op!r}"})
    finally:
        for write in _GO.values():
            with contextlib.suppress(OSError):
                os.close(write)
        _GO.clear()
        _sweep(ended)


def main() -> None:
    """Import the exercise's libraries, say ready, then serve units one after the other."""
    config = json.loads(sys.argv[1])
    listener = socket.socket(fileno=int(config["listen_fd"]))
    os.set_inheritable(listener.fileno(), False)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.close(devnull)
    before = set(sys.modules)
    import grader.engine.plaindata
    import grader.engine.worker  # noqa: F401
    from grader.sandbox import confine, landlock, seccomp  # noqa: F401

    for entry in config.get("preload", []):
        module, _, name = str(entry).partition(":")
        with contextlib.suppress(BaseException):  # a library that fails stays cold
            loaded = importlib.import_module(module)
            if name:  # a lazy library imports what a name needs when it is looked up
                getattr(loaded, name)
    preloaded = frozenset(n.partition(".")[0] for n in set(sys.modules) - before)
    while True:
        conn, _ = listener.accept()
        with conn:
            _serve(conn, preloaded)


if __name__ == "__main__":
    main()
