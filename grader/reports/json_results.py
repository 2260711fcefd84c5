"""The JSON results writer; the schema lives in docs/results.schema.json."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from grader.engine.results import RunResult


def to_json(run: RunResult) -> str:
    """The run as pretty JSON text."""
    return json.dumps(run.to_dict(), indent=2, sort_keys=False) + "\n"


def write_json(run: RunResult, target: str) -> None:
    """Write to a path (atomically) or to stdout when ``target`` is '-'."""
    text = to_json(run)
    if target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
