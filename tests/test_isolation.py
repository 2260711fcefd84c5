"""Isolation tiers: the probe, the reports, the CLI's --require-isolation, and per tier, what a
worker can see and do, and that the worker protocol behaves the same as in the plain tier.

Tests that take the ``tier`` fixture run once per tier and skip (with the reason) a tier this
machine cannot give. The attacks themselves are in test_attacks.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import processes_of

from grader.cli import main as grader_cli
from grader.engine import services
from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.engine.outcomes import CallTimeout, SubmissionCrashed
from grader.engine.proxy import Submission, WorkerSpec
from grader.engine.runner import grade
from grader.sandbox import cgroup, isolation
from grader.sandbox import limits as sandbox

GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_SEED = 20240611
# One of each kind of ending (timeouts: below); the others only differ in their messages.
SCENARIOS = ("all-pass", "crash", "output-flood", "import-error")

PROBE = '''
import os, socket, errno

TOKEN = os.urandom(8).hex()


def token():
    return TOKEN


def spin():
    while True:
        pass


def segfault():
    import ctypes
    ctypes.string_at(0)


def facts():
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    return {"uid": os.getuid(), "cap_eff": status["CapEff"].strip(),
            "no_new_privs": status["NoNewPrivs"].strip(), "seccomp": status["Seccomp"].strip(),
            "pids": len([p for p in os.listdir("/proc") if p.isdigit()]),
            "interfaces": sorted(name for _, name in socket.if_nameindex()),
            "cwd": os.getcwd()}


def try_open(path, mode):
    try:
        with open(path, mode):
            return "ok"
    except OSError as exc:
        return errno.errorcode[exc.errno]


def serve_and_call():
    """What the Dockerfile exercise's harness does: a server and a client on 127.0.0.1."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            client.sendall(b"ping")
            conn, _ = server.accept()
            with conn:
                return conn.recv(4).decode()


def reach(port, kind):
    try:
        if kind == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"x", ("127.0.0.1", port))
            return "sent"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"hello")
        return "sent"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))


def ask(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"ping")
            conn.shutdown(socket.SHUT_WR)
            return conn.recv(100).decode()
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))


def link(target, name):
    os.symlink(target, name)


def sysv_shm():
    """A System V shared memory segment outlives its process (and its unit) until removed."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    made = libc.shmget(0x4C41, 4096, 0o1666)  # IPC_CREAT | rw for everyone
    if made < 0:
        return errno.errorcode[ctypes.get_errno()]
    libc.shmctl(made, 0, None)  # IPC_RMID: leave nothing behind when it was allowed
    return "made"


def write(name, text):
    with open(name, "w") as fh:
        fh.write(text)
'''

Make = Callable[..., Submission]


@pytest.fixture
def make(tmp_path: Path, worker_tmp: Path) -> Iterator[Make]:
    """Submissions on the probe module, closed after the test."""
    folder = tmp_path / "learner"
    folder.mkdir()
    (folder / "probe.py").write_text(PROBE)
    made: list[Submission] = []

    def build(call_seconds: float = 10.0, network: str = "none") -> Submission:
        sub = Submission(WorkerSpec(source=folder, files=("probe.py",), modules=("probe",),
                                    call_seconds=call_seconds, exercise_seconds=60,
                                    network=network))
        made.append(sub)
        return sub

    yield build
    for sub in made:
        sub.close()


# -- choosing a tier ---------------------------------------------------------------------------


def test_tiers_order_and_labels() -> None:
    a, b, c = isolation.Tier("A", 7, True, "/usr/bin/bwrap"), isolation.Tier("B", 4, True), \
        isolation.Tier("C")
    assert a.label == "A: bubblewrap + Landlock ABI 7 + seccomp + rlimits"
    assert b.label == "B: Landlock ABI 4 + seccomp + rlimits"
    assert "weaker" in c.label
    assert a.at_least("B") and b.at_least("b") and not c.at_least("B") and c.at_least("C")


def test_auto_takes_the_strongest_tier_and_says_why_not_a_stronger_one() -> None:
    chosen = isolation.choose("auto")
    for name in isolation.ORDER[:isolation.ORDER.index(chosen.name)]:
        reason = isolation.probe(name)
        assert isinstance(reason, str) and reason in chosen.notes


def test_an_unavailable_tier_is_refused_with_its_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no bwrap to find
    assert "needs bubblewrap" in str(isolation.probe("A"))
    with pytest.raises(isolation.IsolationError, match="tier A was asked for"):
        isolation.choose("A")
    with pytest.raises(isolation.IsolationError, match="unknown isolation tier"):
        isolation.choose("Z")


def test_require_refuses_a_weaker_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "_current", isolation.Tier("C", notes=("no bwrap here",)))
    with pytest.raises(isolation.IsolationError, match=r"tier B or stronger is required.*"
                       r"no bwrap here"):
        isolation.require("B")
    assert isolation.require("C").name == "C"


def test_batch_refuses_to_run_below_the_required_tier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(isolation, "_current", isolation.Tier("C"))
    (tmp_path / "class").mkdir()
    course = str(Path(__file__).parent / "fixtures" / "course")
    assert grader_cli(["--course", course, "batch", str(tmp_path / "class"),
                       "--require-isolation", "A", "--quiet"]) == 2
    assert "isolation tier A or stronger is required" in capsys.readouterr().err
    assert not (tmp_path / "class" / "gradebook.sqlite").exists()
    assert grader_cli(["--course", course, "batch", str(tmp_path / "class"),
                       "--require-isolation", "C", "--quiet"]) == 0


def test_a_bad_tier_request_is_a_clean_cli_error(tmp_path: Path) -> None:
    env = dict(os.environ, GRADER_ISOLATION="Z")
    done = subprocess.run([sys.executable, "-m", "grader", "--course",
                           str(Path(__file__).parent / "fixtures" / "course"), "grade",
                           "--quiet"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "unknown isolation tier 'Z'" in done.stderr and "Traceback" not in done.stderr


# -- reports, golden scenarios, the protocol: the same in every tier -----------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_scenarios_grade_the_same_in_every_tier(
        scenario: str, tier: isolation.Tier, fixture_course: Course, tiny_stats: Exercise,
        worker_tmp: Path) -> None:
    if tier.name == "C":
        pytest.skip("tier C: tests/test_golden.py")
    run = grade(fixture_course, [tiny_stats], GOLDEN / scenario / "submission",
                seed=GOLDEN_SEED).to_dict()
    assert run["environment"]["isolation"] == tier.label
    expected = json.loads((GOLDEN / scenario / "results.json").read_text())
    for ex in [*run["exercises"], *expected["exercises"]]:
        ex["duration"] = None
        for test in ex["tests"]:
            test["duration"] = None
    assert run["exercises"] == expected["exercises"]
    assert (run["score"], run["max_score"]) == (expected["score"], expected["max_score"])


def test_a_timeout_kills_the_worker_and_the_next_call_gets_a_fresh_one(
        tier: isolation.Tier, make: Make) -> None:
    sub = make(call_seconds=1.0)
    first = sub.token()
    with pytest.raises(CallTimeout):
        sub.spin()
    assert sub.token() != first


def test_death_by_signal_is_named_in_every_tier(tier: isolation.Tier, make: Make) -> None:
    with pytest.raises(SubmissionCrashed, match=r"segmentation fault \(SIGSEGV\)"):
        make().segfault()


def test_read_file_reads_the_sandbox_and_refuses_links(tier: isolation.Tier,
                                                      make: Make) -> None:
    sub = make()
    sub.write("out.txt", "hello")
    sub.link("/", "root")
    sub.link("/etc/passwd", "passwd.txt")
    assert sub.read_file("out.txt") == b"hello"
    for rel in ("root/etc/passwd", "passwd.txt", "/etc/passwd", "../home/x", ""):
        with pytest.raises(FileNotFoundError):
            sub.read_file(rel)


def test_a_worker_dies_with_a_grader_killed_by_sigkill(tier: isolation.Tier,
                                                       tmp_path: Path) -> None:
    if os.geteuid() != 0 and tier.name != "C":
        pytest.skip("finds the sandbox's processes by the uid a root grader gives them")
    learner = tmp_path / "learner"
    learner.mkdir()
    (learner / "probe.py").write_text(PROBE)
    code = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from grader.engine.proxy import Submission, WorkerSpec
        sub = Submission(WorkerSpec(source=Path({str(learner)!r}), files=("probe.py",),
                                    modules=("probe",), call_seconds=60, exercise_seconds=60))
        sub.token()
        print(os.getpid(), flush=True)
        sub.spin()
    """)
    grader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, TMPDIR=str(tmp_path),
                                       GRADER_ISOLATION=tier.name))
    try:
        assert grader.stdout is not None
        pid = int(grader.stdout.readline())
    finally:
        grader.kill()
        grader.wait()
    uid = isolation.UID_BASE + pid
    stop = time.monotonic() + 5
    while time.monotonic() < stop and _left(tier, uid, tmp_path):
        time.sleep(0.05)
    assert not _left(tier, uid, tmp_path), "the worker outlived its grader"
    cgroup.sweep_stale()  # the killed grader's worker cgroup, empty now
    assert not [name for name in _cgroups() if f"-{pid}-" in name]


def _cgroups() -> list[str]:
    base = cgroup._own_path()
    return os.listdir(base) if base and cgroup.available() else []


def _left(tier: isolation.Tier, uid: int, tmp_path: Path) -> list[int]:
    from conftest import processes_mentioning

    return processes_mentioning(str(tmp_path)) if tier.name == "C" else processes_of(uid)


# -- what a worker can see and do, per tier --------------------------------------------------


def test_a_worker_is_never_root_and_holds_no_privileges(tier: isolation.Tier,
                                                        make: Make) -> None:
    if tier.name == "C":
        pytest.skip("tier C runs the worker as the grader's own user")
    facts = make().facts()
    assert facts["uid"] != 0
    assert facts["no_new_privs"] == "1" and facts["seccomp"] == "2"
    # tier B as root keeps one right, to read (beneath Landlock's rules) a Python under /root
    assert facts["cap_eff"] in ("0000000000000000", "0000000000000004")
    if tier.name == "A":
        assert facts["cap_eff"] == "0000000000000000"
        assert facts["pids"] <= 3, "a PID namespace shows only the sandbox's processes"
        assert facts["interfaces"] == ["lo"]
        assert facts["cwd"].startswith("/tmp/grader-worker-")


def test_only_the_worker_folder_is_writable(tier: isolation.Tier, make: Make,
                                            tmp_path: Path) -> None:
    if tier.name == "C":
        pytest.skip("tier C writes wherever the grader's user may")
    sub = make()
    assert sub.try_open("mine.txt", "w") == "ok"
    assert sub.try_open(str(tmp_path / "outside.txt"), "w") in ("EACCES", "ENOENT", "EROFS")
    assert sub.try_open(sandbox.__file__, "a") in ("EACCES", "EROFS")
    assert sub.try_open("/dev/shm/x", "w") in ("EACCES", "ENOENT", "EROFS")
    assert not (tmp_path / "outside.txt").exists()


def test_system_v_ipc_is_refused_where_its_namespace_outlives_the_unit(
        tier: isolation.Tier, make: Make) -> None:
    # tier B shares the machine's IPC namespace: a segment left there would reach the next
    # student; tier A's worker has a namespace of its own, which ends with it
    expected = {"A": "made", "B": "EPERM", "C": "made"}[tier.name]
    assert make().sysv_shm() == expected


def test_loopback_exercises_can_serve_themselves(tier: isolation.Tier, make: Make) -> None:
    """network = "loopback" (the Dockerfile exercise): a server and a client in the worker."""
    assert make(network="loopback").serve_and_call() == "ping"


@pytest.fixture
def server() -> Iterator[socket.socket]:
    """A TCP server on the grader's 127.0.0.1, as a cloud emulator started by a test."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    yield sock
    sock.close()


@pytest.fixture
def echo() -> Iterator[int]:
    """A grading's own server (a cloud emulator, as the tests start one): answers "pong: <what
    it got>" to each connection."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                got = b""
                with contextlib.suppress(OSError):
                    while chunk := conn.recv(100):
                        got += chunk
                conn.sendall(b"pong: " + got)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    services.expose(port)
    yield port
    services.withdraw(port)
    stop.set()
    thread.join()
    sock.close()


def test_services_exercises_reach_their_own_servers_and_nothing_else(
        tier: isolation.Tier, make: Make, echo: int, server: socket.socket) -> None:
    """network = "services" (the cloud exercises): TCP to the grading's own servers, nothing else
    on the machine (``server`` stands for another student's emulator or a local database)."""
    sub = make(network="services")
    assert sub.ask(echo) == "pong: ping"
    assert sub.reach(echo, "udp") == ("sent" if tier.name == "C" else "EACCES")
    other = sub.reach(server.getsockname()[1], "tcp")
    if tier.name == "C":
        assert other == "sent"  # tier C has the grader's network: documented
    elif tier.name == "A":
        assert other == "ECONNREFUSED"  # its own loopback holds only the forwarded ports
    elif tier.landlock >= 4:
        assert other == "EACCES"  # Landlock: connect to the exposed ports only


def test_a_server_started_after_the_worker_is_reached_by_a_fresh_worker(
        tier: isolation.Tier, make: Make, echo: int) -> None:
    sub = make(network="services")
    assert sub.ask(echo) == "pong: ping"
    late = socket.socket()
    late.bind(("127.0.0.1", 0))
    late.listen(4)
    services.expose(late.getsockname()[1])
    try:
        assert sub.reach(late.getsockname()[1], "tcp") == "sent"
    finally:
        services.withdraw(late.getsockname()[1])
        late.close()


def test_without_network_the_grader_server_is_out_of_reach(
        tier: isolation.Tier, make: Make, server: socket.socket) -> None:
    if tier.name == "C":
        pytest.skip("tier C has the grader's network")
    got = make().reach(server.getsockname()[1], "tcp")
    assert got == ("ECONNREFUSED" if tier.name == "A" else "EACCES")


def test_the_watchdog_stops_many_small_files(tmp_path: Path) -> None:
    folder = tmp_path / "worker"
    folder.mkdir()
    killed = []
    dog = sandbox.Watchdog(sandbox.Limits(disk_files=50), lambda: str(folder),
                           lambda: killed.append(True))
    try:
        for i in range(60):
            (folder / f"{i}.txt").write_text("x")
        stop = time.monotonic() + 5
        while not killed and time.monotonic() < stop:
            time.sleep(0.05)
    finally:
        dog.stop()
    assert killed and dog.tripped is not None and "more than 50 files" in dog.tripped


def test_a_failed_confinement_never_runs_learner_code(
        tier: isolation.Tier, make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that cannot apply its isolation reports it, rather than run less isolated."""
    from grader.engine.outcomes import ImportFailed

    if tier.name == "C":
        pytest.skip("tier C applies nothing inside the worker")
    real = isolation.Box._plan

    def broken(self: isolation.Box) -> dict[str, object]:
        return dict(real(self), input="/nonexistent/submission")

    monkeypatch.setattr(isolation.Box, "_plan", broken)
    with pytest.raises(ImportFailed, match="could not isolate the submission"):
        make().token()


def test_bubblewrap_exit_codes_are_read_as_signals() -> None:
    box = isolation.Box(isolation.Tier("A", bwrap="/usr/bin/bwrap"), Path("/tmp/x"),
                        sandbox.Limits(), probing=True)
    assert box.exit_status(False, 128 + signal.SIGKILL) == (True, signal.SIGKILL)
    assert box.exit_status(False, 1) == (False, 1)
    plain = isolation.Box(isolation.Tier("C"), Path("/tmp/x"), sandbox.Limits())
    assert plain.exit_status(False, 137) == (False, 137)


@pytest.mark.parametrize(("cores", "jobs", "threads"), [(8, 1, 8), (8, 2, 4), (8, 3, 2),
                                                         (2, 4, 1), (1, 1, 1)])
def test_worker_threads_share_the_cores_among_concurrent_jobs(
        monkeypatch: pytest.MonkeyPatch, cores: int, jobs: int, threads: int) -> None:
    """`grader batch --jobs N` never oversubscribes: each worker's numeric libraries get
    cores // N threads (OpenMP, which torch reads too, MKL, OpenBLAS...)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(cores)), raising=False)
    monkeypatch.setenv(sandbox.JOBS_VAR, str(jobs))
    env = sandbox.scrubbed_env(Path("/tmp/home"))
    assert {env[name] for name in sandbox.THREAD_VARS} == {str(threads)}
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"]
