"""The AWS emulator a cloud exercise's tests start, and the downloads made on a learner's behalf.

moto runs in its own process: the learner's requests never reach the judge's memory, and a fresh
process is a fresh emulator. The judge binds its port before the process starts and exposes it
to this grading's worker only (:mod:`grader.engine.services`): another student's worker, graded
at the same time, cannot reach it. moto's admin API is reserved for the grader, and every
download the grader makes from a learner's link is bounded in time, size and destination.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from grader.engine import services

# Runs in its own process, serving the socket the judge bound (its descriptor is argv[1]). It
# exits when its stdin closes: when the grader stops it, or dies.
# moto's admin API (/moto-api/: reset, recorder, state, canned responses) would let a submission
# wipe or rewrite what the grader set up, so only requests carrying the grader's token (sent on
# stdin: argv and the environment are readable by other processes of the same user) reach it.
LAUNCHER = """
import hmac
import os
import socket
import sys
import threading

from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                           create_backend_app)
from werkzeug.serving import make_server

TOKEN = sys.stdin.readline().strip()
app = DomainDispatcherApplication(create_backend_app)


def guarded(environ, start_response):
    where = (environ.get("PATH_INFO", "") + " " + environ.get("HTTP_HOST", "")).lower()
    admin = "moto-api" in where or "motoapi" in where
    if admin and not hmac.compare_digest(environ.get("HTTP_X_GRADER_ADMIN", ""), TOKEN):
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"the emulator's admin API is reserved for the grader"]
    return app(environ, start_response)


listener = socket.socket(fileno=int(sys.argv[1]))
port = listener.getsockname()[1]
server = make_server("127.0.0.1", port, guarded, threaded=True,
                     request_handler=MotoRequestHandler, fd=listener.fileno())
print(port, flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
os._exit(0)
"""
ADMIN_HEADER = "X-Grader-Admin"


class EmulatorError(RuntimeError):
    """The emulator did not start."""


class Emulator:
    """A moto server on 127.0.0.1 in its own process, with this grading's dummy credentials.

    Starting returns at once; the first use of the endpoint waits until the server listens, so
    the learner's worker and the grader's own imports can start meanwhile.
    """

    def __init__(self, startup_seconds: float = 60.0) -> None:
        self._home = tempfile.TemporaryDirectory(prefix="grader-moto-")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        env = {"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
               "HOME": self._home.name, "LANG": "C.UTF-8", "NO_PROXY": "*"}
        # Bound here, so the port is known before the learner's worker starts: the worker is
        # given exactly this port (services.expose) and no other.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            self.port: int = listener.getsockname()[1]
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", LAUNCHER, str(listener.fileno())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
                cwd=self._home.name, start_new_session=True, close_fds=True,
                pass_fds=(listener.fileno(),))
        finally:
            listener.close()  # the server holds its own copy
        services.expose(self.port)
        self._admin_token = secrets.token_hex(24)
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it died at once: _read_port says why
            self.proc.stdin.write(f"{self._admin_token}\n".encode())
            self.proc.stdin.flush()
        self._startup_seconds = startup_seconds
        self._ready = False
        # Dummy and fresh for every grading: nothing real ever reaches the learner's code.
        self.access_key = "grader" + secrets.token_hex(6)
        self.secret_key = secrets.token_hex(20)
        self._session: Any = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._names = 0

    @property
    def endpoint_url(self) -> str:
        """http://127.0.0.1:<port>, once the server listens."""
        if not self._ready:
            try:
                self._read_port(self._startup_seconds)
            except BaseException:
                self.stop()
                raise
            self._ready = True
        return f"http://127.0.0.1:{self.port}"

    def _read_port(self, seconds: float) -> int:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=seconds):
                raise EmulatorError(f"the moto emulator did not start in {seconds:g} s"
                                    f"{self._log_tail()}")
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            raise EmulatorError(f"the moto emulator failed to start{self._log_tail()}")
        return int(line)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            return ": " + self._log.read().decode("utf-8", "replace")[-1500:]
        return ""

    def alive(self) -> bool:
        """Whether the emulator process still runs."""
        return self.proc.poll() is None

    def stop(self) -> None:
        """Stop the emulator: it keeps nothing worth a graceful shutdown, so kill its group."""
        services.withdraw(self.port)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only the server
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                with contextlib.suppress(OSError):
                    stream.close()
        with contextlib.suppress(OSError):
            self._log.close()
        self._home.cleanup()

    def conn(self, region: str) -> dict[str, str]:
        """What a learner's function gets: plain client arguments, dummy credentials."""
        return {"endpoint_url": self.endpoint_url, "region_name": region,
                "aws_access_key_id": self.access_key, "aws_secret_access_key": self.secret_key}

    def client(self, service: str, region: str) -> Any:
        """The grader's own client (cached)."""
        key = (service, region)
        if key not in self._clients:
            import boto3
            import botocore.session
            from botocore.config import Config

            if self._session is None:
                # Blind to the grader's own AWS settings (AWS_PROFILE, ~/.aws, proxies): a
                # stale profile on an instructor's machine must not break grading.
                none = (None, None, None, None)
                self._session = boto3.session.Session(botocore_session=botocore.session.Session(
                    session_vars={"profile": none,
                                  "config_file": (None, None, os.devnull, None),
                                  "credentials_file": (None, None, os.devnull, None)}))
            config = Config(signature_version="s3v4" if service == "s3" else None,
                            retries={"max_attempts": 2}, proxies={})
            self._clients[key] = self._session.client(service, config=config,
                                                      **self.conn(region))
        return self._clients[key]

    def name(self, prefix: str) -> str:
        """A name no other test of this grading uses (valid for buckets and SageMaker)."""
        self._names += 1
        return f"{prefix}-{self._names:03d}-{secrets.token_hex(3)}"

    def grader_bucket(self, region: str, prefix: str = "grader") -> str:
        """A bucket the grader makes itself: versioned, but no default encryption and no policy.

        Without default encryption, an object is only encrypted if its upload asked for it.
        """
        s3 = self.client("s3", region)
        bucket = self.name(prefix)
        if region == "us-east-1":  # the one region that takes no location constraint
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket,
                             CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        return bucket

    def anonymous_get(self, path: str) -> int:
        """HTTP status of a request without any credentials, as a stranger would send it."""
        try:
            return fetch(f"{self.endpoint_url}/{path}", self.endpoint_url).status
        except FetchRefused:
            return 0

    def admin(self, method: str, path: str) -> tuple[int, bytes]:
        """The grader's own call to moto's admin API (``/moto-api/...``), which needs its token."""
        return fetch(f"{self.endpoint_url}{path}", self.endpoint_url, method=method,
                     headers={ADMIN_HEADER: self._admin_token}).as_pair()


_shared: Emulator | None = None


def shared_emulator(request: Any) -> Emulator:
    """One emulator per grading run, shared by public and hidden tests, stopped at its end."""
    global _shared
    if _shared is None:
        _shared = Emulator()
        request.addfinalizer(_stop_shared)
    return _shared


def _stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


def warm_up(submission: Any, function: str, modules: tuple[str, ...]) -> None:
    """Start the learner's worker (it imports its libraries) while the emulator boots, and
    import the grader's own libraries in a thread meanwhile: three start-ups at once."""
    thread = threading.Thread(target=lambda: [importlib.import_module(m) for m in modules],
                              daemon=True)
    thread.start()
    try:
        submission.has(function)
    finally:
        thread.join()


# -- downloads the grader makes on a learner's behalf ---------------------------------------------

FETCH_SECONDS = 15.0  # for the whole download, redirects included
FETCH_BYTES = 8 * 1024 * 1024  # the largest artifact a test uploads is 40 kB
URL_CHARS = 8192
REDIRECTS = 3


class FetchRefused(Exception):
    """A link the grader would not follow, or a download it stopped: the message says why."""


@dataclass(frozen=True)
class Fetched:
    """What a bounded download answered."""

    status: int
    body: bytes

    def as_pair(self) -> tuple[int, bytes]:
        return self.status, self.body


def _origin_of(url: str, origin: str) -> tuple[str, int, str]:
    """(host, port, path and query) of a link to ``origin``; FetchRefused for anything else."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        scheme = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise FetchRefused(f"the link uses {scheme[:20]!r}; the grader only downloads http:// "
                           f"links to the emulator at {origin} (conn['endpoint_url'])")
    if f"http://{parts.netloc}" != origin:
        raise FetchRefused(f"the link points at {parts.netloc[:80]!r}, not at the emulator "
                           f"{origin} (conn['endpoint_url']): the grader downloads from that "
                           "host and port only. Make the link with a client built from conn")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise FetchRefused("the link contains spaces or control characters; return the URL "
                           "exactly as generate_presigned_url made it")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host, _, port = parts.netloc.rpartition(":")
    return host, int(port), target


def fetch(url: object, origin: str, *, method: str = "GET", headers: dict[str, str] | None = None,
          seconds: float = FETCH_SECONDS, max_bytes: int = FETCH_BYTES) -> Fetched:
    """Download ``url`` as a browser without credentials would, from ``origin`` only.

    Bounded as a whole: one deadline for connecting, headers, body and redirects (a server that
    drips one byte at a time is cut off), a cap on the body, ``http://`` to the exact host and
    port of ``origin`` only (no files, no other service, no redirect elsewhere). Raises
    FetchRefused with a learner's message for every link it refuses or download it stops.
    """
    import http.client
    import socket
    import time

    if type(url) is not str:
        raise FetchRefused(f"the link is a {type(url).__name__}, not a string")
    if len(url) > URL_CHARS:
        raise FetchRefused(f"the link is {len(url)} characters long; a presigned link is a few "
                           "hundred")
    deadline = time.monotonic() + seconds
    for hop in range(REDIRECTS + 1):
        try:
            host, port, target = _origin_of(url, origin)
        except FetchRefused as exc:
            raise FetchRefused(f"it redirects elsewhere: {exc}" if hop else str(exc)) from None
        conn = http.client.HTTPConnection(host, port, timeout=seconds)
        expired = threading.Event()

        def cut(conn: http.client.HTTPConnection = conn, expired: threading.Event = expired,
                ) -> None:
            expired.set()
            if conn.sock is not None:  # wakes a read blocked on a slow server
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
        timer.daemon = True
        timer.start()
        try:
            conn.request(method, target, headers=headers or {})
            response = conn.getresponse()
            status = int(response.status)
            if 300 <= status < 400 and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location", "")[:URL_CHARS])
                continue
            length = response.getheader("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise FetchRefused(f"the link's answer declares {int(length):,} bytes, more "
                                   f"than the {max_bytes:,} bytes the grader reads")
            body = bytearray()
            while len(body) <= max_bytes and not expired.is_set():
                chunk = response.read1(64 * 1024)
                if not chunk:
                    break
                body += chunk
            if len(body) > max_bytes:
                raise FetchRefused(f"the link's answer is larger than the {max_bytes:,} bytes "
                                   "the grader reads")
            if expired.is_set():
                raise TimeoutError
            return Fetched(status, bytes(body))
        except FetchRefused:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if expired.is_set() or isinstance(exc, TimeoutError):
                raise FetchRefused(f"the download did not finish within {seconds:g} s, so the "
                                   "grader stopped it") from None
            raise FetchRefused(f"the download failed ({type(exc).__name__})") from None
        finally:
            timer.cancel()
            conn.close()
    raise FetchRefused(f"it redirects more than {REDIRECTS} times")


