"""Warm worker templates against fresh workers: one class graded by `grader batch` both ways.

N copies of every reference solution (the exercises without a network: the cloud and Docker
exercises always start fresh workers) graded with ``GRADER_WARM=0`` and then with templates, at
``--jobs 2``; prints the mean seconds per unit per exercise, the whole run, and checks that both
ways give every unit the same score. Run alone: `python scripts/bench_warm.py [copies] [ids]`
(ids: exercise ids separated by commas).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.engine import warm_pool  # noqa: E402
from grader.engine.course import Course  # noqa: E402
from grader.instructor import batch  # noqa: E402


def grade(course: Course, subs: Path, db: Path, exercises: list[str], warm: bool,
          jobs: int) -> tuple[batch.Summary, list[tuple[str, str, float]]]:
    """One batch run, warm or cold; its summary and every unit's score."""
    os.environ[warm_pool.ENV_VAR] = "1" if warm else "0"
    summary = batch.run(course, subs, db=db, jobs=jobs, seed=1, exercise_ids=exercises,
                        quiet=True, say=lambda text: None)
    with sqlite3.connect(db) as con:
        scores = sorted(con.execute("SELECT student, exercise, score FROM grades"))
    return summary, scores


def main(copies: int = 3, jobs: int = 2, only: tuple[str, ...] = ()) -> None:
    """Print the table; say so when templates cannot be used on this machine."""
    course = Course.load(ROOT)
    if not (ROOT / "solutions").is_dir():
        print("warm templates: no solutions/ in this copy of the course; skipped")
        return
    os.environ.pop(warm_pool.ENV_VAR, None)
    if not warm_pool.enabled():
        print("warm templates: not used on this machine (they need tier A with Landlock ABI "
              f"{warm_pool.MIN_LANDLOCK}+ and seccomp); skipped")
        return
    exercises = [ex.id for ex in course.exercises if warm_pool.suits(ex.network)
                 and (not only or ex.id in only)]
    print(f"warm templates: {copies} copies of {len(exercises)} reference solutions, "
          f"--jobs {jobs}, fresh workers then templates")
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        subs = Path(tmp) / "class"
        for i in range(copies):
            for ex in course.exercises:
                if ex.id not in exercises:
                    continue
                for name in ex.files:
                    target = subs / f"ref-{i:03d}" / ex.rel / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(ROOT / "solutions" / ex.rel / name, target)
        cold, cold_scores = grade(course, subs, Path(tmp) / "cold.sqlite", exercises, False,
                                  jobs)
        warm, warm_scores = grade(course, subs, Path(tmp) / "warm.sqlite", exercises, True,
                                  jobs)
    os.environ.pop(warm_pool.ENV_VAR, None)
    print(f"{'seconds per unit (mean)':<30} {'fresh':>8} {'warm':>8} {'in calls':>9} "
          f"{'warm':>8}")
    for ex_id in exercises:
        rows = [[t for t in s.timings if t.exercise == ex_id] for s in (cold, warm)]
        if not all(rows):
            continue
        walls = [statistics.mean(t.wall for t in r) for r in rows]
        calls = [statistics.mean(t.submission_seconds or 0.0 for t in r) for r in rows]
        print(f"  {ex_id:<28} {walls[0]:>8.2f} {walls[1]:>8.2f} {calls[0]:>9.2f} "
              f"{calls[1]:>8.2f}")
    for label, summary in (("fresh workers", cold), ("warm templates", warm)):
        rate = summary.graded / summary.elapsed if summary.elapsed else 0.0
        print(f"  {'batch, ' + label:<28} {summary.elapsed:>8.1f} s  {summary.graded} units  "
              f"{rate:.2f} units/s  {len(summary.failed)} failed")
    same = cold_scores == warm_scores
    print(f"  same score for every unit both ways: {'yes' if same else 'NO'}")
    if not same:
        for a, b in zip(cold_scores, warm_scores, strict=False):
            if a != b:
                print(f"    fresh {a} / warm {b}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3,
         only=tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else ())
