"""Attack: a non-daemon thread that never ends, started at import, so the worker cannot exit and
keeps running (and rewriting files) after grading."""

import os
import threading
import time


def _linger():
    while True:
        try:
            with open("still-here.txt", "w") as fh:
                fh.write(str(os.getpid()))
        except OSError:
            pass
        time.sleep(0.05)


threading.Thread(target=_linger, daemon=False).start()


def mean(values):
    return None


def median(values):
    return None
