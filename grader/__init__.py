"""ML Engineer Lab's grader: the parent judges, the submission only computes.

Notebook helpers are loaded lazily so that ``grader --help`` and workers start fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check", "hint", "load"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from grader.learner import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
