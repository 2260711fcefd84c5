"""The parent's side of the worker protocol: budgets, restarts, output, files, harness, copying."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from grader.engine import proxy
from grader.engine.outcomes import (
    CallTimeout,
    ImportFailed,
    MissingFunction,
    NotAttempted,
    NotPlainReturn,
    SubmissionCrashed,
    SubmissionRaised,
)
from grader.engine.proxy import Submission, WorkerSpec
from grader.sandbox import limits as sandbox

Make = Callable[..., Submission]

LEARNER = '''
import os, sys, threading, time

def add(a, b):
    return a + b

def spin():
    while True:
        pass

def nap(seconds):
    time.sleep(seconds)
    return seconds

def abort():
    os.abort()

def die_by(signum):
    os.kill(os.getpid(), signum)
    time.sleep(5)

def pid():
    return os.getpid()

def exit_soon():
    threading.Timer(0.05, os._exit, [0]).start()
    return "bye"

def shout(n):
    print("x" * n)
    return n

def where():
    print(os.getcwd(), os.environ["HOME"])
    return os.getcwd()

def write(rel, data):
    os.makedirs(os.path.dirname(rel) or ".", exist_ok=True)
    with open(rel, "wb") as fh:
        fh.write(data)

def link(target, rel):
    os.symlink(target, rel)

def fifo(rel):
    os.mkfifo(rel)

def boom():
    open("no-such-file.txt")

class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no")

def unprintable():
    raise Unprintable()

def huge_int():
    return 10 ** 5000

def interrupt():
    raise KeyboardInterrupt

def todo():
    raise NotImplementedError

def _proto_fd(write):
    """The grader's private pipes: what any learner code can find in /proc/self/fd."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd < 3 or not os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                flags = int(info.read().split("flags:")[1].split()[0], 8)
        except (OSError, IndexError, ValueError):
            continue
        if (flags & 3) == (os.O_WRONLY if write else os.O_RDONLY):
            yield fd

def fork_then_exit():
    if os.fork() == 0:  # keeps the worker's pipes open: no EOF reaches the grader
        time.sleep(30)
        os._exit(0)
    os._exit(3)

def deep_json():
    for fd in _proto_fd(write=True):
        os.write(fd, b"[" * 200_000 + b"\\n")
    time.sleep(5)

def stop_reading():
    # A child keeps the request pipe open; the worker itself then waits on a pipe that never
    # gets data, so a large request would fill the real pipe and block a naive writer.
    if os.fork() == 0:
        time.sleep(30)
        os._exit(0)
    never, _ = os.pipe()
    for fd in list(_proto_fd(write=False)):
        if fd != never:
            os.dup2(never, fd)
    return "stuck"
'''


@pytest.fixture
def learner(tmp_path: Path) -> Path:
    folder = tmp_path / "learner"
    folder.mkdir()
    (folder / "mod.py").write_text(LEARNER)
    return folder


@pytest.fixture
def make(learner: Path, worker_tmp: Path) -> Iterator[Make]:
    """Build Submissions on the learner module; all are closed after the test."""
    made: list[Submission] = []

    def build(call_seconds: float = 2.0, exercise_seconds: float = 20.0,
              source: Path = learner, files: tuple[str, ...] = ("mod.py",),
              harness: Path | None = None) -> Submission:
        modules = tuple(f[:-3] for f in files if f.endswith(".py"))
        sub = Submission(WorkerSpec(source=source, files=files, modules=modules,
                                    call_seconds=call_seconds,
                                    exercise_seconds=exercise_seconds, harness=harness))
        made.append(sub)
        return sub

    yield build
    for sub in made:
        sub.close()


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail instead of hanging the suite if the grader ever blocks."""

    def fail(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the grader blocked")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# -- calls, budgets, restarts ----------------------------------------------------------------


def test_calls_return_plain_values_and_reuse_one_worker(make: Make) -> None:
    sub = make()
    assert sub.add(2, 3) == 5
    assert sub.add([1], [2]) == [1, 2]
    assert sub.pid() == sub.pid()
    assert sub.has("add") and not sub.has("subtract")
    assert sub.calls[:2] == ["add(2, 3)", "add(list of 1 items, list of 1 items)"]


def test_a_call_past_call_seconds_times_out_and_the_next_call_gets_a_fresh_worker(
        make: Make) -> None:
    sub = make(call_seconds=0.5)
    first = sub.pid()
    start = time.monotonic()
    with pytest.raises(CallTimeout, match=r"timeout: spin\(\) was stopped after 0.5 s"):
        sub.spin()
    assert 0.5 <= time.monotonic() - start < 30  # stopped (a busy machine may be slow)
    assert sub.pid() != first
    assert sub.add(1, 1) == 2


def test_the_exercise_budget_runs_out_then_refuses_calls(make: Make) -> None:
    sub = make(call_seconds=1.0, exercise_seconds=1.8)
    # Which of the two limits stops the first call depends on how long the worker took to
    # start (it counts against the budget): either one is right.
    with pytest.raises(CallTimeout, match=r"stopped (after 1 s|when the exercise's time budget "
                                          r"of 1\.8 s ran out)"):
        sub.spin()
    with pytest.raises(CallTimeout, match=r"exercise's time budget of 1\.8 s"):
        sub.spin()
    start = time.monotonic()
    with pytest.raises(CallTimeout, match=r"budget of 1\.8 s is used up; add\(1, 2\) was not run"):
        sub.add(1, 2)
    assert time.monotonic() - start < 0.9  # refused, not run: running would take 1 s


def test_an_import_that_never_ends_times_out_once_for_all_tests(
        make: Make, tmp_path: Path) -> None:
    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "slow.py").write_text("while True:\n    pass\n")
    sub = make(call_seconds=0.5, exercise_seconds=1.0, source=folder, files=("slow.py",))
    with pytest.raises(CallTimeout, match=r"importing slow\.py took longer than 1 s\. Move slow"):
        sub.anything()
    start = time.monotonic()
    with pytest.raises(CallTimeout, match=r"importing slow\.py"):
        sub.anything()
    assert time.monotonic() - start < 0.9  # refused, not run: running would take 1 s


def test_a_crash_fails_one_call_and_the_next_call_restarts(make: Make) -> None:
    sub = make()
    with pytest.raises(SubmissionCrashed, match=r"aborted \(SIGABRT\) during abort\(\)"):
        sub.abort()
    assert sub.add(2, 2) == 4


@pytest.mark.parametrize(("signum", "words"), [
    (signal.SIGSEGV, "segmentation fault (SIGSEGV)"),
    (signal.SIGKILL, "killed by SIGKILL during die_by(9): out of CPU time or memory?"),
    (signal.SIGTERM, "killed by SIGTERM"),
    (signal.SIGRTMIN + 6, f"killed by signal {signal.SIGRTMIN + 6}"),
])
def test_death_by_signal_is_named(make: Make, signum: int, words: str) -> None:
    with pytest.raises(SubmissionCrashed) as info:
        make().die_by(int(signum))
    assert words in info.value.message


def test_a_worker_that_ends_between_calls_is_replaced(make: Make) -> None:
    sub = make()
    assert sub.exit_soon() == "bye"
    time.sleep(0.3)
    assert sub.add(1, 2) == 3


def test_an_exit_is_noticed_even_while_a_child_holds_the_pipes(make: Make) -> None:
    sub = make(call_seconds=5.0)
    start = time.monotonic()
    with pytest.raises(SubmissionCrashed, match="ended with exit code 3 during fork_then_exit"):
        sub.fork_then_exit()
    assert time.monotonic() - start < 4.5  # noticed before the call's 5 s timeout
    assert sub.add(1, 1) == 2


def test_garbage_nested_too_deeply_is_a_crash_not_a_grader_error(
        make: Make) -> None:
    sub = make()
    with pytest.raises(SubmissionCrashed, match="malformed answer during deep_json"):
        sub.deep_json()
    assert sub.add(1, 1) == 2


def test_a_large_request_to_a_worker_that_stopped_reading_does_not_hang(
        make: Make, alarm: None) -> None:
    sub = make(call_seconds=1.0)
    assert sub.stop_reading() == "stuck"
    start = time.monotonic()
    with pytest.raises(CallTimeout):
        sub.add(b"x" * (8 * 1024 * 1024), b"")
    assert time.monotonic() - start < 30  # bounded (the alarm catches a real hang)
    assert sub.add(1, 2) == 3


# -- what the learner's code raised or returned ---------------------------------------------


def test_learner_exceptions_name_type_message_and_learner_lines(
        make: Make) -> None:
    with pytest.raises(SubmissionRaised) as info:
        make().boom()
    problem = info.value
    assert problem.exc_type == "FileNotFoundError"
    assert "'no-such-file.txt'" in problem.exc_message
    assert "grader-worker" not in problem.message and "/tmp" not in problem.message
    assert problem.trace.startswith("  mod.py, line ")
    assert "grader/worker.py" not in problem.trace


def test_odd_exceptions_and_values_are_reported_not_fatal(make: Make) -> None:
    sub = make()
    with pytest.raises(SubmissionRaised, match="could not be shown"):
        sub.unprintable()
    with pytest.raises(SubmissionRaised, match="KeyboardInterrupt"):
        sub.interrupt()
    with pytest.raises(NotPlainReturn, match="could not be sent"):
        sub.huge_int()
    with pytest.raises(NotAttempted):
        sub.todo()
    with pytest.raises(MissingFunction, match=r"mod\.py has no function nothing_here"):
        sub.nothing_here()
    assert sub.add(1, 1) == 2


def test_unknown_modules_are_a_test_bug(make: Make) -> None:
    sub = make()
    with pytest.raises(LookupError, match="'other', which is not among"):
        sub.module("other").f()
    with pytest.raises(LookupError):
        sub.harness.f()


# -- output ---------------------------------------------------------------------------------


def test_output_is_captured_up_to_the_cap(make: Make) -> None:
    sub = make()
    assert sub.shout(100_000) == 100_000
    assert len(sub.output.kept) == proxy.LOG_CAP
    assert sub.output.dropped == 100_001 - proxy.LOG_CAP
    assert sub.output.text().endswith(f"[... {100_001 - proxy.LOG_CAP} more bytes of output "
                                      "not shown]")


def test_output_names_private_folders_as_the_learner_knows_them(
        make: Make) -> None:
    sub = make()
    sub.where()
    assert sub.output.text() == ". ~\n"


# -- files the submission wrote --------------------------------------------------------------


def test_read_file_returns_what_the_submission_wrote(make: Make) -> None:
    sub = make()
    with pytest.raises(FileNotFoundError):  # starts the worker (text-only exercises read first)
        sub.read_file("out/a.txt")
    sub.write("out/a.txt", b"hello")
    assert sub.read_file("out/a.txt") == b"hello"
    with pytest.raises(SubmissionCrashed, match="larger than"):
        sub.read_file("out/a.txt", max_bytes=2)


@pytest.mark.parametrize("setup", [
    ("link", "/etc/passwd", "leak.txt"),
    ("link", "/etc", "etc"),
    ("fifo", "pipe.txt"),
    ("none",),
])
def test_read_file_refuses_links_escapes_and_special_files(
        make: Make, setup: tuple[str, ...], alarm: None) -> None:
    sub = make()
    sub.add(0, 0)
    if setup[0] == "link":
        sub.link(setup[1], setup[2])
    elif setup[0] == "fifo":
        sub.fifo(setup[1])
    for rel in ("leak.txt", "etc/passwd", "pipe.txt", "../home/x", "/etc/passwd", "",
                "out/../../x"):
        with pytest.raises(FileNotFoundError):
            sub.read_file(rel)


# -- the course's harness --------------------------------------------------------------------


def test_harness_runs_beside_the_learner_module(make: Make, tmp_path: Path) -> None:
    harness = tmp_path / "harness.py"
    harness.write_text(textwrap.dedent("""
        import mod

        def run(a, b):
            return {"sum": mod.add(a, b), "module": __name__}
    """))
    sub = make(harness=harness)
    assert sub.harness.run(2, 3) == {"sum": 5, "module": proxy.HARNESS}
    assert sub.add(1, 1) == 2


def test_harness_alone_is_the_primary_module(make: Make, tmp_path: Path) -> None:
    harness = tmp_path / "harness.py"
    harness.write_text("def query(sql):\n    return sql.upper()\n")
    learner = tmp_path / "sql"
    learner.mkdir()
    (learner / "query.sql").write_text("select 1")
    sub = make(source=learner, files=("query.sql",), harness=harness)
    assert sub.primary == proxy.HARNESS
    assert sub.query("x") == "X"


def test_a_missing_learner_file_says_which_and_why(make: Make, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "mod.py").symlink_to(tmp_path / "learner" / "mod.py")
    # not handed in (a link is never taken): "missing", not an engine error
    with pytest.raises(NotAttempted, match=r"^missing: .*mod\.py was not accepted \(symbolic"):
        make(source=empty).add(1, 2)


# -- copying a submission --------------------------------------------------------------------


def test_copy_takes_declared_regular_files_only(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "a.py").write_text("a")
    (src / "pkg" / "b.py").write_text("b")
    (src / "notes.bin").write_bytes(b"\0")
    (src / "big.py").write_bytes(b"#" * (sandbox.MAX_FILE_BYTES + 1))
    (src / "link.py").symlink_to(src / "a.py")
    (src / "linked").symlink_to(src / "pkg")
    os.mkfifo(src / "fifo.py")
    (src / "dir.py").mkdir()
    dest = tmp_path / "dest"
    report = sandbox.copy_submission(src, ("a.py", "pkg/b.py", "notes.bin", "big.py", "link.py",
                                           "linked/b.py", "fifo.py", "dir.py", "gone.py",
                                           "../src/a.py"), dest)
    assert report.copied == ("a.py", "pkg/b.py")
    assert report.missing == ("gone.py",)
    assert dict(report.rejected) == {
        "notes.bin": "file type not allowed", "big.py": "larger than 5 MB",
        "link.py": "symbolic links are not accepted",
        "linked/b.py": "symbolic links are not accepted", "fifo.py": "not a regular file",
        "dir.py": "not a regular file", "../src/a.py": "not a plain relative path"}
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == [
        "a.py", "pkg", "pkg/b.py"]


def test_kill_tree_ends_the_group_and_a_setsid_child(tmp_path: Path) -> None:
    marker = str(tmp_path / "marker-folder")
    code = textwrap.dedent("""
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(30)
            os._exit(0)
        print(os.getpid(), flush=True)
        time.sleep(30)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code, marker], stdout=subprocess.PIPE,
                            start_new_session=True, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(0.2)
        assert sandbox._stragglers(proc.pid, marker.encode()), "the daemon should be found"
        assert sandbox.kill_tree(proc.pid, marker) >= 1
        proc.wait(timeout=5)
        time.sleep(0.1)
        assert not sandbox._stragglers(proc.pid, marker.encode())
    finally:
        proc.kill()
        proc.wait()


def test_a_learner_module_named_like_a_module_the_worker_uses_is_reported(
        make: Make, tmp_path: Path) -> None:
    folder = tmp_path / "clash"
    folder.mkdir()
    (folder / "json.py").write_text("def loads(text):\n    return 'mine'\n")
    with pytest.raises(ImportFailed, match=r"json\.py has the name of a Python module"):
        make(source=folder, files=("json.py",)).loads("1")


def test_a_worker_dies_with_a_grader_killed_by_sigkill(learner: Path, tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        from pathlib import Path
        from grader.engine.proxy import Submission, WorkerSpec
        sub = Submission(WorkerSpec(source=Path({str(learner)!r}), files=("mod.py",),
                                    modules=("mod",), call_seconds=60, exercise_seconds=60))
        print(sub.pid(), flush=True)
        sub.spin()
    """)
    grader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, TMPDIR=str(tmp_path)))
    try:
        assert grader.stdout is not None
        worker = int(grader.stdout.readline())
    finally:
        grader.kill()
        grader.wait()
    stop = time.monotonic() + 3
    while time.monotonic() < stop and _running(worker):
        time.sleep(0.05)
    assert not _running(worker), "the worker outlived its grader"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False
