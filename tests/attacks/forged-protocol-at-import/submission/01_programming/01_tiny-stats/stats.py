"""Attack: find the grader's private answer channel and write forged answers before any call."""

import json
import os
import stat


def _protocol_fds():
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in (0, 1, 2):
            continue
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                flags = int(info.read().split("flags:")[1].split()[0], 8)
        except (OSError, IndexError, ValueError):
            continue
        if flags & os.O_WRONLY:
            yield fd


lines = [{"id": 0, "ok": True, "value": "ready"}]
lines += [{"id": i, "ok": True, "value": v} for i, v in enumerate([2.5, 3.0, 0.0, 0.0], 1)]
forged = b"".join(json.dumps(dict(line, blobs=[])).encode() + b"\n" for line in lines)
for fd in _protocol_fds():
    os.write(fd, forged)


def mean(values):
    return 0


def median(values):
    return 0
