"""The attack corpus: every cheating or hostile submission scores what it honestly earns (0 for
all but one), and the grader stays healthy afterwards.

Each ``tests/attacks/<attack>/submission`` is laid out like exercises/ for the fixture course's
tiny-stats exercise; ``tests/attacks/README.md`` says what each one tries and what each isolation
tier stops. After every attack the reference solution, graded in the same process, must still
get full marks, and no process the attack started may survive it.

The attacks on the machine itself (reading the course's secrets, writing its files, the network,
signals, fork bombs, disk fills, other students' copies) run once per isolation tier and must
show the block the tier promises (EACCES, ENOENT, nothing received...); where the plain tier
cannot stop one, that run is a strict xfail naming the gap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import json
import os
import py_compile
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader.cli import main as grader_cli
from grader.engine import plugin, runner
from grader.engine.course import Course
from grader.engine.manifest import Budget, Exercise
from grader.engine.results import ExerciseResult
from grader.engine.runner import grade
from grader.instructor import batch
from grader.sandbox import cgroup, isolation
from grader.sandbox import limits as sandbox

ATTACKS = Path(__file__).resolve().parent / "attacks"
NAMES = sorted(p.name for p in ATTACKS.iterdir() if (p / "submission").is_dir())
SEED = 424242
REL = "01_programming/01_tiny-stats"
# What an attack honestly earns when it is not 0: forging the answer to the public median test
# is the same as returning that test's known answer; remembering both public answers earns the
# public points, and the hidden tests (inputs made in the parent) must give nothing more.
EARNS = {"forged-reply-in-call": 2.0, "seed-tampering": 4.0}
# Attacks that only burn time get a short per-call budget so the corpus stays fast.
QUICK_TIMEOUT = {"sigterm-ignored", "patched-timers"}


def _capped(result: ExerciseResult) -> bool:
    return all(len(t.output) < 5000 and "more bytes of output not shown" in t.output
               for t in result.tests)


# What else must hold for an attack, beyond its score.
CHECKS: dict[str, Callable[[ExerciseResult], bool]] = {
    # RLIMIT_AS stops it with a MemoryError; on a loaded machine zero-filling 64 MB blocks can
    # outlast the 3 s call timeout first. Either stops it; which fires first is not the point.
    "memory-bomb": lambda result: all("MemoryError" in t.message or t.status == "timeout"
                                      for t in result.tests)
    and any("MemoryError" in t.message for t in result.tests),
    "print-flood": _capped,
    "sigterm-ignored": lambda result: all(t.status == "timeout" for t in result.tests),
    "patched-timers": lambda result: all(t.status == "timeout" for t in result.tests),
    "shared-mmap-bomb": lambda result: all("memory" in t.message.lower() for t in result.tests),
    "seed-tampering": lambda result: all(t.status == "passed" for t in result.tests
                                         if not t.hidden),
    "exit-at-import": lambda result: all("os._exit()" in t.message for t in result.tests),
    "forged-protocol-at-import": lambda result: all("out of turn" in t.message
                                                    for t in result.tests),
    "always-equal": lambda result: all("not plain data" in t.message for t in result.tests),
    "arrow-bomb": lambda result: all("could not be read" in t.message for t in result.tests),
}


@pytest.fixture(autouse=True)
def scratch_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Attacks write into the grader's working folder: make it a scratch one, never the repo."""
    monkeypatch.chdir(tmp_path)


def prepared(name: str, scratch: Path, reference_root: Path) -> Path:
    """The attack's submission root; the stale-pyc attack gets its bytecode built here."""
    source = ATTACKS / name / "submission"
    if name != "stale-pyc":
        return source
    root = scratch / "submission"
    shutil.copytree(source, root)
    folder = root / REL
    solution = reference_root / REL / "stats.py"
    starter = folder / "stats.py"
    # Bytecode of the *reference* solution, marked "never check the source" and also left as
    # a sourceless stats.pyc: Python would happily run either instead of the honest starter.
    cached = importlib.util.cache_from_source(str(starter))
    py_compile.compile(str(solution), cfile=cached, dfile=str(starter),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    shutil.copyfile(cached, folder / "stats.pyc")
    return root


def attack_exercise(name: str, tiny_stats: Exercise) -> Exercise:
    if name not in QUICK_TIMEOUT:
        return tiny_stats
    return dataclasses.replace(tiny_stats, budget=Budget(call_seconds=1.0, exercise_seconds=8.0,
                                                         memory_mb=tiny_stats.budget.memory_mb))


# Attacks on the machine, graded once per tier by the tests below (they need the test's paths).
TIERED = {"read-hidden-files", "rewrite-course-files", "network-exfil", "signal-grader",
          "fork-bomb", "disk-fill", "cross-student-read", "clean-exec-daemon"}


@pytest.mark.parametrize("name", [n for n in NAMES if n not in TIERED])
def test_attack_earns_nothing_and_the_grader_stays_healthy(
        name: str, fixture_course: Course, tiny_stats: Exercise, reference_root: Path,
        worker_tmp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "loaded.txt"
    monkeypatch.setenv("GRADER_ATTACK_MARKER", str(marker))
    from grader.engine import judge

    root = prepared(name, tmp_path, reference_root)
    exercise = attack_exercise(name, tiny_stats)
    start = time.monotonic()
    run = grade(fixture_course, [exercise], root, seed=SEED)
    elapsed = time.monotonic() - start
    result = run.exercises[0]
    lost = [(t.name, t.status, t.message[:100]) for t in result.tests]
    assert len(result.tests) == 4, lost
    assert result.score == EARNS.get(name, 0.0), lost
    assert all(t.message for t in result.tests if t.status != "passed"), lost
    assert not marker.exists(), marker.read_text()
    # Within the unit's bound (its budget and the judge's margin), which `grader batch` would
    # enforce by killing the judge: graded here in-process, it must end on its own.
    assert elapsed < judge.deadline(exercise), f"{name} took {elapsed:.1f} s to grade"
    assert CHECKS.get(name, lambda _: True)(result), lost
    healthy = grade(fixture_course, [tiny_stats], reference_root, seed=SEED)
    assert healthy.score == healthy.max_score == 6.0, healthy.to_dict()


# Attacks on the judge itself: graded by a judge process of their own, as `grader batch` and
# `grader grade` do, whose peak memory and wall time are read from outside.
JUDGE_ATTACKS = ("arrow-bomb",)
JUDGE_PEAK_KB = 2 * 1024 * 1024  # the judge's resident memory stays under 2 GB


@pytest.mark.parametrize("name", JUDGE_ATTACKS)
def test_attack_on_the_judge_stays_within_its_bounds(
        name: str, fixture_course: Course, tiny_stats: Exercise, reference_root: Path) -> None:
    from grader.engine import judge

    outcome = judge.Judge(judge.context(), fixture_course.root, tiny_stats,
                          ATTACKS / name / "submission", SEED).wait()
    assert outcome.result is not None, outcome.error
    lost = [(t.name, t.status, t.message[:120]) for t in outcome.result.tests]
    assert outcome.result.score == 0.0, lost
    assert outcome.peak_rss_kb < JUDGE_PEAK_KB, f"the judge peaked at {outcome.peak_rss_kb} KB"
    assert outcome.wall < judge.deadline(tiny_stats), outcome.wall
    assert not any(t.name == judge.STOPPED for t in outcome.result.tests), lost
    healthy = judge.Judge(judge.context(), fixture_course.root, tiny_stats, reference_root,
                          SEED).wait()
    assert healthy.result is not None and healthy.result.score == 6.0


def test_files_beside_the_module_are_never_copied(tmp_path: Path) -> None:
    source = ATTACKS / "files-beside-the-module" / "submission" / REL
    report = sandbox.copy_submission(source, ("stats.py",), tmp_path)
    assert report.copied == ("stats.py",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.py"]


def test_stale_pyc_would_fool_a_plain_import(tmp_path: Path, reference_root: Path) -> None:
    """The fixture is a real threat: plain ``import stats`` runs the smuggled bytecode."""
    root = prepared("stale-pyc", tmp_path, reference_root)
    code = "import sys; sys.path.insert(0, ''); import stats; print(stats.mean([1, 3]))"
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=root / REL,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "2.0"


def test_stale_pyc_is_not_run_even_inside_the_worker_folder(
        tmp_path: Path, reference_root: Path, worker_tmp: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: bytecode that did reach the worker's folder is still ignored."""
    from grader.engine.outcomes import NotAttempted
    from grader.engine.proxy import Submission, WorkerSpec

    root = prepared("stale-pyc", tmp_path, reference_root) / REL
    real_copy = sandbox.copy_submission

    def copy_everything(source: Path, files: tuple[str, ...], dest: Path,
                        *artifacts: object) -> sandbox.CopyReport:
        report = real_copy(source, files, dest)
        shutil.copytree(source, dest, dirs_exist_ok=True)
        return report

    monkeypatch.setattr(sandbox, "copy_submission", copy_everything)
    submission = Submission(WorkerSpec(source=root, files=("stats.py",), modules=("stats",),
                                       call_seconds=3, exercise_seconds=10))
    try:
        with pytest.raises(NotAttempted):
            submission.mean([1, 3])
    finally:
        submission.close()


def test_fake_results_files_do_not_change_the_grade(tmp_path: Path, worker_tmp: Path) -> None:
    """Through the real CLI: the forged files are overwritten or never read back."""
    course = tmp_path / "course"
    shutil.copytree(Path(__file__).parent / "fixtures" / "course", course)
    shutil.copyfile(ATTACKS / "fake-results-files" / "submission" / REL / "stats.py",
                    course / "exercises" / REL / "stats.py")
    env = dict(os.environ, TMPDIR=str(worker_tmp))
    subprocess.run([sys.executable, "-m", "grader", "--course", str(course), "grade", "--seed",
                    str(SEED), "--json", "out/results.json", "--quiet"],
                   cwd=course, env=env, check=True, capture_output=True, timeout=60)
    results = json.loads((course / "out" / "results.json").read_text())
    assert results["score"] == 0.0
    assert results["exercises"][0]["tests"], "the forged file replaced the real results"
    progress = json.loads((course / ".grader" / "progress.json").read_text())
    assert progress["status"]["tiny-stats"]["score"] == 0.0


def test_fake_results_files_in_process(tmp_path: Path, worker_tmp: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The same attack when the CLI runs inside this process: nothing forged is read back."""
    course = tmp_path / "course"
    shutil.copytree(Path(__file__).parent / "fixtures" / "course", course)
    shutil.copyfile(ATTACKS / "fake-results-files" / "submission" / REL / "stats.py",
                    course / "exercises" / REL / "stats.py")
    monkeypatch.chdir(course)
    assert grader_cli(["--course", str(course), "grade", "--seed", str(SEED), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 0.0


def _pids(scratch: Path) -> list[int]:
    return [int(p.read_text()) for p in scratch.glob("daemon-*.pid") if p.read_text()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def _end(pids: list[int]) -> None:
    for pid in pids:  # the attack's daemons were started by this test: end them by id
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_setsid_daemon_is_killed_with_its_worker(
        fixture_course: Course, tiny_stats: Exercise, tmp_path: Path, worker_tmp: Path) -> None:
    run = grade(fixture_course, [tiny_stats], ATTACKS / "setsid-daemon" / "submission",
                seed=SEED)
    assert run.score == 0.0
    pids = _pids(tmp_path)
    if isolation.current().name != "C":  # its pid files are outside the sandbox: not written
        assert not pids and not (tmp_path / "forged-results.json").exists()
        return  # worker_tmp checks that no process of the sandbox's uid is left
    try:
        assert pids, "the attack did not start its daemon"
        time.sleep(0.3)
        (tmp_path / "forged-results.json").unlink(missing_ok=True)
        time.sleep(0.3)
        assert not [pid for pid in pids if _alive(pid)], "a daemon outlived its worker"
        assert not (tmp_path / "forged-results.json").exists(), "a daemon kept writing"
    finally:
        _end(pids)


# -- attacks on the machine, once per isolation tier ---------------------------------------------

HIDDEN = Path(__file__).parent / "fixtures" / "course" / "solutions" / REL
DISK_MB = 2  # the disk-fill attack's budget: small, so that no tier writes much to find out
PROCESSES = 128  # the fork bomb's: reached well within the call's 3 s on a busy machine
# What each tier must show in the attack's output (its OBSERVED lines) or in its tests' messages.
BLOCKS: dict[str, dict[str, tuple[str, ...]]] = {
    "read-hidden-files": {
        "A": ("solution: ENOENT", "hidden test: ENOENT", "grader environ: ENOENT"),
        "B": ("solution: EACCES", "hidden test: EACCES", "grader environ: EACCES"),
    },
    "rewrite-course-files": {
        "A": ("write support: ENOENT", "write hidden test: ENOENT"),
        "B": ("write support: EACCES", "write hidden test: EACCES"),
        "C": ("course files were modified during grading",),
    },
    "network-exfil": {
        "A": ("tcp: ECONNREFUSED", "udp: sent", "raw socket: opened"),  # its own loopback only
        "B": ("tcp: EACCES", "udp: EACCES", "raw socket: EACCES"),
    },
    "signal-grader": {"A": ("signal 0: ESRCH", "signal 23: ESRCH"),
                      "B": ("signal 0: EPERM", "signal 23: EPERM")},
    "fork-bomb": {"A": ("fork: EAGAIN after",), "B": ("fork: EAGAIN after",)},
    # B and C: the watchdog's size or file-count limit, whichever it samples first (either
    # stops the attack; which one fires depends on how fast the machine writes).
    "disk-fill": {"A": ("fill: ENOSPC after",), "B": ("so it was stopped",),
                  "C": ("so it was stopped",)},
    "cross-student-read": {"A": ("list: ENOENT", "found: nothing"),
                           "B": ("list: EACCES", "found: nothing")},
}
# What must never show, in any tier: the attack got through.
LEAKS = {"read-hidden-files": (": read",), "network-exfil": ("tcp: sent",),
         "signal-grader": ("delivered",), "fork-bomb": ("not stopped",),
         "disk-fill": ("not stopped",), "cross-student-read": ("another student's copy",)}
# What the plain tier cannot stop: those runs are strict xfails (README: known gaps).
PLAIN_GAPS = {
    "read-hidden-files": "plain tier: the worker reads whatever the grader's user can read",
    "network-exfil": "plain tier: the worker has the grader's network",
    "signal-grader": "plain tier: the worker may signal the grader (same user)",
    "fork-bomb": "plain tier: no RLIMIT_NPROC (per user, ignored for root); only the call "
                 "timeout ends a fork bomb",
    "cross-student-read": "plain tier: the worker can read other students' staged copies",
}


def templated(name: str, scratch: Path, targets: dict[str, object]) -> Path:
    """A copy of the attack's submission with ``TARGETS`` set to this test's real paths."""
    root = scratch / "attack" / name
    shutil.copytree(ATTACKS / name / "submission", root)
    module = root / REL / "stats.py"
    text = module.read_text()
    assert "TARGETS = {}  # @TARGETS@" in text
    module.write_text(text.replace("TARGETS = {}  # @TARGETS@", f"TARGETS = {targets!r}"))
    return root


def snapshot(folder: Path, skip: Path) -> dict[str, bytes]:
    """Every file below ``folder`` but ``skip`` (where workers live), with its content."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and skip not in p.parents}


def observed(result: ExerciseResult) -> str:
    """What the attack printed and what its tests said, in one text."""
    return "\n".join([result.message, *(f"{t.message}\n{t.output}" for t in result.tests)])


@pytest.fixture
def listeners() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A TCP and a UDP listener on 127.0.0.1 that must hear nothing from a submission."""
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for sock in (tcp, udp):
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
    tcp.listen(8)
    yield tcp, udp
    tcp.close()
    udp.close()


def heard(tcp: socket.socket, udp: socket.socket) -> list[str]:
    """What reached the listeners (the attack has ended: anything sent is already queued)."""
    got = []
    with contextlib.suppress(BlockingIOError):
        conn, _ = tcp.accept()
        conn.settimeout(1)
        got.append(f"tcp connection: {conn.recv(100)!r}")
        conn.close()
    with contextlib.suppress(BlockingIOError):
        got.append(f"udp: {udp.recv(100)!r}")
    return got


def gap(request: pytest.FixtureRequest, tier: isolation.Tier, name: str) -> None:
    if tier.name == "C" and name in PLAIN_GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=PLAIN_GAPS[name]))


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_attack_on_the_machine_is_blocked(
        name: str, tier: isolation.Tier, request: pytest.FixtureRequest,
        fixture_course: Course, tiny_stats: Exercise, reference_root: Path, worker_tmp: Path,
        tmp_path: Path, listeners: tuple[socket.socket, socket.socket],
        monkeypatch: pytest.MonkeyPatch) -> None:
    gap(request, tier, name)
    monkeypatch.setattr(plugin, "Limits", functools.partial(sandbox.Limits, disk_mb=DISK_MB,
                                                            processes=PROCESSES))
    course, exercise, staged = fixture_course, tiny_stats, None
    tcp, udp = listeners
    targets: dict[str, object] = {}
    if name == "read-hidden-files":
        targets = {"read": {"solution": str(HIDDEN / "stats.py"),
                            "hidden test": str(HIDDEN / "tests" / "test_hidden.py"),
                            "grader environ": f"/proc/{os.getpid()}/environ"}}
    elif name == "rewrite-course-files":
        copy = tmp_path / "course"
        shutil.copytree(Path(__file__).parent / "fixtures" / "course", copy)
        (copy / "ATTACK-SCRATCH").write_text("this copy may be attacked")
        course = Course.load(copy)
        exercise = course.get(tiny_stats.id)
        targets = {"write": {
            "support": str(copy / "exercises" / REL / "tests" / "support.py"),
            "hidden test": str(copy / "solutions" / REL / "tests" / "test_hidden.py")}}
    elif name == "network-exfil":
        targets = {"tcp": tcp.getsockname()[1], "udp": udp.getsockname()[1]}
    elif name == "signal-grader":
        targets = {"grader": os.getpid()}
    elif name == "cross-student-read":
        targets = {"base": str(worker_tmp)}
    root = templated(name, tmp_path, targets) if targets else ATTACKS / name / "submission"
    if name == "cross-student-read":  # a batch's staging: the victim is graded beside it
        staged = worker_tmp / "grader-batch-test"
        batch.stage(reference_root, exercise, staged / "victim" / exercise.id)
        root, _, _ = batch.stage(root, exercise, staged / "attacker" / exercise.id)
    before = snapshot(tmp_path, worker_tmp)
    try:
        result = runner.grade_exercise(course, exercise, root, SEED)
    finally:
        if staged is not None:
            shutil.rmtree(staged)
    text = observed(result)
    assert len(result.tests) == 4, text
    for leak in LEAKS.get(name, ()):
        if name == "disk-fill" and tier.name != "A":
            # B and C stop it with a watchdog that samples the folder: on a loaded machine the
            # bounded fill (160 MB) may finish between two samples. The worker is then killed
            # all the same (BLOCKS: "so it was stopped") and the attack scores 0.
            continue
        assert leak not in text, f"tier {tier.name}: the attack got through ({leak!r}):\n{text}"
    assert result.score == 0.0, text
    assert all(t.message for t in result.tests), text
    for expected in BLOCKS[name].get(tier.name, ()):
        assert expected in text, f"tier {tier.name}: expected {expected!r} in:\n{text}"
    if name == "fork-bomb" and tier.name != "C":
        children = int(re.findall(r"EAGAIN after (\d+) children", text)[0])
        assert children < PROCESSES
    assert heard(tcp, udp) == []
    after = snapshot(tmp_path, worker_tmp)
    if name == "rewrite-course-files" and tier.name == "C":
        assert after != before  # the plain tier's gap, caught by the course hash
    else:
        assert after == before, "the attack wrote outside its sandbox"
    healthy = grade(fixture_course, [tiny_stats], reference_root, seed=SEED)
    assert healthy.score == healthy.max_score == 6.0, healthy.to_dict()


def _sleepers(nonce: str) -> list[int]:
    """Live processes running ``sleep 8.0<nonce>`` (the clean-exec daemon)."""
    wanted = b"sleep\0" + f"8.0{nonce}".encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _alive(int(entry)):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if fh.read() == wanted:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_clean_exec_daemon_is_killed_with_its_worker(
        tier: isolation.Tier, request: pytest.FixtureRequest, fixture_course: Course,
        tiny_stats: Exercise, tmp_path: Path, worker_tmp: Path) -> None:
    if tier.name != "A" and not cgroup.available():
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            f"tier {tier.name} without a writable cgroup v2: a daemon that calls setsid() and "
            "execs with an empty environment cannot be told apart from other processes; only a "
            "PID namespace (tier A) or a cgroup per worker ends it")))
    nonce = str(secrets.randbelow(10**9))
    root = templated("clean-exec-daemon", tmp_path, {"nonce": nonce})
    run = grade(fixture_course, [tiny_stats], root, seed=SEED)
    assert run.score == 0.0
    try:
        time.sleep(0.2)
        assert not _sleepers(nonce), "the daemon outlived its worker"
    finally:
        _end(_sleepers(nonce))
