"""The cloud exercises' judge is bounded: links it downloads, and the emulator's admin API.

The grader downloads presigned links a submission returns. A link is the learner's text, and the
server behind it may be the learner's too, so every download has one deadline, a byte cap, and
goes only to the emulator the grader started (``http://``, that host and port, no redirect
elsewhere). The emulator's admin API (``/moto-api/``) answers the grader's token only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUPPORTS = {
    "s3-model-registry": ROOT / "exercises/05_cloud/01_s3-model-registry/tests/support.py",
    "deploy-and-monitor": ROOT / "exercises/05_cloud/02_deploy-and-monitor/tests/support.py",
}
DEADLINE = 2.0
SERVER_LIFETIME = 20.0  # every test server stops itself after this, whatever the client does


def _load(ex_id: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"cloud_support_{ex_id.replace('-', '_')}",
                                                  SUPPORTS[ex_id])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=list(SUPPORTS))
def support(request: pytest.FixtureRequest) -> ModuleType:
    return _load(str(request.param))


Handler = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    """Start a local HTTP server whose GET runs ``handler``; returns its origin. Bounded: each
    server shuts itself down after SERVER_LIFETIME seconds and at the end of the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: Handler) -> str:
        class One(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with contextlib.suppress(OSError):  # the client hung up: expected here
                    handler(self)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), One)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stopper = threading.Timer(SERVER_LIFETIME, server.shutdown)
        stopper.daemon = True
        stopper.start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _ok(body: bytes) -> Handler:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    return handle


def _drip(h: BaseHTTPRequestHandler) -> None:
    """One byte at a time, forever (until its lifetime ends): headers first, then the body."""
    h.send_response(200)
    h.end_headers()
    stop = time.monotonic() + SERVER_LIFETIME
    while time.monotonic() < stop:
        h.wfile.write(b"x")
        h.wfile.flush()
        time.sleep(0.3)


def _drip_headers(h: BaseHTTPRequestHandler) -> None:
    """The status line itself arrives one byte at a time."""
    stop = time.monotonic() + SERVER_LIFETIME
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 10_000:
        if time.monotonic() > stop:
            return
        h.wfile.write(bytes([byte]))
        h.wfile.flush()
        time.sleep(0.3)


def _flood(h: BaseHTTPRequestHandler) -> None:
    """A body without a declared length that never ends (until its lifetime ends)."""
    h.send_response(200)
    h.end_headers()
    chunk = b"z" * 65536
    stop = time.monotonic() + SERVER_LIFETIME
    while time.monotonic() < stop:
        h.wfile.write(chunk)


def _declares_huge(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", str(10**12))
    h.end_headers()
    h.wfile.write(b"z" * 1024)


def _redirect_to(location: str) -> Handler:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return handle


def _refused(support: ModuleType, url: object, origin: str, **kw: Any) -> str:
    started = time.monotonic()
    with pytest.raises(support.FetchRefused) as caught:
        support.fetch(url, origin, seconds=DEADLINE, **kw)
    # generous: the point is that it stops, not how precisely
    assert time.monotonic() - started < DEADLINE + 8
    return str(caught.value)


def test_a_link_to_the_emulator_downloads(support: ModuleType, serve: Any) -> None:
    origin = serve(_ok(b"artifact bytes"))
    got = support.fetch(f"{origin}/bucket/models/churn/1.0.0/model.bin?X-Amz-Expires=600",
                        origin, seconds=DEADLINE)
    assert (got.status, got.body) == (200, b"artifact bytes")


@pytest.mark.parametrize("handler", [_drip, _drip_headers], ids=["body", "headers"])
def test_a_slow_drip_is_stopped_at_the_deadline(support: ModuleType, serve: Any,
                                                handler: Handler) -> None:
    origin = serve(handler)
    message = _refused(support, f"{origin}/b/k", origin)
    assert f"did not finish within {DEADLINE:g} s" in message


@pytest.mark.parametrize("handler", [_flood, _declares_huge], ids=["streamed", "declared"])
def test_an_oversized_body_is_refused(support: ModuleType, serve: Any, handler: Handler) -> None:
    origin = serve(handler)
    message = _refused(support, f"{origin}/b/k", origin, max_bytes=100_000)
    assert "100,000 bytes" in message


def test_a_file_url_is_refused_without_looking(support: ModuleType, tmp_path: Path) -> None:
    origin = "http://127.0.0.1:9"
    here = _refused(support, f"file://{Path(__file__)}", origin)
    absent = _refused(support, f"file://{tmp_path}/no-such-file", origin)
    assert here == absent  # the message is no oracle for which files exist
    assert "'file:'" in here and "http://" in here and origin in here


def test_another_port_is_refused(support: ModuleType, serve: Any) -> None:
    origin = serve(_ok(b"emulator"))
    other = serve(_ok(b"some other service"))
    message = _refused(support, f"{other}/b/k", origin)
    assert other.removeprefix("http://") in message and origin in message
    for host in (f"localhost:{origin.rsplit(':', 1)[1]}", f"user@{origin[7:]}", "10.0.0.1:80"):
        assert "not at the emulator" in _refused(support, f"http://{host}/b/k", origin)


def test_a_redirect_elsewhere_is_refused(support: ModuleType, serve: Any) -> None:
    other = serve(_ok(b"secret"))
    for target in (f"{other}/b/k", "http://192.0.2.1/b/k", "file:///etc/passwd"):
        origin = serve(_redirect_to(target))
        message = _refused(support, f"{origin}/b/k", origin)
        assert message.startswith("it redirects elsewhere")


def test_a_redirect_to_the_same_emulator_is_followed(support: ModuleType, serve: Any) -> None:
    def handle(h: BaseHTTPRequestHandler) -> None:
        (_redirect_to("/final") if h.path != "/final" else _ok(b"done"))(h)
    origin = serve(handle)
    assert support.fetch(f"{origin}/start", origin, seconds=DEADLINE).body == b"done"


def test_nothing_listening_is_a_clear_failure(support: ModuleType) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        origin = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, never listening
        assert "download failed" in _refused(support, f"{origin}/b/k", origin)


@pytest.mark.parametrize("url", [None, 42, "x" * 100_000, "http://127.0.0.1:9/a b"])
def test_garbage_links_are_refused(support: ModuleType, url: object) -> None:
    assert _refused(support, url, "http://127.0.0.1:9")


# -- the emulator's admin API ----------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    support = _load("s3-model-registry")
    aws = support.Emulator()
    try:
        aws.endpoint_url  # noqa: B018 - waits until it listens
        yield aws
    finally:
        aws.stop()


ADMIN_PATHS = ["/moto-api/", "/moto-api/data.json", "/moto-api/reset",
               "/moto-api/recorder/download-recording", "/moto-api/seed?a=42",
               "/moto-api/static/sagemaker/endpoint-results", "/moto%2Dapi/reset",
               "/MOTO-API/reset"]


@pytest.mark.parametrize("path", ADMIN_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_admin_api_is_closed_to_learners(emulator: Any, path: str, method: str) -> None:
    import http.client

    s3 = emulator.client("s3", "eu-west-1")
    bucket = emulator.grader_bucket("eu-west-1")
    port = int(emulator.endpoint_url.rsplit(":", 1)[1])
    for headers in ({}, {"X-Grader-Admin": "guess"}, {"Host": "motoapi.amazonaws.com"}):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path, body=b"{}" if method == "POST" else None, headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.status == 403, (path, headers, response.status, body[:200])
        assert b"reserved for the grader" in body
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]  # nothing was reset


def test_the_grader_still_reaches_the_admin_api(emulator: Any) -> None:
    status, body = emulator.admin("GET", "/moto-api/data.json")
    assert status == 200 and body.startswith(b"{")
