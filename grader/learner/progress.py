"""A small progress file beside the course: last statuses and how far up each hint ladder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from grader.engine.results import RunResult


def last_scores(root: Path) -> list[tuple[str, float, float, str]]:
    """(exercise, score, max, status) from the last `make grade` (``.grader/progress.json``)."""
    rows = []
    for ex_id, entry in sorted(Progress(root).data["status"].items()):
        if isinstance(entry, dict) and "score" in entry:
            rows.append((ex_id, float(entry["score"]), float(entry["max_score"]),
                         str(entry.get("status", ""))))
    return rows


class Progress:
    """Reads and writes ``.grader/progress.json``; a damaged file is set aside, not fatal."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".grader" / "progress.json"
        self.data: dict[str, Any] = {"status": {}, "hints": {}}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if type(loaded) is dict:
                self.data["status"] = dict(loaded.get("status", {}))
                self.data["hints"] = dict(loaded.get("hints", {}))
        except (OSError, ValueError, TypeError):
            pass

    def status(self, ex_id: str) -> str:
        """The exercise's status at the last run, or an empty string."""
        entry = self.data["status"].get(ex_id, {})
        return str(entry.get("status", "")) if type(entry) is dict else ""

    def score(self, ex_id: str) -> str:
        """The last score as 'got/max', or an empty string."""
        entry = self.data["status"].get(ex_id, {})
        if type(entry) is not dict or "score" not in entry:
            return ""
        return f"{entry['score']:g}/{entry['max_score']:g}"

    def record_run(self, run: RunResult) -> None:
        """Remember each graded exercise's status and score."""
        for ex in run.exercises:
            problem = ex.first_problem()
            self.data["status"][ex.id] = {"status": ex.status, "score": ex.score,
                                          "max_score": ex.max_score,
                                          "focus": problem.task if problem else ""}
        self.save()

    def focus(self, ex_id: str) -> str:
        """The task the last check pointed the learner at (what its next: line named)."""
        entry = self.data["status"].get(ex_id, {})
        return str(entry.get("focus", "")) if type(entry) is dict else ""

    def hint_level(self, ex_id: str) -> int:
        """How many hints of this exercise the learner has seen."""
        level = self.data["hints"].get(ex_id, 0)
        return level if type(level) is int else 0

    def set_hint_level(self, ex_id: str, level: int) -> None:
        """Remember the highest hint seen."""
        self.data["hints"][ex_id] = max(level, self.hint_level(ex_id))
        self.save()

    def save(self) -> None:
        """Write atomically so an interrupted run never leaves a half file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.data, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.path)
