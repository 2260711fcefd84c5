"""Print speed and memory numbers for the engine (`make bench`). Numbers, not pass/fail."""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from grader.course import Course
from grader.proxy import Submission, WorkerSpec
from grader.runner import grade

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

    course = Course.load(ROOT)
    for ex in course.exercises:
        start = time.perf_counter()
        result = grade(course, [ex], ROOT / "solutions", seed=1).exercises[0]
        line(f"grade reference: {ex.id} ({result.score:g}/{result.max_score:g})",
             time.perf_counter() - start, "s")
    start = time.perf_counter()
    subprocess.run([grader, "--course", str(ROOT), "grade", "--submission", "solutions",
                    "--quiet"], check=True)
    line("grader grade --submission solutions (whole course)", time.perf_counter() - start, "s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    line("peak RSS, grading process", peak, "MB")
    line("peak RSS, largest child (worker or CLI)", children, "MB")


if __name__ == "__main__":
    main()
