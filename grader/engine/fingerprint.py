"""Content hashes that make a stored grade checkable: submission, course side, engine, machine."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from grader.engine.course import Course
from grader.engine.manifest import Exercise

SKIP_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".git"})
# Modules that only present, store or move grades (paths below grader/): editing them leaves
# grades current. Every other module (and any new one) is taken to affect how submissions are
# graded: the engine and sandbox wings whole, and whatever else is added.
PRESENTATION = frozenset({
    "__init__.py", "__main__.py", "cli.py", "engine/fingerprint.py",
    "learner/__init__.py", "learner/hints.py", "learner/progress.py", "learner/notebook.py",
    "reports/__init__.py", "reports/terminal.py", "reports/json_results.py",
    "reports/html_page.py", "reports/gradescope_results.py", "reports/classroom.py",
    "reports/safe_text.py",
    "instructor/__init__.py", "instructor/commands.py", "instructor/gradebook_csv.py",
    "instructor/feedback.py", "instructor/export.py", "instructor/student_ids.py",
    "instructor/zip_directory.py", "instructor/nbgrader.py",
    "instructor/gradebook.py", "instructor/release.py", "instructor/collect.py",
    "instructor/gradescope.py", "learner/live_module.py", "learner/run_all.py",
    "instructor/similarity.py", "instructor/similarity_report.py", "instructor/fingerprints.py",
    "instructor/artefact_hashes.py", "instructor/history.py",
    "instructor/item_analysis.py", "instructor/dashboard.py",
})


def _files_under(root: Path) -> Iterable[Path]:
    """Regular files below ``root`` in a stable order, caches left out, links not followed."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if stat.S_ISREG(path.lstat().st_mode):
                yield path


def course_hash(course: Course, ex: Exercise) -> str:
    """What grades an exercise on the course side: manifest, tests, support, harness, data."""
    digest = hashlib.sha256()
    learner = set(ex.handed_in)
    for base in (course.exercise_dir(ex), course.solution_dir(ex)):
        for path in _files_under(base):
            rel = path.relative_to(base).as_posix()
            if rel in learner:  # the starter and the reference (and its model) grade nobody
                continue
            digest.update(f"{base.parent.parent.name}/{rel}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def files_hash(root: Path, files: Iterable[str]) -> str:
    """The declared learner files as they are under ``root`` (a missing one counts as such)."""
    digest = hashlib.sha256()
    for rel in files:
        digest.update(f"{rel}\0".encode())
        path = root / rel
        try:
            data = path.read_bytes() if not path.is_symlink() else b"\0<link>"
        except OSError:
            data = b"\0<missing>"
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


@cache
def engine_version() -> str:
    """The package version plus a hash of the grading modules' source, so an edit shows."""
    from importlib import metadata

    try:
        version = metadata.version("ml-engineer-lab")
    except metadata.PackageNotFoundError:
        version = "unknown"
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.ini")]):
        rel = path.relative_to(package).as_posix()
        if rel in PRESENTATION or "__pycache__" in rel:
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes())
    return f"{version}+{digest.hexdigest()[:10]}"


@cache
def environment() -> dict[str, object]:
    """What the grades depend on besides content: Python, key libraries, isolation tier."""
    from grader.engine.runner import environment as run_environment

    env = run_environment(seed=0, hidden=True)
    return {k: v for k, v in env.items() if k not in ("seed", "hidden_tests", "grader")}


def environment_hash(env: dict[str, object] | None = None) -> str:
    """A short, stable hash of an environment fingerprint."""
    text = json.dumps(env if env is not None else environment(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
