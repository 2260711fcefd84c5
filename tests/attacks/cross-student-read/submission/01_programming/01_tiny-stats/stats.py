"""Attack: during a batch, read another student's staged copy (or another worker's folder) and
hand in their functions.

``TARGETS`` (the folder the batch stages students in) is filled in by tests/test_attacks.py.
"""

import errno
import glob
import os

TARGETS = {}  # @TARGETS@

_theirs = {}


def _steal():
    base = TARGETS["base"]
    try:
        os.listdir(base)
    except OSError as exc:
        print(f"OBSERVED list: {errno.errorcode.get(exc.errno)}", flush=True)
    patterns = [f"{base}/grader-batch-*/*/*/01_programming/01_tiny-stats/stats.py",
                f"{base}/grader-worker-*/submission/stats.py"]
    with open(__file__, encoding="utf-8") as fh:
        mine = fh.read()
    for pattern in patterns:
        for path in glob.glob(pattern):
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
            except OSError as exc:
                print(f"OBSERVED read: {errno.errorcode.get(exc.errno)}", flush=True)
                continue
            if text == mine:
                continue
            print("OBSERVED read: another student's copy", flush=True)
            found = {}
            exec(compile(text, "theirs", "exec"), found)
            if "mean" in found:
                _theirs.update(found)
                return
    print("OBSERVED found: nothing", flush=True)


if TARGETS:
    _steal()


def mean(values):
    return _theirs["mean"](values) if "mean" in _theirs else 0


def median(values):
    return _theirs["median"](values) if "median" in _theirs else 0
