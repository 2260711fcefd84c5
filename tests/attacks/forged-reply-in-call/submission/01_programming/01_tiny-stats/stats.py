"""Attack: from inside a call, forge the answer to the request being served, then stall.

median() forges 3.0, the public test's answer, whatever the input: a forged line can only
choose a return value, so it earns exactly what returning 3.0 would (the public median test).
"""

import json
import os
import stat
import sys
import time


def _protocol_fd():
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in (0, 1, 2) or not stat.S_ISFIFO(os.fstat(fd).st_mode):
            continue
        with open(f"/proc/self/fdinfo/{fd}") as info:
            if int(info.read().split("flags:")[1].split()[0], 8) & os.O_WRONLY:
                return fd
    return None


def _request_id():
    frame = sys._getframe(1)
    while frame is not None:
        header = frame.f_locals.get("header")
        if type(header) is dict and "id" in header:
            return header["id"]
        frame = frame.f_back
    return None


def mean(values):
    return 0


def median(values):
    fd, request = _protocol_fd(), _request_id()
    if fd is not None and request is not None:
        os.write(fd, json.dumps({"id": request, "ok": True, "value": 3.0, "blobs": []}).encode()
                 + b"\n")
        time.sleep(0.3)
    return "the real answer arrives too late"
