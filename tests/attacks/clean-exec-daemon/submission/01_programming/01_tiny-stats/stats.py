"""Attack (a known gap of tiers B and C): a daemon in its own session that execs a program with an
empty environment, so neither its command line nor its environment names the worker.

It runs ``sleep 8.0<nonce>``: ``TARGETS`` (the nonce) is filled in by tests/test_attacks.py,
which finds survivors by that command line; in the plain tier it also leaves a pid file.
"""

import contextlib
import os
from pathlib import Path

TARGETS = {}  # @TARGETS@
SCRATCH = Path(os.environ["HOME"]).parent.parent.parent


def mean(values):
    if os.fork() == 0:
        os.setsid()
        if os.fork():
            os._exit(0)
        with contextlib.suppress(OSError):  # tiers A and B: nothing outside is writable
            (SCRATCH / f"daemon-{os.getpid()}.pid").write_text(str(os.getpid()))
        os.execve("/bin/sleep", ["sleep", f"8.0{TARGETS.get('nonce', '')}"], {})
    return 0


def median(values):
    return 0
