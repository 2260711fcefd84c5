"""Attack: signal the grader's process (a real attack would send SIGKILL or SIGSTOP; this one
sends signal 0, which only checks permission, and SIGURG, which Python ignores).

``TARGETS`` (the grader's pid) is filled in by tests/test_attacks.py.
"""

import errno
import os
import signal

TARGETS = {}  # @TARGETS@


def _signal():
    for signum in (0, signal.SIGURG):
        try:
            os.kill(TARGETS["grader"], signum)
            print(f"OBSERVED signal {int(signum)}: delivered", flush=True)
        except OSError as exc:
            print(f"OBSERVED signal {int(signum)}: {errno.errorcode.get(exc.errno)}", flush=True)


def mean(values):
    if TARGETS:
        _signal()
    return 0


def median(values):
    return 0
