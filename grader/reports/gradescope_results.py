"""Gradescope's ``results.json``: one test entry per graded test, scores and learner messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.engine.results import RunResult

LABEL = {"passed": "passed", "failed": "failed", "error": "error", "timeout": "timed out",
         "not_attempted": "not attempted"}
OUTPUT_CAP = 8000


def to_gradescope(run: RunResult, hidden_visibility: str = "after_published") -> dict[str, Any]:
    """The run in Gradescope's format (autograder_samples docs/specs.md).

    Public tests are ``visible``; hidden tests get ``hidden_visibility`` (default: shown once
    grades are published), so learners see their public results at once.
    """
    tests: list[dict[str, Any]] = []
    lines = []
    for i, ex in enumerate(run.exercises, start=1):
        lines.append(f"{ex.id}: {ex.score:g}/{ex.max_score:g} ({ex.status.replace('_', ' ')})"
                     + (f": {ex.message}" if ex.message and ex.tests else ""))
        if ex.message and not ex.tests:
            tests.append({"name": f"{ex.id}: could not be graded", "number": f"{i}.0",
                          "score": 0.0, "max_score": 0.0, "status": "failed",
                          "output": ex.message[:OUTPUT_CAP], "tags": [ex.skill],
                          "visibility": "visible"})
        for j, t in enumerate(ex.tests, start=1):
            if t.status == "pending":  # a person grades it in Gradescope: never a lost point
                tests.append({"name": f"{ex.id} / {t.name}", "number": f"{i}.{j}",
                              "score": 0.0, "max_score": 0.0,
                              "output": f"{t.message} ({t.max_score:g} points)",
                              "tags": [ex.skill, "manual"], "visibility": "visible"})
                continue
            output = t.message
            if t.output.strip():
                output += f"\n\nYour code printed:\n{t.output}"
            entry: dict[str, Any] = {
                "name": f"{ex.id} / {t.task or '-'} / {t.name}", "number": f"{i}.{j}",
                "score": t.score, "max_score": t.max_score,
                "status": "passed" if t.status == "passed" else "failed",
                "output": (f"{LABEL.get(t.status, t.status)}. {output}".strip()
                           if t.status != "passed" else output.strip())[:OUTPUT_CAP],
                "tags": [ex.skill, *([t.task] if t.task else [])],
                "visibility": hidden_visibility if t.hidden else "visible",
            }
            tests.append(entry)
    env = run.environment
    seed = env.get("seed", "?")
    return {
        "score": run.score,
        "execution_time": round(sum(ex.duration for ex in run.exercises), 1),
        "output": "\n".join(lines) + f"\n\ngrader {env.get('grader', '?')}, seed {seed}",
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"max_score": run.max_score, "seed": seed,
                       "grader": env.get("grader", ""), "isolation": env.get("isolation", "")},
    }


def write_gradescope(run: RunResult, path: Path) -> None:
    """Write ``results.json`` (Gradescope reads exactly one JSON document from it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_gradescope(run), indent=2) + "\n", encoding="utf-8")
