"""Run the course as a Gradescope autograder: build its zip, and grade one upload inside it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from grader.engine.course import Course
from grader.instructor.release import ReleaseReport, copy_file, copy_tree

TEMPLATES = Path("docs/templates/gradescope")
ENTRY_POINTS = ("setup.sh", "run_autograder")
SOURCE_FILES = ("README.md", "Makefile", "pyproject.toml")


def build_zip(course: Course, out: Path, exercise_ids: Sequence[str] = ()) -> list[str]:
    """Write the autograder zip: setup.sh and run_autograder at its root, the course beside them
    with hidden tests and data but without the reference solutions' learner files."""
    exercises = [course.get(i) for i in exercise_ids] if exercise_ids else course.exercises
    templates = course.root / TEMPLATES
    missing = [n for n in ENTRY_POINTS if not (templates / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{templates} lacks {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as tmp:
        root = Path(tmp)
        report = ReleaseReport(root)
        for name in SOURCE_FILES:
            if (course.root / name).is_file():
                copy_file(course.root / name, root / name, report)
        copy_tree(course.root / "grader", root / "grader", report)
        for ex in exercises:
            copy_tree(course.exercise_dir(ex), root / "exercises" / ex.rel, report)
            hidden = course.solution_dir(ex)
            if hidden.is_dir():
                copy_tree(hidden, root / "solutions" / ex.rel, report)
                for name in ex.handed_in:  # the autograder needs hidden tests, not the answers
                    (root / "solutions" / ex.rel / name).unlink(missing_ok=True)
        for name in ENTRY_POINTS:
            shutil.copyfile(templates / name, root / name)
        ids = ",".join(ex.id for ex in exercises) if exercise_ids else ""
        (root / "EXERCISES").write_text(ids + "\n")
        out.parent.mkdir(parents=True, exist_ok=True)
        names = []
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                rel = path.relative_to(root).as_posix()
                info = zipfile.ZipInfo.from_file(path, rel)
                if rel in ENTRY_POINTS:
                    info.external_attr = (stat.S_IFREG | 0o755) << 16
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
                names.append(rel)
    return names


def run(course: Course, submission: Path, results: Path,
        exercise_ids: Sequence[str] = (), seed: int | None = None) -> float:
    """Grade one Gradescope upload and write ``results.json``; returns the score."""
    from grader.engine.runner import grade
    from grader.instructor.collect import collect_folder
    from grader.reports.gradescope_results import to_gradescope

    exercises = [course.get(i) for i in exercise_ids] if exercise_ids else course.exercises
    with tempfile.TemporaryDirectory(prefix="grader-upload-") as tmp:
        staged = Path(tmp)
        taken = collect_folder(exercises, submission, staged)
        run_result = grade(course, exercises, staged, seed)
    data = to_gradescope(run_result)
    problems = [f"missing: {m}" for m in taken.missing] + \
        [f"not accepted: {f} ({why})" for f, why in taken.rejected]
    if problems:
        data["output"] = ("Files in your upload:\n" + "\n".join(problems) + "\n\n" +
                          data["output"])
    results.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = results.with_name(results.name + ".tmp")
    tmp_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_path, results)
    return run_result.score
