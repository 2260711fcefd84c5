"""Attack: double-fork a daemon in its own session that outlives the worker and forges files."""

import json
import os
import time
from pathlib import Path

# HOME is <worker folder>/home; the test's scratch folder is two levels above the worker folder.
SCRATCH = Path(os.environ["HOME"]).parent.parent.parent


def _daemon():
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    (SCRATCH / f"daemon-{os.getpid()}.pid").write_text(str(os.getpid()))
    stop = time.monotonic() + 20  # bounded, in case the grader misses it
    while time.monotonic() < stop:
        time.sleep(0.05)
        (SCRATCH / "forged-results.json").write_text(json.dumps({"score": 6.0}))
    os._exit(0)


def mean(values):
    _daemon()
    return 0


def median(values):
    return 0
