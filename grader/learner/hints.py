"""The hint ladder: each ask reveals the next rung, remembered in the progress file."""

from __future__ import annotations

from grader.engine.manifest import Exercise
from grader.learner.progress import Progress


def hint(ex: Exercise, progress: Progress, level: int | None = None) -> tuple[int, str]:
    """The hint at ``level`` (1-based), or the next one not yet seen; returns (level, text)."""
    if level is None:
        level = min(progress.hint_level(ex.id) + 1, len(ex.hints))
    if not 1 <= level <= len(ex.hints):
        raise ValueError(f"{ex.id} has hints 1 to {len(ex.hints)}; there is no hint {level}")
    progress.set_hint_level(ex.id, level)
    return level, ex.hints[level - 1]
