"""Attack: look for the running test's name, the seed or an expected value in the environment and
command line, to answer only the tests it can recognise."""

import os


def _clues():
    found = {k: v for k, v in os.environ.items()
             if k.startswith(("PYTEST", "GRADER")) or "SEED" in k.upper()}
    try:
        with open("/proc/self/cmdline", "rb") as fh:
            found["cmdline"] = fh.read().decode("utf-8", "replace")
    except OSError:
        pass
    return found


def mean(values):
    clues = _clues()
    if "PYTEST_CURRENT_TEST" in clues:  # never set in a worker
        return 3.0
    return float(len(clues))


def median(values):
    return mean(values)
