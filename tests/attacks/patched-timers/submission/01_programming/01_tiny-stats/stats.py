"""Attack: freeze every clock and disarm alarms at import, then loop, hoping a timeout that is
measured inside this process never fires."""

import signal
import time

for name in ("monotonic", "perf_counter", "time", "process_time"):
    setattr(time, name, lambda: 0.0)
    setattr(time, name + "_ns", lambda: 0)
signal.alarm = lambda seconds: 0
signal.setitimer = lambda *args, **kwargs: (0.0, 0.0)


def mean(values):
    while True:
        pass


def median(values):
    while True:
        pass
