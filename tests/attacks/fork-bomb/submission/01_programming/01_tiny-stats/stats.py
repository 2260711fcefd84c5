"""Attack: a fork bomb. Bounded (at most 300 children, for at most 2.5 s) so that running the
corpus in a tier that does not stop it cannot exhaust a shared machine's process table."""

import errno
import os
import time


def mean(values):
    made, stop, why = 0, time.monotonic() + 2.5, "not stopped"
    while made < 300 and time.monotonic() < stop:
        try:
            pid = os.fork()
        except OSError as exc:
            why = errno.errorcode.get(exc.errno, str(exc.errno))
            break
        if pid == 0:
            time.sleep(20)
            os._exit(0)
        made += 1
    print(f"OBSERVED fork: {why} after {made} children", flush=True)
    return 0


def median(values):
    return 0
