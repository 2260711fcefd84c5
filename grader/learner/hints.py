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


def hint_text(ex: Exercise, shown: int, text: str, ask: str) -> str:
    """The hint as a learner reads it, with what to do next (``ask`` shows the next rung)."""
    lines = [f"Hint {shown}/{len(ex.hints)} for {ex.id}:", f"  {text}"]
    if shown < len(ex.hints):
        lines.append(f"Still stuck? {ask} shows hint {shown + 1}.")
    else:
        lines.append("That was the last hint for this exercise. Re-read the README task and "
                     "the message your last check gave; your instructor can help from there.")
    return "\n".join(lines)
