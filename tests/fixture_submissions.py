"""Known-bad submissions on disk: whole folders, or the reference plus one small patch.

A fixture whose one mistake is a few lines is kept as ``<outcome>/reference.patch``: a unified
diff (paths relative to the exercise folder, ``a/`` and ``b/`` prefixes) applied at test time to
a copy of the reference's learner files, so the mistake is visible at a glance. Files beside the
patch under ``<outcome>/<area>/<exercise>/`` are laid over the copy first (an artefact, say).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from grader.engine.course import Course
from grader.engine.manifest import Exercise

PATCH = "reference.patch"


def materialise(course: Course, ex: Exercise, outcome: Path, scratch: Path) -> Path:
    """The submission root for ``outcome``: the folder itself, or the patched reference."""
    patch = outcome / PATCH
    if not patch.is_file():
        return outcome
    root = scratch / outcome.name
    target = root / ex.rel
    target.mkdir(parents=True)
    for rel in ex.files:
        source = course.solution_dir(ex) / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / rel)
    extra = outcome / ex.rel
    if extra.is_dir():
        shutil.copytree(extra, target, dirs_exist_ok=True)
    done = subprocess.run(["git", "apply", "--allow-empty", "--unsafe-paths", "-p1",
                           str(patch.resolve())],
                          cwd=target, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{patch} no longer applies to the reference: {done.stderr}"
    return root


def write_patch(course: Course, ex: Exercise, outcome: Path) -> str:
    """The unified diff from the reference to ``outcome``'s learner files (for maintainers)."""
    chunks = []
    for rel in ex.files:
        before, after = course.solution_dir(ex) / rel, outcome / ex.rel / rel
        if not after.is_file():
            continue
        diff = subprocess.run(["diff", "-u", "--label", f"a/{rel}", "--label", f"b/{rel}",
                               str(before), str(after)], capture_output=True, text=True,
                              check=False)
        chunks.append(diff.stdout)
    return "".join(chunks)
