"""`grader batch --cluster`: a real Dask scheduler and two `grader worker`s on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.engine.course import Course
from grader.instructor import batch
from grader.instructor.cluster import ClusterError, pack
from grader.instructor.collect import collect
from grader.instructor.gradebook import Gradebook

pytest.importorskip("distributed", reason="pip install distributed")

FIXTURE = Path(__file__).parent / "fixtures" / "course"
CLASS = Path(__file__).parent / "fixtures" / "class"
REL = "01_programming/01_tiny-stats"
SLOW = ("import time\n\ndef mean(values):\n    time.sleep(0.4)\n"
        "    return sum(values) / len(values)\n\ndef median(values):\n    time.sleep(0.4)\n"
        "    s = sorted(values)\n    n = len(s)\n"
        "    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2\n")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start")


class Cluster:
    """A scheduler and workers, each its own process group, all killed at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.port = _port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []
        scheduler = self._start("scheduler", [
            sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
            "--port", str(self.port), "--no-dashboard"])
        _wait_for(self.port, scheduler, "the Dask scheduler")

    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def add_worker(self, course: Path) -> subprocess.Popen[bytes]:
        return self._start("worker", [sys.executable, "-m", "grader", "--course", str(course),
                                      "worker", self.address])

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path)
    try:
        yield running
    finally:
        running.close()


def _class(course: Course, root: Path, slow_copies: int = 0) -> Path:
    subs = root / "class"
    collect(course, CLASS, subs)
    for i in range(slow_copies):
        folder = subs / f"slow{i:02d}" / REL
        folder.mkdir(parents=True)
        (folder / "stats.py").write_text(SLOW)
    return subs


def _scores(db: Path) -> dict[str, float]:
    with Gradebook(db) as gb:
        return {g.student: g.score for g in gb.grades()}


def test_cluster_grades_exactly_like_the_local_pool(cluster: Cluster, tmp_path: Path) -> None:
    course = Course.load(FIXTURE)
    for _ in range(2):
        cluster.add_worker(FIXTURE)
    local = _class(course, tmp_path / "local")
    batch.run(course, local, jobs=2, quiet=True, seed=5, say=lambda _: None)
    remote = _class(course, tmp_path / "remote")
    summary = batch.run(course, remote, quiet=True, seed=5, say=lambda _: None,
                        cluster=cluster.address)
    assert not summary.failed and summary.graded == 6
    assert _scores(remote / batch.DB_NAME) == _scores(local / batch.DB_NAME)
    # resume works as locally: nothing is graded twice
    again = batch.run(course, remote, quiet=True, say=lambda _: None, cluster=cluster.address)
    assert again.graded == 0 and again.up_to_date == 6


def test_a_worker_killed_mid_run_loses_no_unit(cluster: Cluster, tmp_path: Path) -> None:
    course = Course.load(FIXTURE)
    doomed = cluster.add_worker(FIXTURE)
    cluster.add_worker(FIXTURE)
    subs = _class(course, tmp_path, slow_copies=8)
    db = subs / batch.DB_NAME
    done: dict[str, batch.Summary] = {}
    runner = threading.Thread(target=lambda: done.setdefault("summary", batch.run(
        course, subs, quiet=True, seed=3, say=lambda _: None, cluster=cluster.address)))
    runner.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (db.exists() and _scores(db)):
        time.sleep(0.2)
    os.killpg(doomed.pid, signal.SIGKILL)  # the whole worker, nanny and all
    runner.join(timeout=300)
    summary = done["summary"]
    assert not summary.failed, summary.failed
    assert summary.graded == 14
    scores = _scores(db)
    assert len(scores) == 14 and all(scores[f"slow{i:02d}"] == 6 for i in range(8))


def test_a_worker_with_another_course_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    changed = tmp_path / "changed-course"
    shutil.copytree(FIXTURE, changed)
    hidden = next((changed / "solutions").rglob("test_hidden.py"))
    hidden.write_text(hidden.read_text() + "\n# a later edit of the hidden tests\n")
    cluster.add_worker(changed)
    course = Course.load(FIXTURE)
    subs = _class(course, tmp_path)
    with pytest.raises(ClusterError, match="course hash for tiny-stats"):
        batch.run(course, subs, quiet=True, seed=5, say=lambda _: None,
                  cluster=cluster.address)
    assert _scores(subs / batch.DB_NAME) == {}  # no grade from a worker that differs


def test_a_local_cluster_for_trying_it_out(tmp_path: Path) -> None:
    course = Course.load(FIXTURE)
    subs = _class(course, tmp_path)
    summary = batch.run(course, subs, quiet=True, seed=5, say=lambda _: None,
                        cluster="local:1")
    assert summary.graded == 6 and not summary.failed


def test_units_travel_as_hashed_bytes(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "stats.py").write_text("x = 1\n")
    packed = pack(tmp_path)
    assert packed["files"] == {"a/stats.py": b"x = 1\n"} and len(packed["digest"]) == 64
    with pytest.raises(ClusterError, match="more than"):
        pack(tmp_path, limit=3)
