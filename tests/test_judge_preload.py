"""The judge template imports what an exercise's tests import, read from their source."""

from __future__ import annotations

from pathlib import Path

from grader.engine import judge
from grader.engine.course import Course
from grader.engine.judge_preload import imports_of, judge_imports, template_modules

ROOT = Path(__file__).resolve().parent.parent


def test_imports_are_read_from_the_source_never_run() -> None:
    source = """
import os, numpy as np
from pandas import DataFrame
from . import sibling
import torch.nn
def late():
    import transformers
raise SystemExit("never run")
"""
    assert imports_of(source) == {"os", "numpy", "pandas", "torch.nn", "transformers"}


def test_the_course_preloads_its_heavy_libraries_and_not_the_workers_harness() -> None:
    course = Course.load(ROOT)
    found = judge_imports(course, course.exercises)
    assert {"torch", "transformers", "pandas", "sklearn.metrics"} <= set(found)
    assert not [name for name in found if name.split(".")[0] in ("os", "json", "grader")]
    assert template_modules(None, [])[:3] == list(
        ("grader.engine.judge", "grader.engine.runner", "grader.engine.plugin"))


def test_the_harness_runs_in_the_worker_so_its_imports_are_left_out(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "course"
    shutil.copytree(ROOT / "tests" / "fixtures" / "course", root)
    ex_dir = root / "exercises" / "01_programming" / "01_tiny-stats"
    (ex_dir / "tests" / "harness.py").write_text("import torch\n")
    (ex_dir / "tests" / "test_more.py").write_text("import numpy\n")
    manifest = ex_dir / "exercise.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace('files = ["stats.py"]',
                                     'files = ["stats.py"]\nharness = "tests/harness.py"'))
    course = Course.load(root)
    found = judge_imports(course, course.exercises)
    assert "numpy" in found and "torch" not in found


def test_a_judges_memory_is_what_it_does_not_share(tmp_path: Path) -> None:
    import os

    own = judge.own_memory_kb(os.getpid())
    assert own > 0
