"""Landlock through ctypes: confine this process's file access, TCP ports and signals.

Landlock needs neither root nor user namespaces, so it works where bubblewrap cannot (Ubuntu's
AppArmor-restricted user namespaces, nested containers). Rules are inherited by every child.
ABI 1 (Linux 5.13) handles files, 2 file renames across folders, 3 truncation, 4 TCP bind and
connect (not UDP: seccomp covers that), 5 device ioctls, 6 signals and abstract Unix sockets
leaving the domain. A process under Landlock also cannot ptrace (or read ``/proc/<pid>/mem``
of) a process outside its domain.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Syscall numbers are the same on every architecture (they were added after the unification).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_VERSION_FLAG = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
READ = EXECUTE | READ_FILE | READ_DIR
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # rights a file rule may hold
DEVICE = READ_FILE | WRITE_FILE | IOCTL_DEV


class LandlockError(OSError):
    """The kernel refused a Landlock call."""


@dataclass(frozen=True)
class Rules:
    """What a confined process may still do: everything else Landlock knows is denied."""

    read: tuple[str, ...] = ()  # read and execute beneath these paths
    write: tuple[str, ...] = ()  # every file right beneath these paths
    devices: tuple[str, ...] = ()  # read, write and ioctl on these device files
    deny_tcp: bool = True  # no TCP bind or connect (ABI >= 4) ...
    connect_ports: tuple[int, ...] = ()  # ... except connecting to these ports
    scope: bool = True  # no signals or abstract Unix sockets outside the domain (ABI >= 6)


class _NetPort(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> tuple[Callable[..., int], Callable[..., int]]:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    syscall: Callable[..., int] = libc.syscall
    prctl: Callable[..., int] = libc.prctl
    return syscall, prctl


def abi() -> int:
    """The kernel's Landlock ABI version; 0 where Landlock is missing or disabled."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        syscall, _ = _libc()
    except (OSError, AttributeError):
        return 0
    version = syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION_FLAG))
    return max(int(version), 0)


def handled_fs(version: int) -> int:
    """Every file right this ABI version knows (and so can deny)."""
    best = max(v for v in _FS_BY_ABI if v <= version)
    return _FS_BY_ABI[best]


def restrict(rules: Rules, version: int | None = None) -> int:
    """Confine this process (and its future children) to ``rules``; returns the ABI used.

    Paths that do not exist are skipped. Sets ``no_new_privs``, which Landlock requires.
    """
    version = abi() if version is None else version
    if version < 1:
        raise LandlockError(0, "Landlock is not available on this kernel")
    syscall, prctl = _libc()
    fs = handled_fs(version)
    attr = _RulesetAttr(handled_access_fs=fs)
    size = 8
    if version >= 4:
        attr.handled_access_net = (NET_BIND_TCP | NET_CONNECT_TCP) if rules.deny_tcp else 0
        size = 16
    if version >= 6:
        attr.scoped = (SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL) if rules.scope else 0
        size = 24
    ruleset = syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                      ctypes.c_uint32(0))
    if ruleset < 0:
        raise _error("create a Landlock ruleset")
    try:
        _add_paths(syscall, ruleset, rules.read, READ & fs)
        _add_paths(syscall, ruleset, rules.write, fs)
        _add_paths(syscall, ruleset, rules.devices, DEVICE & fs)
        if version >= 4 and rules.deny_tcp:
            for port in rules.connect_ports:
                rule = _NetPort(allowed_access=NET_CONNECT_TCP, port=int(port))
                if syscall(_ADD_RULE, ruleset, _RULE_NET_PORT, ctypes.byref(rule),
                           ctypes.c_uint32(0)) != 0:
                    raise _error(f"allow TCP connections to port {port}")
        if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _error("set no_new_privs")
        if syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise _error("apply the Landlock ruleset")
    finally:
        os.close(ruleset)
    return version


def _add_paths(syscall: Callable[..., int], ruleset: int, paths: Iterable[str],
               access: int) -> None:
    for path in paths:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # e.g. /lib32 on a machine without it
        try:
            allowed = access
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                allowed &= FILE_ONLY
            rule = _PathBeneath(allowed_access=allowed, parent_fd=fd)
            if syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule),
                       ctypes.c_uint32(0)) != 0:
                raise _error(f"allow {path}")
        finally:
            os.close(fd)


def _error(what: str) -> LandlockError:
    err = ctypes.get_errno()
    return LandlockError(err, f"could not {what}: {os.strerror(err)}")
