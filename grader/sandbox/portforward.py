"""Forward the grader's own servers, port by port, into one worker's private network.

In tier A a worker has its own network namespace, so nothing on the grader's 127.0.0.1 is in
reach: not another student's emulator, not a database the machine runs. An exercise whose tests
start a server for the learner's code (a cloud emulator) names its port; the grader then listens
on one Unix socket per port in the worker's folder (:class:`Bridge`, grader side), and the worker
listens on the same port of its own loopback and passes each connection through
(:func:`serve_inside`, worker side, after its confinement). The learner's code connects to
``127.0.0.1:<port>`` as it would on the host, and reaches exactly its own grading's servers.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterable
from pathlib import Path

MAX_CONNECTIONS = 32  # at once, per port: a submission cannot tie up the grader's threads
CONNECT_SECONDS = 5.0
CHUNK = 1 << 16


def socket_name(port: int) -> str:
    """The Unix socket that carries ``port`` into the worker."""
    return f"{int(port)}.sock"


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy one direction until it ends, then pass the end on."""
    try:
        while chunk := source.recv(CHUNK):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _splice(a: socket.socket, b: socket.socket, done: threading.Semaphore | None) -> None:
    """Carry bytes both ways between ``a`` and ``b``, then close both."""

    def other_way() -> None:
        _pump(b, a)

    back = threading.Thread(target=other_way, daemon=True)
    back.start()
    try:
        _pump(a, b)
        back.join()
    finally:
        for sock in (a, b):
            with contextlib.suppress(OSError):
                sock.close()
        if done is not None:
            done.release()


class Bridge:
    """Grader side: a Unix socket per port in ``folder``, each passed on to 127.0.0.1:port."""

    def __init__(self, folder: Path, ports: Iterable[int]) -> None:
        self.folder = folder
        self.ports = tuple(sorted({int(p) for p in ports}))
        self._stop = threading.Event()
        self._listeners: list[socket.socket] = []
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        folder.mkdir(mode=0o755, exist_ok=True)
        os.chmod(folder, 0o755)  # the sandbox's uid must reach the sockets
        try:
            for port in self.ports:
                self._listen(port)
        except BaseException:
            self.close()
            raise

    def _listen(self, port: int) -> None:
        path = self.folder / socket_name(port)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listeners.append(listener)
        # A Unix socket's path has 107 bytes at most, and a worker's folder can be deeper than
        # that: bind through the folder's descriptor instead
        folder = os.open(self.folder, os.O_PATH | os.O_DIRECTORY)
        try:
            listener.bind(f"/proc/self/fd/{folder}/{socket_name(port)}")
        finally:
            os.close(folder)
        os.chmod(path, 0o666)
        listener.listen(MAX_CONNECTIONS)
        listener.settimeout(0.2)  # so close() is seen without a wake-up trick
        threading.Thread(target=self._accept, args=(listener, port), daemon=True,
                         name=f"grader-bridge-{port}").start()

    def _accept(self, listener: socket.socket, port: int) -> None:
        slots = threading.Semaphore(MAX_CONNECTIONS)
        while not self._stop.is_set():
            try:
                inside, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not slots.acquire(blocking=False):
                inside.close()  # too many at once: refused, as a busy server would
                continue
            try:
                outside = socket.create_connection(("127.0.0.1", port), CONNECT_SECONDS)
                outside.settimeout(None)
                inside.settimeout(None)
            except OSError:
                inside.close()
                slots.release()
                continue
            with self._lock:
                if self._stop.is_set():
                    inside.close()
                    outside.close()
                    return
                self._open.update((inside, outside))
            threading.Thread(target=self._carry, args=(inside, outside, slots),
                             daemon=True).start()

    def _carry(self, inside: socket.socket, outside: socket.socket,
               slots: threading.Semaphore) -> None:
        try:
            _splice(inside, outside, slots)
        finally:
            with self._lock:
                self._open.discard(inside)
                self._open.discard(outside)

    def close(self) -> None:
        """Stop listening and cut every connection still open."""
        self._stop.set()
        with self._lock:
            sockets = [*self._listeners, *self._open]
            self._open.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        for port in self.ports:
            with contextlib.suppress(OSError):
                (self.folder / socket_name(port)).unlink()


def serve_inside(folder: str, ports: Iterable[int]) -> None:
    """Worker side: listen on 127.0.0.1:port of the worker's own loopback for each port, and
    carry each connection to the grader through ``folder``'s Unix sockets."""
    for port in ports:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", int(port)))
        listener.listen(MAX_CONNECTIONS)
        path = os.path.join(folder, socket_name(port))
        threading.Thread(target=_accept_inside, args=(listener, path), daemon=True,
                         name=f"grader-forward-{port}").start()


def _accept_inside(listener: socket.socket, path: str) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        try:
            out = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            out.connect(path)
        except OSError:
            conn.close()
            continue
        threading.Thread(target=_splice, args=(conn, out, None), daemon=True).start()
