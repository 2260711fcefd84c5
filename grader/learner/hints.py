"""The hint ladder: each ask reveals the next rung, remembered in the progress file."""

from __future__ import annotations

from grader.engine.manifest import Exercise
from grader.learner.progress import Progress


def ladder(ex: Exercise, progress: Progress) -> tuple[str, str, tuple[str, ...]]:
    """(progress key, what it is for, the hints): the task the last check named, when it has
    hints of its own; the exercise's ladder otherwise."""
    task = ex.task(progress.focus(ex.id))
    if task is not None and task.hints:
        return f"{ex.id}:{task.id}", f"task '{task.id}' ({task.title})", task.hints
    return ex.id, "this exercise", ex.hints


def hint(ex: Exercise, progress: Progress, level: int | None = None) -> tuple[int, str]:
    """The hint at ``level`` (1-based), or the next one not yet seen; returns (level, text)."""
    key, _, hints = ladder(ex, progress)
    if level is None:
        level = min(progress.hint_level(key) + 1, len(hints))
    if not 1 <= level <= len(hints):
        raise ValueError(f"{ex.id} has hints 1 to {len(hints)}; there is no hint {level}")
    progress.set_hint_level(key, level)
    return level, hints[level - 1]


def hint_text(ex: Exercise, shown: int, text: str, ask: str,
              progress: Progress | None = None) -> str:
    """The hint as a learner reads it, with what to do next (``ask`` shows the next rung)."""
    _, scope, hints = ladder(ex, progress) if progress is not None else \
        (ex.id, "this exercise", ex.hints)
    where = f"{ex.id}, {scope}" if scope != "this exercise" else ex.id
    lines = [f"Hint {shown}/{len(hints)} for {where}:", f"  {text}"]
    if shown < len(hints):
        lines.append(f"Still stuck? {ask} shows hint {shown + 1}.")
    else:
        last = "task" if scope != "this exercise" else "exercise"
        lines.append(f"That was the last hint for this {last}. Re-read the README task and "
                     "the message your last check gave; your instructor can help from there.")
    return "\n".join(lines)
