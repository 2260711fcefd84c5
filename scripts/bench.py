"""Print speed and memory numbers for the engine (`make bench`). Numbers, not pass/fail."""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_parser_attacks
import bench_split
import bench_warm

from grader.engine.course import Course
from grader.engine.proxy import Submission, WorkerSpec
from grader.engine.runner import grade

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "course"


def wall(cmd: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def line(name: str, value: float, unit: str) -> None:
    print(f"{name:<48} {value:>10.3f} {unit}")


def main() -> None:
    grader = str(Path(sys.executable).with_name("grader"))
    line("grader --help (median of 5)", wall([grader, "--help"]), "s")
    line("grader list (median of 5)", wall([grader, "--course", str(ROOT), "list"]), "s")

    spec = WorkerSpec(source=FIXTURE / "solutions/01_programming/01_tiny-stats",
                      files=("stats.py",), modules=("stats",), call_seconds=10,
                      exercise_seconds=600)
    sub = Submission(spec)
    start = time.perf_counter()
    sub.mean([1.0, 2.0])
    line("worker start + first call (tiny module)", time.perf_counter() - start, "s")
    start = time.perf_counter()
    for _ in range(200):
        sub.mean([1.0, 2.0, 3.0])
    line("round trip per call (small list)", (time.perf_counter() - start) / 200 * 1000, "ms")
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"x": np.arange(100_000, dtype=float),
                          "s": [f"row{i}" for i in range(100_000)]})
    start = time.perf_counter()
    sub.function("median")(frame["x"].tolist())
    line("call with a 100k-float list argument", time.perf_counter() - start, "s")
    sub.close()

    bench_attacks()
    bench_parser_attacks.main()
    course = Course.load(ROOT)
    print(f"before the split: {bench_split.load()}")
    bench_split.print_table([bench_split.split_one(ex.id) for ex in course.exercises])
    if os.environ.get("BENCH_FINETUNE") == "1":
        bench_finetune()
    else:
        print("reference fine-tune of bert-finetune: BENCH_FINETUNE=1 make bench (about 3 min)")
    line("grader grade --submission solutions (whole course)", bench_split.course_seconds(),
         "s")
    line("grader check pandas-cleaning, solution (median of 3)", bench_split.check_seconds(),
         "s")
    print(f"  {bench_split.load()}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    line("peak RSS, grading process", peak, "MB")
    line("peak RSS, largest child (worker or CLI)", children, "MB")
    bench_isolation(runs=int(os.environ.get("BENCH_TIER_RUNS", "15")))
    copies = int(os.environ.get("BENCH_BATCH_COPIES", "50"))
    which = os.environ.get("BENCH_BATCH_COURSE", "course")  # or "fixture": seconds, not minutes
    bench_batch(FIXTURE if which == "fixture" else ROOT, copies, jobs=2)
    bench_warm.main(int(os.environ.get("BENCH_WARM_COPIES", "3")))
    bench_similarity(int(os.environ.get("BENCH_SIMILARITY_STUDENTS", "300")), jobs=2)
    bench_cluster(int(os.environ.get("BENCH_CLUSTER_STUDENTS", "24")))


def bench_attacks() -> None:
    """Each attack of tests/attacks graded by a judge process of its own, as `grader batch`
    does: its wall time and the judge's peak RSS (ru_maxrss of that child), plus the slow-check
    stand-in of tests/test_batch.py stopped at its deadline."""
    course = Course.load(FIXTURE)
    tiny = course.get("tiny-stats")
    attacks = ROOT / "tests" / "attacks"
    here = os.getcwd()
    scratch = tempfile.mkdtemp(prefix="bench-attacks-")
    os.chdir(scratch)  # some attacks write into the grader's folder (a tier C gap)
    try:
        _attack_lines(course, tiny, attacks)
    finally:
        os.chdir(here)
        shutil.rmtree(scratch, ignore_errors=True)


def _attack_lines(course: Course, tiny: Any, attacks: Path) -> None:
    from grader.engine import judge
    from grader.sandbox import isolation

    print(f"attacks on tiny-stats, one judge process each ({isolation.current().label}):")
    for folder in sorted(attacks.iterdir()):
        if not (folder / "submission").is_dir() or folder.name == "stale-pyc":
            continue  # stale-pyc is built by its test
        outcome = judge.Judge(judge.context(), course.root, tiny, folder / "submission",
                              424242).wait()
        score = f"{outcome.result.score:g}/{outcome.result.max_score:g}" if outcome.result \
            else "engine error"
        print(f"  {folder.name:<28} {outcome.wall:>7.2f} s  judge peak RSS "
              f"{outcome.peak_rss_kb / 1024:>7.1f} MB  score {score}")
    with tempfile.TemporaryDirectory(prefix="bench-slow-check-") as tmp:
        sys.path.insert(0, str(ROOT / "tests"))
        from test_batch import HANGS_THE_JUDGE, REL, slow_course

        slow = slow_course(Path(tmp))
        (Path(tmp) / "hang" / REL).mkdir(parents=True)
        (Path(tmp) / "hang" / REL / "stats.py").write_bytes(HANGS_THE_JUDGE)
        outcome = judge.Judge(judge.context(), slow.root, slow.get("tiny-stats"),
                              Path(tmp) / "hang", 424242, margin=1.0).wait()
        print(f"  {'slow check (deadline 2+1 s)':<28} {outcome.wall:>7.2f} s  judge peak RSS "
              f"{outcome.peak_rss_kb / 1024:>7.1f} MB  "
              f"{outcome.result.tests[0].message[:60] if outcome.result else outcome.error}")


def bench_finetune() -> None:
    """The reference fine-tune of MiniLM, as `make test` runs it, into a scratch folder."""
    script = ROOT / "solutions" / "03_transformers" / "01_bert-finetune" / "finetune.py"
    if not script.is_file():
        print("reference fine-tune: no solutions/ in this copy of the course; skipped")
        return
    # fine_tune() saves where the tests read: save this run's model to a scratch folder instead
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        code = ("import importlib.util, resource, sys, time\n"
                f"spec = importlib.util.spec_from_file_location('ft', {str(script)!r})\n"
                "ft = importlib.util.module_from_spec(spec); spec.loader.exec_module(ft)\n"
                "start = time.perf_counter()\n"
                f"result = ft.fine_tune(folder={tmp!r})\n"
                "print(time.perf_counter() - start, result['val_accuracy'], "
                "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    seconds, accuracy, peak = (float(v) for v in done.stdout.split()[-3:])
    line(f"reference fine-tune of MiniLM (validation accuracy {accuracy:.3f})", seconds, "s")
    line("  peak RSS of the fine-tune", peak, "MB")


def bench_isolation(runs: int) -> None:
    """Per isolation tier: worker start + first call, and grading the whole attack corpus once.

    Tiers are interleaved run by run, so that a busy machine slows them alike; the added cost
    of a tier is its median minus tier C's.
    """
    from grader.sandbox import isolation

    tiers: dict[str, isolation.Tier] = {}
    for name in isolation.ORDER:
        found = isolation.probe(name)
        if isinstance(found, str):
            print(f"tier {name}: not available here ({found})")
        else:
            tiers[name] = found
    spec = WorkerSpec(source=FIXTURE / "solutions/01_programming/01_tiny-stats",
                      files=("stats.py",), modules=("stats",), call_seconds=10,
                      exercise_seconds=600)
    starts: dict[str, list[float]] = {name: [] for name in tiers}
    saved = isolation.current()
    try:
        for _ in range(runs):
            for name, tier in tiers.items():
                isolation.use(tier)
                sub = Submission(spec)
                start = time.perf_counter()
                sub.mean([1.0, 2.0])
                starts[name].append(time.perf_counter() - start)
                sub.close()
        plain = statistics.median(starts["C"])
        for name, times in starts.items():
            median = statistics.median(times)
            line(f"tier {name}: worker start + first call (median of {runs})", median * 1000,
                 "ms")
            line(f"tier {name}: added start-up per worker over tier C", (median - plain) * 1000,
                 "ms")
        course = Course.load(FIXTURE)
        tiny = course.get("tiny-stats")
        attacks = sorted(p / "submission" for p in (ROOT / "tests" / "attacks").iterdir()
                         if (p / "submission").is_dir())
        for name, tier in tiers.items():
            isolation.use(tier)
            with tempfile.TemporaryDirectory(prefix="bench-attacks-") as tmp:
                cwd = os.getcwd()
                os.chdir(tmp)  # some attacks write into the grader's working folder
                try:
                    start = time.perf_counter()
                    for folder in attacks:
                        grade(course, [tiny], folder, seed=1)
                    line(f"tier {name}: grade the {len(attacks)} attack folders once",
                         time.perf_counter() - start, "s")
                finally:
                    os.chdir(cwd)
    finally:
        isolation.use(saved)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(ROOT / "tests" / "test_attacks.py")], cwd=ROOT,
                          capture_output=True, text=True)
    summary = (done.stdout.strip().splitlines() or ["?"])[-1]
    line("pytest tests/test_attacks.py (every tier)", time.perf_counter() - start, "s")
    print(f"  {summary}")


def bench_batch(root: Path, copies: int, jobs: int) -> None:
    """`grader batch` on N copies of the reference solutions and N starters."""
    from grader.instructor import batch

    course = Course.load(root)
    if not (root / "solutions").is_dir():
        print("batch: no solutions/ in this copy of the course; skipped")
        return
    print(f"batch: {copies} reference + {copies} starter submissions x "
          f"{len(course.exercises)} exercises, --jobs {jobs} ({root.name})")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        subs = Path(tmp) / "class"
        for kind, base in (("ref", root / "solutions"), ("start", root / "exercises")):
            for i in range(copies):
                for ex in course.exercises:
                    for name in ex.files:
                        target = subs / f"{kind}-{i:03d}" / ex.rel / name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(base / ex.rel / name, target)
        summary = batch.run(course, subs, jobs=jobs, seed=1, quiet=not sys.stderr.isatty(),
                            say=lambda text: None)
    units = summary.graded
    line("batch: units graded (student x exercise)", units, "")
    line("batch: wall time", summary.elapsed, "s")
    line("batch: throughput", units / summary.elapsed if summary.elapsed else 0, "units/s")
    line("batch: throughput", 2 * copies / summary.elapsed * 60 if summary.elapsed else 0,
         "students/min")
    if summary.failed:
        line("batch: units that could not be graded", len(summary.failed), "")
    print(f"{'batch, mean seconds per unit':<36} {'wall':>9} {'in calls':>9} {'overhead':>9}")
    for ex in course.exercises:
        for kind in ("ref", "start"):
            rows = [t for t in summary.timings if t.exercise == ex.id and
                    t.student.startswith(kind)]
            if not rows:
                continue
            wall = statistics.mean(t.wall for t in rows)
            inside = statistics.mean(t.submission_seconds or 0.0 for t in rows)
            # overhead: the engine's own time, i.e. wall minus time inside the submission's
            # calls (worker start and the learner module's import count as inside)
            print(f"  {ex.id + ' ' + kind:<34} {wall:>9.3f} {inside:>9.3f} "
                  f"{wall - inside:>9.3f}")


def bench_similarity(students: int, jobs: int) -> None:
    """`grader similarity` on a synthetic class: STUDENTS x every exercise, ten planted copies."""
    sys.path.insert(0, str(ROOT / "tests"))
    from synthetic_class import bench_class

    from grader.instructor.similarity import REFERENCE, compare

    course = Course.load(ROOT)
    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as tmp:
        root = Path(tmp) / "class"
        start = time.perf_counter()
        copies = bench_class(course, root, students)
        line(f"similarity: build a synthetic class of {students}", time.perf_counter() - start,
             "s")
        names = sorted(p.name for p in root.iterdir())
        report = compare(course, root, names, jobs=jobs)
    line(f"similarity: {students} students x {len(course.exercises)} exercises, --jobs {jobs}",
         report.seconds, "s")
    line("similarity: CPU time of the comparing processes", report.cpu_seconds, "s")
    line("  so on two idle cores, about", report.cpu_seconds / jobs, "s")
    line("similarity: learner files and artefacts read", report.files, "")
    flagged = {(m.a, m.b) for m in report.flagged if m.b != REFERENCE}
    line("similarity: planted copies flagged", sum(c in flagged for c in copies),
         f"of {len(copies)}")
    line("similarity: student pairs flagged (all exercises)", len(flagged), "")


def bench_cluster(students: int) -> None:
    """The same tiny-stats class through the local pool (--jobs 2) and a 2-worker Dask cluster."""
    from grader.instructor import batch

    course = Course.load(FIXTURE)
    reference = FIXTURE / "solutions" / "01_programming" / "01_tiny-stats" / "stats.py"
    rates = {}
    for label, kwargs in (("local pool, --jobs 2", {"jobs": 2}),
                          ("Dask cluster, local:2", {"cluster": "local:2"})):
        with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
            for i in range(students):
                target = Path(tmp) / "class" / f"s{i:03d}" / "01_programming" / "01_tiny-stats"
                target.mkdir(parents=True)
                shutil.copyfile(reference, target / "stats.py")
            summary = batch.run(course, Path(tmp) / "class", seed=1, quiet=True,
                                say=lambda text: None, **kwargs)  # type: ignore[arg-type]
        rates[label] = summary.graded / summary.elapsed if summary.elapsed else 0.0
        line(f"batch {label}: {summary.graded} tiny-stats units", rates[label], "units/s")


if __name__ == "__main__":
    main()
