"""Attack: read the hidden tests, the reference solution and the grader's environment by
absolute path, and answer with the reference solution's functions.

``TARGETS`` is filled in by tests/test_attacks.py with the fixture course's real paths; as
shipped it is empty and the module does nothing.
"""

import errno

TARGETS = {}  # @TARGETS@

_reference = {}


def _observe(label, path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        print(f"OBSERVED {label}: {errno.errorcode.get(exc.errno, exc.errno)}", flush=True)
        return None
    print(f"OBSERVED {label}: read", flush=True)
    return text


for _label, _path in TARGETS.get("read", {}).items():
    _text = _observe(_label, _path)
    if _label == "solution" and _text:
        exec(compile(_text, "reference", "exec"), _reference)


def mean(values):
    if "mean" in _reference:
        return _reference["mean"](values)
    return 0


def median(values):
    if "median" in _reference:
        return _reference["median"](values)
    return 0
