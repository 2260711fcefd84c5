"""Course-owned helper run inside the worker: calls a step and hands back its input afterwards.

It holds no expected values; the grader compares ``before`` and ``after`` in its own process.
"""

from __future__ import annotations

import importlib
from typing import Any

STEPS = frozenset({"standardise_missing", "dedupe", "normalise_categories", "parse_dates",
                   "parse_units", "fix_swapped_units", "flag_impossible", "clean"})


def call_and_keep_input(function: str, frame: Any) -> tuple[Any, Any, Any]:
    """(result, a copy of the input taken before the call, the input object after the call)."""
    if function not in STEPS:
        raise ValueError(f"not a cleaning step: {function}")
    module = importlib.import_module("cleaning")
    before = frame.copy(deep=True)
    result = getattr(module, function)(frame)
    return result, before, frame
