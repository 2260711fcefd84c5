"""Where a unit's time goes: each exercise's reference graded once, split by grader.engine.timing.

Also the whole course graded as `grader grade --submission solutions` does it, and `grader
check pandas-cleaning` on the finished solution. Run alone: `python scripts/bench_split.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.engine import timing  # noqa: E402
from grader.engine.course import Course  # noqa: E402

# This checkout's engine (not whatever `grader` script the environment installed).
GRADER = [sys.executable, "-m", "grader", "--course", str(ROOT)]
COLUMNS = ("judge start", "worker+imports", "learner", "test logic", "teardown")


@dataclass
class Split:
    """One unit's wall time and its phases (seconds), its score and its largest process."""

    exercise: str
    wall: float
    phases: dict[str, float]
    score: str
    peak_mb: float


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str, float]:
    """Run ``cmd`` from the course root: wall seconds, stdout, peak RSS (MB) of what it waited
    for (tier A: a worker reaped inside bubblewrap's PID namespace may not count)."""
    with tempfile.TemporaryFile() as out:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if proc.returncode not in (0, 1):  # 1: not full marks, still a grade
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}")
    return wall, text, usage.ru_maxrss / 1024


def split_one(ex_id: str, seed: int = 1) -> Split:
    """Grade one reference in a fresh `grader grade` process with timing on."""
    with tempfile.TemporaryDirectory(prefix="bench-split-") as tmp:
        record = Path(tmp) / "timing.json"
        env = dict(os.environ, **{timing.ENV: str(record)})
        wall, out, peak = run_timed([*GRADER, "grade", ex_id, "--submission", "solutions",
                                     "--seed", str(seed), "--quiet", "--json", "-"], env)
        data = json.loads(record.read_text()) if record.is_file() else {}
    ex = json.loads(out)["exercises"][0]
    phases = {name: float(data.get(name, 0.0)) for name in timing.PHASES}
    # Teardown here runs to the command's exit: the judge's own teardown (worker killed,
    # course files re-hashed), its answer, the report and the interpreter's shutdown.
    phases["teardown"] = max(wall - sum(v for k, v in phases.items() if k != "teardown"), 0.0)
    return Split(ex_id, wall, phases, f"{ex['score']:g}/{ex['max_score']:g}", peak)


def print_table(rows: list[Split]) -> None:
    """The split, one line per exercise, and the course's totals and shares."""
    print(f"time split per unit (reference graded once, fresh process, seconds; "
          f"{_tier()}):")
    head = "".join(f"{c:>15}" for c in COLUMNS)
    print(f"  {'exercise':<26}{head}{'wall':>9}{'score':>9}{'peak MB':>9}")
    for row in rows:
        cells = "".join(f"{row.phases[p]:>15.2f}" for p in timing.PHASES)
        print(f"  {row.exercise:<26}{cells}{row.wall:>9.2f}{row.score:>9}{row.peak_mb:>9.0f}")
    total = sum(r.wall for r in rows) or 1.0
    sums = {p: sum(r.phases[p] for r in rows) for p in timing.PHASES}
    print(f"  {'sum':<26}" + "".join(f"{sums[p]:>15.2f}" for p in timing.PHASES)
          + f"{total:>9.2f}")
    print(f"  {'share':<26}" + "".join(f"{sums[p] / total:>15.0%}" for p in timing.PHASES))


def _tier() -> str:
    from grader.sandbox import isolation

    return f"tier {isolation.current().label}"


def course_seconds() -> float:
    """The whole course's references graded as `grader grade --submission solutions` does."""
    wall, _, _ = run_timed([*GRADER, "grade", "--submission", "solutions", "--seed", "1",
                            "--quiet"], dict(os.environ))
    return wall


def check_seconds(ex_id: str = "pandas-cleaning", runs: int = 3) -> float:
    """`grader check ID` on the finished solution: median wall seconds of ``runs``."""
    return statistics.median(
        run_timed([*GRADER, "check", ex_id, "--submission", "solutions", "--seed", "1"],
                  dict(os.environ))[0] for _ in range(runs))


def load() -> str:
    """The machine's load averages, as `uptime` prints them (the machine may be shared)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    """Print the split table, the course time and the check time, with the load beside."""
    course = Course.load(ROOT)
    print(f"before the split: {load()}")
    rows = [split_one(ex.id) for ex in course.exercises]
    print_table(rows)
    print(f"after the split: {load()}")
    line = "{:<48} {:>10.3f} s   ({})"
    print(line.format("grader grade --submission solutions (course)", course_seconds(), load()))
    print(line.format("grader check pandas-cleaning, solution (median of 3)", check_seconds(),
                      load()))


if __name__ == "__main__":
    main()
