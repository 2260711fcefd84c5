"""What a batch's judge template imports once, so no unit's judge pays for it again.

A batch's judges are forked from one template process (multiprocessing's fork server). Every
library an exercise's tests import in the judge (torch for the transformer exercises, sklearn,
pandas) is imported there once, and each judge starts with it in memory, shared copy-on-write.
The list comes from the tests' own import statements (trusted course code, read with ``ast``,
never run); the harness, which runs in the worker, is left out.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable

from grader.engine.course import Course
from grader.engine.manifest import Exercise

ENGINE = ("grader.engine.judge", "grader.engine.runner", "grader.engine.plugin")
MAX_SOURCE = 2 * 1024 * 1024  # a test file larger than this is not scanned
LOCAL = frozenset({"grader", "support", "conftest", "harness"})


def imports_of(source: str, names: bool = False) -> set[str]:
    """Absolute module names imported anywhere in ``source`` (the module part of a
    ``from X import y``; ``import a.b`` gives ``a.b``); with ``names``, also ``X:y`` for each
    name imported from a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            if names:
                found.update(f"{node.module}:{alias.name}" for alias in node.names
                             if alias.name != "*")
    return found


def third_party(name: str) -> bool:
    """Whether ``name`` is neither the standard library's nor the course's own."""
    top = name.partition(".")[0]
    return top not in sys.stdlib_module_names and top not in LOCAL and not top.startswith("_")


def judge_imports(course: Course, exercises: Iterable[Exercise]) -> list[str]:
    """The third-party modules the tests of ``exercises`` import in the judge, sorted."""
    found: set[str] = set()
    for ex in exercises:
        harness = course.exercise_dir(ex) / ex.harness if ex.harness else None
        for folder in course.test_dirs(ex):
            for path in sorted(folder.rglob("*.py")):
                if path == harness or path.stat().st_size > MAX_SOURCE:
                    continue
                try:
                    found |= imports_of(path.read_text(encoding="utf-8"))
                except (SyntaxError, UnicodeDecodeError, OSError):
                    continue  # the grading itself will say what is wrong with the file
    return sorted(name for name in found if third_party(name))


def template_modules(course: Course | None, exercises: Iterable[Exercise]) -> list[str]:
    """Everything the judge template imports: the engine, then the tests' libraries."""
    extra = judge_imports(course, exercises) if course is not None else []
    return [*ENGINE, *extra]
