"""Attack (a known gap of the plain tier): a daemon in its own session that execs a program
with an empty environment, so neither its command line nor its environment names the worker."""

import os
from pathlib import Path

SCRATCH = Path(os.environ["HOME"]).parent.parent.parent


def mean(values):
    if os.fork() == 0:
        os.setsid()
        if os.fork():
            os._exit(0)
        (SCRATCH / f"daemon-{os.getpid()}.pid").write_text(str(os.getpid()))
        os.execve("/bin/sleep", ["sleep", "8"], {})
    return 0


def median(values):
    return 0
