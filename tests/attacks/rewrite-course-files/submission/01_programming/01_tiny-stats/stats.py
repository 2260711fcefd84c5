"""Attack: rewrite the course's trusted files on disk.

In the plain tier the worker runs as the grader's user, so it can edit the course it is graded
against. Here it replaces the exercise's tests/support.py, so that every hidden input becomes a
list of zeros and a constant 0.0 answer passes the hidden tests (it could as well run any code
in the judge), and appends to the hidden test file.

``TARGETS`` (the paths in the test's scratch copy of the course) is filled in by
tests/test_attacks.py; as shipped it is empty and the module touches nothing.
"""

import errno

TARGETS = {}  # @TARGETS@

for _label, _path in TARGETS.get("write", {}).items():
    try:
        with open(_path, "a", encoding="utf-8") as _fh:
            if _label == "support":
                _fh.write("\n\ndef values(seed, n=7):\n    return [0.0] * n\n")
            else:
                _fh.write("\n# rewritten by the submission\n")
        print(f"OBSERVED write {_label}: written", flush=True)
    except OSError as _exc:
        print(f"OBSERVED write {_label}: {errno.errorcode.get(_exc.errno)}", flush=True)


def mean(values):
    return 0.0


def median(values):
    return 0.0
