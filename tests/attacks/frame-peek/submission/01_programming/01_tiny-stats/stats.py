"""Attack: look for the expected answer in the caller's frames, the gc heap and sys.modules."""

import gc
import sys

NAMES = ("expected", "want", "answer", "correct", "statistics")


def _peek():
    frame = sys._getframe(1)
    while frame is not None:
        for name in NAMES:
            if name in frame.f_locals and type(frame.f_locals[name]) in (int, float):
                return frame.f_locals[name]
        frame = frame.f_back
    for obj in gc.get_objects():
        if type(obj) is dict and "expected" in obj and type(obj["expected"]) in (int, float):
            return obj["expected"]
    for name, module in list(sys.modules.items()):
        if "test" in name and hasattr(module, "EXPECTED"):
            return module.EXPECTED
    return -1.0  # nothing found: the worker never holds an expected value


def mean(values):
    return _peek()


def median(values):
    return _peek()
