"""Gradescope's ``results.json``: one test entry per graded test, scores and learner messages.

Gradescope renders ``output`` by its format: ``simple_format`` (the top-level default) and
``html`` take HTML, ``md`` Markdown, ``ansi`` colour escapes. Every output and name here is
declared ``text`` (shown as written, nothing rendered) and goes through ``safe_text`` first, so
a learner's message or printed output can neither inject markup nor terminal escapes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.engine.results import RunResult
from grader.reports.safe_text import shown, shown_line

LABEL = {"passed": "passed", "failed": "failed", "error": "error", "timeout": "timed out",
         "not_attempted": "not attempted"}
OUTPUT_CAP = 8000
FORMAT = "text"  # never html, simple_format, md or ansi: learner text is in every field


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
            tests.append({"name": shown_line(f"{ex.id}: could not be graded"),
                          "name_format": FORMAT, "number": f"{i}.0",
                          "score": 0.0, "max_score": 0.0, "status": "failed",
                          "output": shown(ex.message[:OUTPUT_CAP]), "output_format": FORMAT,
                          "tags": [ex.skill], "visibility": "visible"})
        for j, t in enumerate(ex.tests, start=1):
            if t.status == "pending":  # a person grades it in Gradescope: never a lost point
                tests.append({"name": shown_line(f"{ex.id} / {t.name}"), "name_format": FORMAT,
                              "number": f"{i}.{j}", "score": 0.0, "max_score": 0.0,
                              "output": shown(f"{t.message[:OUTPUT_CAP]} "
                                              f"({t.max_score:g} points)"),
                              "output_format": FORMAT,
                              "tags": [ex.skill, "manual"], "visibility": "visible"})
                continue
            output = t.message
            if t.output.strip():
                output += f"\n\nYour code printed:\n{t.output}"
            entry: dict[str, Any] = {
                "name": shown_line(f"{ex.id} / {t.task or '-'} / {t.name}"),
                "name_format": FORMAT, "number": f"{i}.{j}",
                "score": t.score, "max_score": t.max_score,
                "status": "passed" if t.status == "passed" else "failed",
                "output": shown((f"{LABEL.get(t.status, t.status)}. {output}".strip()
                                 if t.status != "passed" else output.strip())[:OUTPUT_CAP]),
                "output_format": FORMAT,
                "tags": [ex.skill, *([shown_line(t.task)] if t.task else [])],
                "visibility": hidden_visibility if t.hidden else "visible",
            }
            tests.append(entry)
    env = run.environment
    seed = env.get("seed", "?")
    return {
        "score": run.score,
        "execution_time": round(sum(ex.duration for ex in run.exercises), 1),
        "output": shown("\n".join(lines) + f"\n\ngrader {env.get('grader', '?')}, seed {seed}"),
        "output_format": FORMAT, "test_output_format": FORMAT, "test_name_format": FORMAT,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"max_score": run.max_score, "seed": seed,
                       "grader": env.get("grader", ""), "isolation": env.get("isolation", "")},
    }


def write_gradescope(run: RunResult, path: Path) -> None:
    """Write ``results.json`` (Gradescope reads exactly one JSON document from it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_gradescope(run), indent=2) + "\n", encoding="utf-8")
