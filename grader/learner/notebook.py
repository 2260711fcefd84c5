"""Helpers for JupyterLab: ``check()`` grades with the same engine, ``load()`` re-imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from grader.engine.course import Course
from grader.engine.results import RunResult
from grader.learner.live_module import LiveModule
from grader.learner.run_all import install

install()  # in a notebook kernel, from the first `from grader import check, load` on

# Lets the notebook tests execute notebooks against solutions/ instead of exercises/.
SUBMISSION_ENV = "GRADER_SUBMISSION"


def course_root() -> Path:
    """The root folder of the course this notebook belongs to."""
    return Course.find().root


def submission_dir(ex_id: str) -> Path:
    """The folder holding the learner's files for an exercise (what ``check()`` grades)."""
    course = Course.find()
    return _submission_root(course) / course.get(ex_id).rel


def _submission_root(course: Course) -> Path:
    override = os.environ.get(SUBMISSION_ENV)
    if override:
        path = Path(override)
        return path if path.is_absolute() else course.root / path
    return course.root / "exercises"


def load(ex_id: str) -> LiveModule:
    """The learner's module for an exercise; every use sees the file as it is now."""
    course = Course.find()
    ex = course.get(ex_id)
    folder = _submission_root(course) / ex.rel
    if not ex.modules:
        raise ValueError(f"{ex_id} has no Python module to load; its files are "
                         f"{', '.join(ex.files)}")
    live = LiveModule(folder / f"{ex.modules[0]}.py", f"learner_{ex.id.replace('-', '_')}")
    live.module()  # a syntax error shows now, in the cell that loads it
    install()
    return live


def hint(ex_id: str, level: int | None = None) -> None:
    """Print the next hint for an exercise (or hint ``level``), as ``make hint`` does."""
    from grader.learner.hints import hint as next_hint
    from grader.learner.hints import hint_text
    from grader.learner.progress import Progress

    course = Course.find()
    ex = course.get(ex_id)
    progress = Progress(course.root)
    shown, text = next_hint(ex, progress, level)
    print(hint_text(ex, shown, text, f'hint("{ex.id}") again', progress))


class CheckResult:
    """What ``check()`` returns: renders as HTML in JupyterLab, as text elsewhere."""

    def __init__(self, run: RunResult, next_line: str,
                 titles: dict[str, dict[str, str]] | None = None) -> None:
        self.run = run
        self.next_line = next_line
        self.titles = titles or {}

    @property
    def score(self) -> float:
        return self.run.score

    @property
    def max_score(self) -> float:
        return self.run.max_score

    def _repr_html_(self) -> str:
        from grader.reports.html_page import run_html

        return run_html(self.run, self.next_line, self.titles)

    def __repr__(self) -> str:
        from grader.reports.safe_text import shown_line

        lines = []
        for ex in self.run.exercises:
            lines.append(f"{ex.id}: {ex.status} {ex.score:g}/{ex.max_score:g}")
            lines += [f"  {t.name}: {t.status} "
                      f"{shown_line(t.message.splitlines()[0]) if t.message else ''}"
                      for t in ex.tests if t.status != "passed"]
        lines.append(shown_line(self.next_line))
        return "\n".join(lines)


def check(ex_id: str, seed: int | None = None) -> CheckResult:
    """Grade one exercise exactly as ``make check`` does, in a fresh process."""
    course = Course.find()
    course.get(ex_id)  # a clear KeyError for a typo, before starting anything
    cmd = [sys.executable, "-m", "grader", "--course", str(course.root), "check", ex_id,
           "--json", "-", "--submission", str(_submission_root(course))]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the grader failed:\n{proc.stderr[-3000:]}")
    from grader.learner.progress import Progress
    from grader.reports.terminal import next_step

    run = RunResult.from_dict(json.loads(proc.stdout))
    progress = Progress(course.root)
    status = {ex.id: progress.status(ex.id) for ex in course.exercises}
    titles = {ex.id: {t.id: t.title for t in ex.tasks} for ex in course.exercises}
    return CheckResult(run, next_step(run, course, status), titles)
