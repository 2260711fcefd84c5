"""A class with every attack of the corpus and honest students, graded by one `grader batch`.

The class folder (laid out as `grader collect` writes it: ``<student>/<area>/<exercise>/...``)
holds one student per tiny-stats attack (``tests/attacks/*/submission``), one per
exercise-parser attack (``tests/test_attack_parsers.py``), and honest students: the reference,
correct solutions written another way (the ``full_marks`` fixtures), and one with honest mistakes
whose scores are known exactly. The course is a scratch copy of the fixture course's tiny-stats
beside the six real exercises the parser attacks target, so that one batch grades them all.

`grader batch --jobs 2` runs in a subprocess, in the machine's default isolation tier, under a
hard timeout. Every honest student must get exactly the expected score on every exercise, every
attack student at most what its honest work earns, the batch must finish (every unit graded, the
run recorded as finished), and no process may outlive it.

It takes several minutes (about 45 students x 7 exercises), so it runs with `make test-slow`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import processes_mentioning
from fixture_submissions import materialise
from test_attack_parsers import ATTACKS as PARSER_ATTACKS
from test_attack_parsers import COURSE as REAL_COURSE
from test_attack_parsers import submission as parser_submission
from test_attacks import EARNS, NAMES, REL, _end, _sleepers, prepared, templated

from grader.engine.course import Course
from grader.instructor import batch
from grader.instructor.gradebook import Gradebook
from grader.sandbox import cgroup, isolation

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "course"
KNOWN_BAD = Path(__file__).parent / "fixtures" / "submissions"
TINY = "tiny-stats"
SEED = 11
JOBS = 2
BATCH_TIMEOUT = 1800  # seconds: far above the few minutes it takes; only a stalled batch hits it
# tiny-stats written another way than the reference: the statistics module does the work.
TINY_ANOTHER_WAY = '''"""Tiny statistics with the standard library."""

import statistics


def mean(values):
    return statistics.fmean(values)


def median(values):
    return float(statistics.median(values))
'''
# Correct solutions written another way than the reference (full_marks fixtures).
ANOTHER_WAY = {"dockerfile": "python-app-main", "kubernetes": "written-differently",
               "model-card": "pipe-less-tables", "debug-the-pipeline": "fixed-another-way",
               "s3-model-registry": "resource-api", "deploy-and-monitor": "resource-api"}
# Honest mistakes with an exact expected score (known-bad fixtures whose min equals max).
MISTAKES = {"dockerfile": "root-user", "kubernetes": "latest-tag"}


def class_course(scratch: Path) -> Course:
    """The fixture course's tiny-stats and the real exercises the parser attacks target."""
    root = scratch / "course"
    shutil.copytree(FIXTURE, root)
    for ex_id in sorted({a.exercise for a in PARSER_ATTACKS.values()}):
        ex = REAL_COURSE.get(ex_id)
        for part in ("exercises", "solutions"):
            shutil.copytree(ROOT / part / ex.rel, root / part / ex.rel,
                            ignore=shutil.ignore_patterns("__pycache__"))
    return Course.load(root)


def hand_in(subs: Path, student: str, rel: str, source: Path) -> None:
    """Put one exercise folder of a submission root into the class folder."""
    shutil.copytree(source / rel, subs / student / rel, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))


def build_class(course: Course, scratch: Path, staging: Path, tier: str,
                nonce: str) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Fill ``scratch/class``; return (exact scores of honest students, caps of attackers),
    each per student and exercise (an exercise not handed in: exactly 0)."""
    subs = scratch / "class"
    work = scratch / "build"
    ids = course.ids()
    reference = course.root / "solutions"
    exact: dict[str, dict[str, float]] = {}
    caps: dict[str, dict[str, float]] = {}
    tiny = course.get(TINY)

    # Honest: the reference of everything; everything written another way; honest mistakes.
    for ex in course.exercises:
        hand_in(subs, "honest-reference", ex.rel, reference)
    exact["honest-reference"] = {ex.id: float(ex.points) for ex in course.exercises}
    (subs / "honest-another-way" / REL).mkdir(parents=True)
    (subs / "honest-another-way" / REL / "stats.py").write_text(TINY_ANOTHER_WAY)
    for ex_id, outcome in ANOTHER_WAY.items():
        ex = course.get(ex_id)
        hand_in(subs, "honest-another-way", ex.rel,
                materialise(course, ex, KNOWN_BAD / ex_id / outcome, work / "another-way"))
    exact["honest-another-way"] = {ex.id: float(ex.points) for ex in course.exercises}
    partial = FIXTURE.parent / "class" / "partial"
    hand_in(subs, "honest-mistakes", REL, partial)
    mistakes = {i: 0.0 for i in ids} | {TINY: 3.0}
    for ex_id, outcome in MISTAKES.items():
        ex = course.get(ex_id)
        hand_in(subs, "honest-mistakes", ex.rel,
                materialise(course, ex, KNOWN_BAD / ex_id / outcome, work / "mistakes"))
        spec = json.loads((KNOWN_BAD / ex_id / "expected.json").read_text())[outcome]
        assert spec["min_score"] == spec["max_score"]
        mistakes[ex_id] = float(spec["max_score"])
    exact["honest-mistakes"] = mistakes

    # The tiny-stats corpus: the attacks that need the test's paths get the batch's.
    for name in NAMES:
        if name == "clean-exec-daemon" and tier != "A" and not cgroup.available():
            continue  # a known gap there (README): nothing can end it with its worker
        targets: dict[str, object] = {}
        if name == "cross-student-read":
            targets = {"base": str(staging)}  # where the batch stages the other students
        elif name == "clean-exec-daemon":
            targets = {"nonce": nonce}
        root = (templated(name, work, targets) if targets
                else prepared(name, work / name, reference))
        hand_in(subs, f"attack-{name}", REL, root)
        # The plain tier's known gap: reading the other students' staged copies works there.
        honest = 6.0 if name == "cross-student-read" and tier == "C" else EARNS.get(name, 0.0)
        caps[f"attack-{name}"] = {i: 0.0 for i in ids} | {TINY: honest}
    assert tiny.points == 6

    # The exercise-parser attacks.
    for name, attack in PARSER_ATTACKS.items():
        ex, root = parser_submission(name, work / "parsers")
        hand_in(subs, f"parser-{name}", ex.rel, root)
        caps[f"parser-{name}"] = {i: 0.0 for i in ids} | {ex.id: attack.honest}
    return exact, caps


def session_members(sid: int) -> list[int]:
    """Live processes in session ``sid`` (the batch's own session)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                if fields[0] not in (b"Z", b"X") and int(fields[4]) == sid:
                    found.append(int(entry))
    return found


@pytest.mark.slow
def test_a_class_of_attacks_and_honest_students(tmp_path: Path) -> None:
    tier = isolation.choose(isolation.DEFAULT).name  # what the batch takes by itself
    course = class_course(tmp_path)
    staging = tmp_path / "tmp"  # the batch's TMPDIR: its staged copies and worker folders
    staging.mkdir()
    nonce = str(secrets.randbelow(10**9))
    exact, caps = build_class(course, tmp_path, staging, tier, nonce)
    subs = tmp_path / "class"
    cwd = tmp_path / "cwd"  # the attacks write into the grader's working folder
    cwd.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(staging),
               GRADER_ISOLATION=tier, PYTHONDONTWRITEBYTECODE="1")
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "--course", str(course.root), "batch", str(subs),
         "--jobs", str(JOBS), "--quiet", "--seed", str(SEED)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=BATCH_TIMEOUT)
    finally:
        if proc.poll() is None:  # stalled: end the batch and everything in its session
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    wall = time.monotonic() - start
    text = out.decode("utf-8", "replace")
    stop = time.monotonic() + 10  # what the batch killed last may take a moment to exit
    while True:
        left = sorted(set(session_members(proc.pid)) |
                      set(processes_mentioning(f"{tmp_path}{os.sep}")))
        sleepers = _sleepers(nonce)
        if not (left or sleepers) or time.monotonic() > stop:
            break
        time.sleep(0.1)
    for pid in left:  # started by this test: end them so one failure does not cascade
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    _end(sleepers)
    assert proc.returncode == 0, text[-3000:]
    assert not left and not sleepers, f"processes outlived the batch: {left} {sleepers}"

    with Gradebook(subs / batch.DB_NAME) as gb:
        grades = {(g.student, g.exercise): g for g in gb.grades()}
        unfinished = gb.unfinished_runs()
    students = set(exact) | set(caps)
    assert len(grades) == len(students) * len(course.exercises), text[-3000:]
    assert not unfinished, unfinished
    assert "could not be graded" not in text, text[-3000:]
    wrong: list[tuple[object, ...]] = []
    for student, scores in exact.items():
        for ex_id, expected in scores.items():
            got = grades[student, ex_id]
            if got.score != expected:
                wrong.append((student, ex_id, got.score, expected, _lost(got.result)))
    for student, limits in caps.items():
        for ex_id, cap in limits.items():
            got = grades[student, ex_id]
            if got.score > cap:
                wrong.append((student, ex_id, got.score, f"<= {cap}", _lost(got.result)))
    stopped = [(g.student, g.exercise) for g in grades.values()
               if any(t["name"] == "grading stopped" for t in g.result["tests"])]
    assert not wrong, wrong
    assert not stopped, f"units stopped at their bound (none should need it): {stopped}"
    print(f"\nclass of {len(students)} students x {len(course.exercises)} exercises in tier "
          f"{tier}: {wall:.0f} s\n{text.strip().splitlines()[-1]}")


def _lost(result: dict[str, object]) -> list[tuple[str, str]]:
    tests = result.get("tests", [])
    assert isinstance(tests, list)
    return [(t["name"], t["message"][:120]) for t in tests if t["status"] != "passed"][:4]
