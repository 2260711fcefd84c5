"""`grader batch`: a synthetic class end to end, resume after kill -9, stale grades, regrades."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cmdline, descendants

from grader.engine import fingerprint
from grader.engine.course import Course
from grader.instructor import batch
from grader.instructor.collect import collect
from grader.instructor.gradebook import Gradebook
from grader.sandbox import cgroup

FIXTURE = Path(__file__).parent / "fixtures" / "course"
CLASS = Path(__file__).parent / "fixtures" / "class"
REL = "01_programming/01_tiny-stats"
REFERENCE = (FIXTURE / "solutions" / REL / "stats.py").read_bytes()
EXPECTED = json.loads((CLASS / "expected.json").read_text())
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def course() -> Course:
    return Course.load(FIXTURE)


def _rows(db: Path) -> dict[str, tuple[float, str, int]]:
    with sqlite3.connect(db) as con:
        return {s: (score, at, run) for s, score, at, run in
                con.execute("SELECT student, score, graded_at, run_id FROM grades")}


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_synthetic_class_end_to_end(course: Course, tmp_path: Path) -> None:
    from test_collect import raw_name_zip

    bulk = tmp_path / "bulk.zip"
    wrong = b"def mean(values):\n    return 0\n"
    raw_name_zip(bulk, [
        (f"dup/{REL}/stats.py", wrong), (f"dup/{REL}/stats.py", REFERENCE),
        (f"JosXX/{REL}/stats.py", REFERENCE),  # XX: Latin-1 bytes in the name
        (f"mallory/{REL}/stats.py", wrong), ("mallory/../../stats.py", REFERENCE),
        (f"../{REL}/stats.py", REFERENCE)], {"JosXX": b"Jos\xe9\xe8"})
    subs = tmp_path / "class"
    collect(course, CLASS, subs)  # folders: full, partial, broken, empty, cheating, latin1
    collect(course, bulk, subs)  # zip: duplicate entries, non-UTF-8 and traversal names
    said: list[str] = []
    summary = batch.run(course, subs, jobs=2, quiet=True, seed=11, say=said.append)
    expected = {s: e["score"] for s, e in EXPECTED.items()} | {"dup": 6, "Jos": 6,
                                                                "mallory": 0}
    assert summary.graded == len(expected) and not summary.failed
    with Gradebook(subs / batch.DB_NAME) as gb:
        grades = {g.student: g for g in gb.grades()}
    assert {s: g.score for s, g in grades.items()} == expected
    for student, spec in EXPECTED.items():
        assert grades[student].status == spec["status"], student
    for g in grades.values():  # each grade says what made it
        assert g.grader == fingerprint.engine_version()
        assert g.env_hash == fingerprint.environment_hash() and g.environment["python"]
        assert g.seed == 11 and len(g.submission_hash) == 16 and len(g.course_hash) == 16
        assert g.max_score == 6
    assert grades["cheating"].result["tests"][2]["hidden"] is True
    # resumable: nothing left to do; a changed submission is stale and only it is regraded
    before = _rows(subs / batch.DB_NAME)
    again = batch.run(course, subs, jobs=2, quiet=True, say=said.append)
    assert again.graded == 0 and again.up_to_date == len(expected)
    (subs / "partial" / REL / "stats.py").write_bytes(REFERENCE)
    changed = batch.run(course, subs, jobs=1, quiet=True, say=said.append)
    assert changed.graded == 1
    after = _rows(subs / batch.DB_NAME)
    assert after["partial"][0] == 6 and after["partial"][2] != before["partial"][2]
    assert {s: r for s, r in after.items() if s != "partial"} == \
        {s: r for s, r in before.items() if s != "partial"}
    # regrading one student is one command
    batch.run(course, subs, jobs=1, quiet=True, student_ids=["full"], regrade=True,
              say=said.append)
    final = _rows(subs / batch.DB_NAME)
    assert [s for s in final if final[s][2] != after[s][2]] == ["full"]


def test_stale_grades_are_visible(course: Course, tmp_path: Path) -> None:
    subs = tmp_path / "class"
    (subs / "ann" / REL).mkdir(parents=True)
    (subs / "ann" / REL / "stats.py").write_bytes(REFERENCE)
    batch.run(course, subs, jobs=1, quiet=True, seed=3, say=lambda _: None)
    with Gradebook(subs / batch.DB_NAME) as gb:
        assert [r for _, r in batch.status(course, gb)] == [[]]
        gb.db.execute("UPDATE grades SET grader='0.0.1+old', env_hash='x', course_hash='y'")
        (subs / "ann" / REL / "stats.py").write_text("# changed\n")
        (reasons,) = [r for _, r in batch.status(course, gb)]
    assert reasons[0] == "submission changed" and reasons[1] == "tests or data changed"
    assert reasons[2].startswith("grader changed (0.0.1+old") and \
        reasons[3] == "environment changed"


SLOW = """import time


def mean(values):
    time.sleep(0.3)
    return sum(values) / len(values)


def median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
"""


def test_resume_after_kill_9(course: Course, tmp_path: Path) -> None:
    subs = tmp_path / "class"
    students = [f"s{i}" for i in range(6)]
    for s in students:
        (subs / s / REL).mkdir(parents=True)
        (subs / s / REL / "stats.py").write_text(SLOW)
    db = subs / batch.DB_NAME
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "--course", str(FIXTURE), "batch", str(subs),
         "--jobs", "2", "--quiet", "--seed", "5"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    if len(_rows(db)) >= 2:
                        break
                except sqlite3.OperationalError:  # tables not created yet
                    pass
            time.sleep(0.05)
        else:
            pytest.fail("the batch never recorded two grades")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its pool, mid-run
        proc.wait()
    done = _rows(db)
    assert 2 <= len(done) < len(students), "the kill should land midway"
    summary = batch.run(course, subs, jobs=2, quiet=True, say=lambda _: None)
    assert summary.graded == len(students) - len(done)
    resumed = _rows(db)
    assert sorted(resumed) == students and all(r[0] == 6 for r in resumed.values())
    assert {s: resumed[s] for s in done} == done, "finished work must not be graded again"
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM grades").fetchone()[0] == len(students)
        runs = con.execute("SELECT finished_at FROM runs ORDER BY id").fetchall()
    assert runs[0][0] is None and runs[-1][0] is not None  # the killed run shows as unfinished
    with Gradebook(db) as gb:  # ...but a later run graded everything: nothing left to rerun
        assert gb.unfinished_runs() == []


def test_batch_refuses_a_second_writer(course: Course, tmp_path: Path) -> None:
    import fcntl

    subs = tmp_path / "class"
    (subs / "ann").mkdir(parents=True)
    db = subs / batch.DB_NAME
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(batch.BatchError, match="another"):
            batch.run(course, subs, quiet=True, say=lambda _: None)


def test_symlinked_exercise_folder_is_not_followed(course: Course, tmp_path: Path) -> None:
    (tmp_path / "eve" / "01_programming").mkdir(parents=True)
    os.symlink(FIXTURE / "solutions" / REL, tmp_path / "eve" / REL)
    root, digest, notes = batch.stage(tmp_path / "eve", course.exercises[0], tmp_path / "stage")
    assert not (root / REL / "stats.py").exists()
    assert "is a symbolic link" in notes[0]
    assert digest == batch.fingerprint.files_hash(tmp_path / "nowhere", ["stats.py"])


CRASH_ONCE = """import os
from pathlib import Path


def test_grading_process_survives(submission):
    marker = Path(__file__).parents[5] / "crashed-once"
    if not marker.exists():
        marker.write_text("the first grading process died here")
        os._exit(1)
"""


def test_a_dead_grading_process_is_retried(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(FIXTURE, tmp_path / "course")
    tests = tmp_path / "course" / "exercises" / REL / "tests"
    (tests / "test_crash.py").write_text(CRASH_ONCE)
    course = Course.load(tmp_path / "course")
    subs = tmp_path / "class"
    for s in ("ann", "ben"):
        (subs / s / REL).mkdir(parents=True)
        (subs / s / REL / "stats.py").write_bytes(REFERENCE)
    summary = batch.run(course, subs, jobs=2, quiet=True, say=lambda _: None)
    assert (tmp_path / "crashed-once").exists()
    assert summary.graded == 2 and not summary.failed
    assert {s: r[0] for s, r in _rows(subs / batch.DB_NAME).items()} == {"ann": 7, "ben": 7}


def test_gradebook_fits_the_terminal_and_says_when_nothing_is_stale(
        course: Course, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.cli import main

    subs = tmp_path / "class"
    collect(course, CLASS, subs)
    batch.run(course, subs, jobs=1, quiet=True, seed=2, say=lambda _: None)
    capsys.readouterr()
    assert main(["--course", str(FIXTURE), "gradebook", str(subs), "--stale"]) == 0
    assert "nothing stale" in capsys.readouterr().out
    monkeypatch.setenv("COLUMNS", "40")  # too narrow for the exercise ids as headers
    assert main(["--course", str(FIXTURE), "gradebook", str(subs)]) == 0
    out = capsys.readouterr().out
    assert "#1" in out and "#1 tiny-stats" in out


def test_batch_grades_the_assignment_collect_gathered(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A 3-exercise assignment is graded as such: no error grades and zero columns for the
    exercises nobody was asked to hand in."""
    from test_release import make_course

    from grader.cli import main

    root = tmp_path / "course"
    root.mkdir()
    two = Course.load(make_course(root))  # tiny-stats and tiny-stats-b
    subs = tmp_path / "class"
    collect(two, CLASS, subs, exercise_ids=["tiny-stats"])
    assert main(["--course", str(root), "batch", str(subs), "--quiet", "--jobs", "1"]) == 0
    assert "grading the assignment collect gathered: tiny-stats" in capsys.readouterr().out
    with Gradebook(subs / batch.DB_NAME) as gb:
        assert gb.exercises() == ["tiny-stats"]


# -- bounds on a unit, and on the batch's own processes -------------------------------------

# A course test that hangs the judge when the submission answers -1: the stand-in for a hostile
# file that makes a check backtrack for hours (tests/attacks/README.md, "slow judge").
SLOW_CHECK = """import time


def test_the_judge_is_patient(submission):
    answer = submission.mean([1.0])
    if answer == -1.0:
        time.sleep(600)
    if answer == -2.0:  # a check that swells the judge (a decoder's bomb, say)
        hog = b"x" * (400 * 2**20)
        time.sleep(600)
        assert hog
"""
HANGS_THE_JUDGE = b"def mean(values):\n    return -1.0\n\n\ndef median(values):\n    return 0\n"


def slow_course(tmp_path: Path, exercise_seconds: int = 2) -> Course:
    """A copy of the fixture course whose tiny-stats has the slow check and a short budget."""
    import shutil

    copy = tmp_path / "course"
    shutil.copytree(FIXTURE, copy)
    (copy / "exercises" / REL / "tests" / "test_slow.py").write_text(SLOW_CHECK)
    manifest = copy / "exercises" / REL / "exercise.toml"
    manifest.write_text(manifest.read_text().replace("exercise_seconds = 20",
                                                     f"exercise_seconds = {exercise_seconds}"))
    return Course.load(copy)


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                if fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X"):
                    out.append(pid)
        except OSError:
            continue
    return out


def test_a_unit_past_its_deadline_is_stopped_and_recorded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.engine import judge

    monkeypatch.setattr(judge, "MARGIN_SECONDS", 1.0)
    course = slow_course(tmp_path)
    subs = tmp_path / "class"
    for student, code in (("ann", REFERENCE), ("hang", HANGS_THE_JUDGE), ("ben", REFERENCE)):
        (subs / student / REL).mkdir(parents=True)
        (subs / student / REL / "stats.py").write_bytes(code)
    summary = batch.run(course, subs, jobs=2, quiet=True, say=lambda _: None)
    assert summary.graded == 3 and not summary.failed
    with Gradebook(subs / batch.DB_NAME) as gb:
        grades = {g.student: g for g in gb.grades()}
        assert gb.unfinished_runs() == []
    assert grades["ann"].score == grades["ben"].score == 7  # the next students graded right
    stopped = grades["hang"]
    assert stopped.score == 0 and stopped.max_score == 6  # the manifest's points
    assert stopped.result["tests"][0]["message"].startswith(
        "grading stopped after 3 s: the submission made the grader's checks run too long")
    timing = {t.student: t for t in summary.timings}["hang"]
    assert 3 <= timing.wall < 3 + 30  # stopped at its bound, not after the check's 600 s
    assert not leftovers(), "a judge or worker outlived its unit"


def leftovers() -> list[int]:
    """Processes below this one, but for the multiprocessing helpers kept for reuse (a judge
    forked by the fork server is still counted)."""
    from conftest import POOL_HELPERS

    helpers = {p for p in _children(os.getpid()) if any(h in cmdline(p) for h in POOL_HELPERS)}
    return [p for p in descendants(os.getpid()) if p not in helpers]


def _children(pid: int) -> list[int]:
    return [p for p in descendants(pid) if _parent(p) == pid]


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def assert_all_end(pids: list[int], seconds: float = 30) -> None:
    """Every one of ``pids`` ends within ``seconds`` (those that do not are killed, then named)."""
    stop = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < stop:
        time.sleep(0.1)
    left = alive(pids)
    for pid in left:  # started by this test: end them so one failure does not cascade
        os.kill(pid, signal.SIGKILL)
    assert not left, [cmdline(p) for p in left]


def workers(pids: list[int]) -> list[int]:
    return [p for p in pids if b"grader.engine.worker" in cmdline(p)]


def test_a_judge_past_its_memory_limit_is_stopped(tmp_path: Path) -> None:
    from grader.engine import judge

    course = slow_course(tmp_path, exercise_seconds=600)
    root = tmp_path / "swell"
    (root / REL).mkdir(parents=True)
    (root / REL / "stats.py").write_bytes(HANGS_THE_JUDGE.replace(b"-1.0", b"-2.0"))
    ex = course.get("tiny-stats")
    outcome = judge.Judge(judge.context(), course.root, ex, root, 3, memory_mb=200).wait()
    assert outcome.result is not None and outcome.result.score == 0
    assert outcome.result.tests[0].message == ("grading stopped: the grader's checks used more "
                                               "than 200 MB of memory on this submission")
    assert outcome.wall < judge.deadline(ex)  # stopped for its memory, not its deadline
    assert not leftovers()


def test_grade_stops_a_unit_past_its_deadline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The learner's side (`grader grade`, `check`): the same bound, the same message."""
    from grader.cli import main as grader_cli
    from grader.engine import judge

    monkeypatch.setattr(judge, "MARGIN_SECONDS", 1.0)
    course = slow_course(tmp_path)
    (course.root / "exercises" / REL / "stats.py").write_bytes(HANGS_THE_JUDGE)
    monkeypatch.chdir(course.root)
    assert grader_cli(["--course", str(course.root), "grade", "--seed", "3", "--json", "-"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["exercises"]
    assert result["score"] == 0 and result["max_score"] == 6
    assert "grading stopped after 3 s" in result["tests"][0]["message"]
    assert not leftovers()


@pytest.mark.parametrize("display", [["--quiet"], []], ids=["quiet", "progress bar"])
def test_a_batch_killed_with_sigkill_leaves_no_process(tmp_path: Path, display: list[str]) -> None:
    """kill -9 of `grader batch` alone (not its group): its judges, their workers, the fork
    server and the resource tracker all end with it."""
    course = slow_course(tmp_path, exercise_seconds=600)
    subs = tmp_path / "class"
    for student in ("s1", "s2", "s3"):
        (subs / student / REL).mkdir(parents=True)
        (subs / student / REL / "stats.py").write_bytes(HANGS_THE_JUDGE)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "--course", str(course.root), "batch", str(subs),
         "--jobs", "2", "--seed", "5", *display],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    stop = time.monotonic() + 120
    try:
        # Two judges, each with its worker (which has answered -1, so the check now sleeps).
        while len(workers(below := descendants(proc.pid))) < 2 and time.monotonic() < stop:
            time.sleep(0.1)
        assert len(workers(below)) >= 2, f"the batch never started its units: {below}"
    finally:
        proc.kill()
        proc.wait()
    assert_all_end(below)
    cgroup.sweep_stale()  # what the next batch does with the killed one's (empty) cgroups
    base = cgroup._own_path()
    names = os.listdir(base) if base and cgroup.available() else []
    assert not [n for n in names if f"-{proc.pid}-" in n]
