"""seccomp through libseccomp and ctypes: deny the system calls a graded submission never needs.

The filter answers with an error (never kills), so a library that probes, say, ``io_uring`` falls
back instead of crashing. It covers what Landlock cannot: UDP and raw sockets, ptrace and
``process_vm_readv``, new namespaces and mounts, kernel keyrings, BPF. The library is opened by
its soname (``ctypes.util.find_library`` would spawn ``ldconfig``: about 35 ms per worker).
"""

from __future__ import annotations

import ctypes
import errno
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LIBRARY = "libseccomp.so.2"
_ALLOW = 0x7FFF0000
_EQ, _GE, _MASKED_EQ = 4, 5, 7
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
SOCK_STREAM = 1
_SOCK_TYPE_MASK = 0xF
_NOT_STREAM = (2, 3, 4, 5, 10)  # DGRAM, RAW, RDM, SEQPACKET, PACKET
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
_CLONE_NEW = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
              0x40000000, 0x00000080)

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "mount_setattr",
    "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
    "open_by_handle_at", "name_to_handle_at",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog",
)


SYSV_IPC = ("shmget", "msgget", "semget", "ipc")


class SeccompError(OSError):
    """libseccomp is missing or refused the filter."""


@dataclass(frozen=True)
class Policy:
    """Which sockets a confined process may open; the rest of the filter is fixed."""

    inet: str = "deny"  # "deny", "stream" (TCP only: no UDP or raw) or "allow"
    unix: bool = True  # socket(AF_UNIX); socketpair() is always allowed
    # System V shared memory, queues and semaphores outlive their process: deny them where the
    # IPC namespace outlives the unit (tier B: the machine's; a warm template's: its units')
    sysv_ipc: bool = True


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _load_library() -> Any:
    lib = ctypes.CDLL(LIBRARY, use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def available() -> bool:
    """Whether libseccomp can be loaded here."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        _load_library()
    except OSError:
        return False
    return True


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


def install(policy: Policy) -> None:
    """Load the filter into this process; it holds for every child. Sets ``no_new_privs``."""
    try:
        lib = _load_library()
    except OSError as exc:
        raise SeccompError(0, f"{LIBRARY} could not be loaded: {exc}") from None
    ctx = lib.seccomp_init(_ALLOW)
    if not ctx:
        raise SeccompError(0, "seccomp_init failed")
    try:
        add = _rule_adder(lib, ctx)
        for name in DENIED:
            add(name, errno.EPERM)
        if not policy.sysv_ipc:
            for name in SYSV_IPC:
                add(name, errno.EPERM)
        add("clone3", errno.ENOSYS)  # its flags sit in memory; libc falls back to clone()
        for flag in _CLONE_NEW:
            add("clone", errno.EPERM, (0, _MASKED_EQ, flag, flag))
        for family in _denied_families(policy):
            add("socket", errno.EACCES, (0, _EQ, family, 0))
        add("socket", errno.EACCES, (0, _GE, AF_NETLINK + 1, 0))
        if policy.inet == "stream":
            for family in (AF_INET, AF_INET6):
                for kind in _NOT_STREAM:
                    add("socket", errno.EACCES, (0, _EQ, family, 0),
                        (1, _MASKED_EQ, _SOCK_TYPE_MASK, kind))
        if lib.seccomp_load(ctx) != 0:
            raise SeccompError(ctypes.get_errno(), "seccomp_load refused the filter")
    finally:
        lib.seccomp_release(ctx)


def _denied_families(policy: Policy) -> list[int]:
    allowed = {AF_NETLINK} | ({AF_UNIX} if policy.unix else set())
    if policy.inet != "deny":
        allowed |= {AF_INET, AF_INET6}
    return [family for family in range(AF_NETLINK + 1) if family not in allowed]


def _rule_adder(lib: Any, ctx: int) -> Callable[..., None]:
    def add(name: str, code: int, *compares: tuple[int, int, int, int]) -> None:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:
            return  # not a system call on this architecture
        array = (_ArgCmp * max(len(compares), 1))(*[_ArgCmp(*c) for c in compares])
        result = lib.seccomp_rule_add_array(ctx, _errno_action(code), number, len(compares),
                                            array)
        if result != 0:
            raise SeccompError(-result, f"libseccomp refused the rule for {name}()")

    return add
