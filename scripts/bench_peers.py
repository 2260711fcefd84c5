"""Marginal cost per student against the peers (`make bench-peers`): this engine, nbgrader, otter.

The course's small fixture exercise `tiny-stats` (tests/fixtures/course) is built as an nbgrader
assignment and as an otter autograder with the same four tests and points (the hidden inputs are
the class seed's, as this engine draws them), N deterministic students (correct ones written
several ways, partly wrong ones, a starter) are graded by `grader batch --jobs 1`, one
`nbgrader autograde` and `otter run` per submission, and every tool must give every student the
same score. Marginal cost per student = (T(N) - T(1)) / (N - 1), T measured on fresh folders.

nbgrader and otter-grader install from PyPI into a scratch virtual environment (.bench-peers/,
kept between runs). Numbers only; run `python scripts/bench_peers.py [--students N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.engine.course import Course  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "course"
REL = Path("01_programming") / "01_tiny-stats"
SCRATCH = ROOT / ".bench-peers"
PINS = ("nbgrader==0.9.6", "otter-grader==7.0.0")
SEED = 1
ASSIGNMENT = "tiny"
NOTEBOOK = "tiny-stats"

# Students' stats.py: every mean() with every median() below, cycled through the class.
MEANS = {
    "ok": "def mean(values):\n    return sum(values) / len(values)\n",
    "ok-fsum": "import math\n\n\ndef mean(values):\n    return math.fsum(values) / len(values)\n",
    "off-by-one": "def mean(values):\n    return sum(values) / (len(values) - 1)\n",
    "rounded": "def mean(values):\n    return round(sum(values) / len(values))\n",
}
MEDIANS = {
    "ok": ("def median(values):\n    ordered = sorted(values)\n    mid = len(ordered) // 2\n"
           "    if len(ordered) % 2:\n        return float(ordered[mid])\n"
           "    return (ordered[mid - 1] + ordered[mid]) / 2\n"),
    "ok-statistics": ("import statistics\n\n\ndef median(values):\n"
                      "    return float(statistics.median(values))\n"),
    "no-average": ("def median(values):\n    ordered = sorted(values)\n"
                   "    return ordered[len(ordered) // 2]\n"),
    "unsorted": "def median(values):\n    return values[len(values) // 2]\n",
}
STARTER = (FIXTURE / "exercises" / REL / "stats.py").read_text()


def students(n: int) -> dict[str, str]:
    """N students' stats.py: a starter, then every pairing of the variants (correct ones first:
    the reference is the second student), cycled."""
    pairs = [(m, d) for m in MEANS for d in MEDIANS]
    pairs.sort(key=lambda p: (not (p[0].startswith("ok") and p[1].startswith("ok")), p))
    sources = [STARTER] + [f'"""stats ({m} mean, {d} median)."""\n\n{MEANS[m]}\n\n{MEDIANS[d]}'
                           for m, d in pairs]
    return {f"s{i:03d}": sources[i % len(sources)] for i in range(n)}


# The four tests of tiny-stats, each tool's way: (name, points, hidden, body over mean/median).
def tests(hidden_mean: list[float], hidden_median: list[float]) -> list[tuple[str, int, bool,
                                                                               str]]:
    """tests/test_stats.py and the hidden tests of tests/fixtures/course, as plain asserts."""
    import statistics

    return [
        ("test_mean_small", 2, False,
         "got = mean([1, 2, 3, 4])\nassert type(got) in (int, float) and math.isclose(got, 2.5)"),
        ("test_median_odd", 2, False,
         "got = median([5, 1, 3])\nassert type(got) in (int, float) and math.isclose(got, 3)"),
        ("test_mean_hidden", 1, True,
         f"got = mean({hidden_mean!r})\nassert type(got) in (int, float) and "
         f"math.isclose(got, {statistics.mean(hidden_mean)!r})"),
        ("test_median_even_hidden", 1, True,
         f"got = median({hidden_median!r})\nassert type(got) in (int, float) and "
         f"math.isclose(got, {statistics.median(hidden_median)!r})"),
    ]


def hidden_inputs() -> tuple[list[float], list[float]]:
    """The hidden lists this engine draws for the class seed (support.values, as its tests)."""
    import importlib.util

    path = FIXTURE / "exercises" / REL / "tests" / "support.py"
    spec = importlib.util.spec_from_file_location("tiny_support", path)
    assert spec and spec.loader
    support = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(support)
    return support.values(SEED), support.values(SEED, n=8)


# -- the scratch environment ---------------------------------------------------------------------

def scratch_env() -> Path:
    """A virtual environment with nbgrader and otter-grader (pinned), made once."""
    venv = SCRATCH / "venv"
    stamp = venv / ".installed"
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS):
        return venv
    print(f"installing {', '.join(PINS)} into {venv} (once; a few minutes)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                           *PINS], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"pip could not install {' '.join(PINS)}:\n{done.stderr[-3000:]}")
    found = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "show", "torch"],
                           capture_output=True, text=True)
    if found.returncode == 0:
        raise SystemExit("the peers' scratch environment pulled torch: pin what pulled it")
    stamp.write_text("\n".join(PINS))
    return venv


def peer_env(venv: Path, home: Path) -> dict[str, str]:
    """The peers run from the scratch environment, with no user's Jupyter config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHON"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["JUPYTER_CONFIG_DIR"] = str(home / "jupyter-config")
    env["JUPYTER_DATA_DIR"] = str(home / "jupyter-data")
    env["IPYTHONDIR"] = str(home / "ipython")
    return env


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Run ``cmd`` and return its wall seconds; its output is shown only if it fails."""
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                         f"{done.stderr[-3000:]}")
    return seconds


# -- this engine ---------------------------------------------------------------------------------

def ours(work: Path, class_: dict[str, str], warm: bool = True) -> tuple[float, dict[str, float]]:
    """`grader batch --jobs 1` on a fresh class folder: wall seconds and score per student
    (``warm``: workers forked from a template where this machine allows, else fresh ones)."""
    folder = work / "class"
    for student, source in class_.items():
        target = folder / student / REL
        target.mkdir(parents=True)
        (target / "stats.py").write_text(source)
    seconds = timed([sys.executable, "-m", "grader", "--course", str(FIXTURE), "batch",
                     str(folder), "--jobs", "1", "--seed", str(SEED), "--quiet"], ROOT,
                    env=dict(os.environ, GRADER_WARM="1" if warm else "0"))
    with sqlite3.connect(folder / "gradebook.sqlite") as db:
        rows = db.execute("SELECT student, score FROM grades WHERE exercise = 'tiny-stats'")
        return seconds, {student: float(score) for student, score in rows}


# -- nbgrader ------------------------------------------------------------------------------------

def _cell(source: str, **nbgrader: object) -> dict[str, object]:
    meta = {"nbgrader": {"schema_version": 3, "solution": False, "grade": False,
                         "locked": False, **nbgrader}} if nbgrader else {}
    return {"cell_type": "code", "execution_count": None, "metadata": meta, "outputs": [],
            "source": source}


def _notebook(cells: list[dict[str, object]]) -> dict[str, object]:
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}}


def nbgrader_source(reference: str, cases: list[tuple[str, int, bool, str]]) -> dict[str, object]:
    """The instructor's notebook: one solution cell (the learner's stats.py), a cell per test."""
    cells = [_cell(f"### BEGIN SOLUTION\n{reference}### END SOLUTION\n", solution=True,
                   grade_id="stats"),
             _cell("import math\n", locked=True, grade_id="imports")]
    for name, points, hidden, body in cases:
        text = f"### BEGIN HIDDEN TESTS\n{body}\n### END HIDDEN TESTS\n" if hidden else body
        cells.append(_cell(text, grade=True, locked=True, grade_id=name, points=points))
    return _notebook(cells)


def nbgrader_course(work: Path, venv: Path, env: dict[str, str], source: dict[str, object]
                    ) -> dict[str, object]:
    """An nbgrader course with the assignment generated; returns the released notebook."""
    work.mkdir(parents=True)
    (work / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\n"
        f"c.CourseDirectory.root = {str(work)!r}\n")
    folder = work / "source" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{NOTEBOOK}.ipynb").write_text(json.dumps(source))
    timed([str(venv / "bin" / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], work,
          env)
    released: dict[str, object] = json.loads(
        (work / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text())
    return released


def nbgrader(work: Path, venv: Path, env: dict[str, str], source: dict[str, object],
             class_: dict[str, str]) -> tuple[float, dict[str, float]]:
    """One `nbgrader autograde` of the whole class: wall seconds and score per student."""
    released = nbgrader_course(work, venv, env, source)
    for student, code in class_.items():
        notebook = json.loads(json.dumps(released))
        for cell in notebook["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == "stats":
                cell["source"] = code
        folder = work / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{NOTEBOOK}.ipynb").write_text(json.dumps(notebook))
    seconds = timed([str(venv / "bin" / "nbgrader"), "autograde", ASSIGNMENT], work, env)
    query = ("import json, sys\nfrom nbgrader.api import Gradebook\n"
             "with Gradebook(sys.argv[1]) as gb:\n"
             f"    print(json.dumps({{s.id: gb.find_submission({ASSIGNMENT!r}, s.id).score "
             "for s in gb.students}))\n")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", query,
                          f"sqlite:///{work / 'gradebook.db'}"], cwd=work, env=env,
                         capture_output=True, text=True, check=True).stdout
    return seconds, {k: float(v) for k, v in json.loads(out).items()}


# -- otter ---------------------------------------------------------------------------------------

def otter_autograder(work: Path, venv: Path, env: dict[str, str],
                     cases: list[tuple[str, int, bool, str]]) -> Path:
    """An otter autograder zip: one exception-based test file per task, as tiny-stats has."""
    tests_dir = work / "tests"
    tests_dir.mkdir(parents=True)
    for task in ("mean", "median"):
        lines = ["import math", "from otter.test_files import test_case", "",
                 "OK_FORMAT = False", f"name = {task!r}", ""]
        for name, points, hidden, body in cases:
            if f"_{task}_" not in name:
                continue
            arg = task
            lines += [f"@test_case(name={name!r}, points={points}, hidden={hidden})",
                      f"def {name}({arg}):", *(f"    {line}" for line in body.splitlines()), ""]
        (tests_dir / f"{task}.py").write_text("\n".join(lines))
    timed([str(venv / "bin" / "otter"), "generate", "-t", str(tests_dir), "-o", "autograder.zip",
           "--no-config", "--no-requirements", "--no-environment"], work, env)
    return work / "autograder.zip"


def otter(work: Path, venv: Path, env: dict[str, str], zip_path: Path,
          class_: dict[str, str]) -> tuple[float, dict[str, float]]:
    """`otter run` per submission (stats.py itself): summed wall seconds, score per student."""
    total, scores = 0.0, {}
    for student, code in class_.items():
        folder = work / "submissions" / student
        folder.mkdir(parents=True)
        (folder / "stats.py").write_text(code)
        total += timed([str(venv / "bin" / "otter"), "run", "-a", str(zip_path), "-o",
                        str(folder), "--no-logo", str(folder / "stats.py")], folder, env)
        results = json.loads((folder / "results.json").read_text())
        scores[student] = float(sum(t.get("score") or 0 for t in results["tests"]))
    return total, scores


# -- the comparison ------------------------------------------------------------------------------

def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    args = parser.parse_args(argv)
    n = max(args.students, 2)
    venv = scratch_env()
    course = Course.load(FIXTURE)
    assert course.get("tiny-stats").points == 6
    reference = (FIXTURE / "solutions" / REL / "stats.py").read_text()
    cases = tests(*hidden_inputs())
    class_ = students(n)
    one = dict(list(class_.items())[1:2])  # the reference alone
    print(f"tiny-stats, {n} students, --jobs 1 / serial; {load()} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        base = Path(tmp)
        env = peer_env(venv, base / "home")
        zip_path = otter_autograder(base / "otter-ag", venv, env, cases)
        source = nbgrader_source(reference, cases)
        runs: dict[str, Callable[[Path, dict[str, str]], tuple[float, dict[str, float]]]] = {
            "grader batch --jobs 1": ours,
            "  the same, fresh workers": lambda w, c: ours(w, c, warm=False),
            "nbgrader autograde": lambda w, c: nbgrader(w, venv, env, source, c),
            "otter run (per submission)": lambda w, c: otter(w, venv, env, zip_path, c),
        }
        marginal: dict[str, float] = {}
        scores: dict[str, dict[str, float]] = {}
        print(f"  {'tool':<28} {'T(1) s':>8} {'T(N) s':>8} {'per student s':>14}  load")
        for label, run in runs.items():
            run(base / f"warm-{label[:5]}", one)  # a warm-up: file caches, compiled bytecode
            t1, _ = run(base / f"one-{label[:5]}", one)
            tn, got = run(base / f"all-{label[:5]}", class_)
            scores[label] = got
            marginal[label] = (tn - t1) / (n - 1)
            print(f"  {label:<28} {t1:>8.2f} {tn:>8.2f} {marginal[label]:>14.3f}  {load()}",
                  flush=True)
    mine = marginal["grader batch --jobs 1"]
    for label, seconds in marginal.items():
        if label != "grader batch --jobs 1":
            print(f"  {label} / grader batch: {seconds / mine:.1f}x per student" if mine > 0
                  else f"  {label}: ours measured no marginal cost")
    return check_agreement(class_, scores)


def check_agreement(class_: dict[str, str], scores: dict[str, dict[str, float]]) -> int:
    """Every tool gave every student the same score; else say who differs, and fail."""
    labels = list(scores)
    wrong = [f"  {s}: " + ", ".join(f"{label} {scores[label].get(s)}" for label in labels)
             for s in class_ if len({scores[label].get(s) for label in labels}) != 1]
    if wrong:
        print("SCORES DIFFER between the tools:\n" + "\n".join(wrong), file=sys.stderr)
        return 1
    spread = sorted({scores[labels[0]][s] for s in class_})
    print(f"  all three tools agree on every student's score (scores seen: "
          f"{', '.join(f'{v:g}' for v in spread)} of 6)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
