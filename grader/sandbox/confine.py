"""Inside a worker, before any learner code: give up root, cap processes, apply Landlock, seccomp.

The parent (:mod:`grader.sandbox.isolation`) decides what the worker may do and passes it in the
worker's configuration; this module only carries it out, in the order the kernel requires:
privileges first (Landlock and seccomp set ``no_new_privs``), then the filters. Failing to
apply any part is fatal: a worker never runs learner code with less isolation than reported.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from typing import Any

from grader.sandbox import landlock, portforward, seccomp

_PR_SET_PDEATHSIG = 1
_PR_SET_KEEPCAPS = 8
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE = 47, 2
_CAP_DAC_READ_SEARCH = 2
_CAPABILITY_V3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def apply(plan: dict[str, Any], folder: str) -> None:
    """Carry out the parent's isolation plan for the worker whose submission is ``folder``."""
    uid = plan.get("uid")
    if uid is not None and os.getuid() == 0:
        parent = os.getppid()
        _drop_root(int(uid), keep_read_search=bool(plan.get("keep_read_search")))
        # A change of uid clears the parent-death signal: set it again, so that the worker
        # still dies with a grader killed by SIGKILL (tier B; in tier A bwrap holds it too).
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
    if plan.get("nproc"):
        limit = int(plan["nproc"])
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    if plan.get("input"):
        _copy_tree(str(plan["input"]), folder)
    os.makedirs(os.path.join(os.path.dirname(folder), "home"), exist_ok=True)
    rules = plan.get("landlock")
    if rules:
        landlock.restrict(landlock.Rules(
            read=tuple(rules["read"]), write=tuple(rules["write"]),
            devices=tuple(rules["devices"]), deny_tcp=bool(rules["deny_tcp"]),
            connect_ports=tuple(int(p) for p in rules.get("connect_ports", ())),
            scope=bool(rules["scope"])))
    policy = plan.get("seccomp")
    if policy:
        seccomp.install(seccomp.Policy(inet=str(policy["inet"]), unix=bool(policy["unix"]),
                                       sysv_ipc=bool(policy.get("sysv_ipc", True))))
    forward = plan.get("forward")
    if forward:  # confined already: the relay threads run under the same rules
        portforward.serve_inside(str(forward["dir"]), [int(p) for p in forward["ports"]])


def _copy_tree(source: str, dest: str) -> None:
    """Copy the read-only submission into the writable sandbox (shutil costs 4 ms to import)."""
    if not os.path.isdir(source):
        raise FileNotFoundError(f"the submission's copy {source} is missing")
    for here, folders, files in os.walk(source):
        target = os.path.join(dest, os.path.relpath(here, source))
        os.makedirs(target, exist_ok=True)
        for name in files:
            with open(os.path.join(here, name), "rb") as src, \
                    open(os.path.join(target, name), "wb") as out:
                out.write(src.read())
        folders.sort()


def _drop_root(uid: int, keep_read_search: bool) -> None:
    """Become ``uid`` for good; optionally keep only the right to read and search any folder.

    Keeping ``CAP_DAC_READ_SEARCH`` (as an ambient capability, so node or Rscript keep it too)
    lets an unprivileged worker reach a Python installed under a private folder such as
    ``/root/.pyenv``; Landlock still decides what it may read, and seccomp denies
    ``open_by_handle_at``, the one call that would bypass Landlock with it.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if keep_read_search and libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "could not keep capabilities across setuid")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if not keep_read_search:
        return
    bit = 1 << _CAP_DAC_READ_SEARCH
    data = (_CapData * 2)(_CapData(bit, bit, bit), _CapData(0, 0, 0))
    if libc.capset(ctypes.byref(_CapHeader(_CAPABILITY_V3, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "could not set the worker's capabilities")
    if libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, _CAP_DAC_READ_SEARCH, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "could not pass the read capability to children")
    libc.prctl(_PR_SET_KEEPCAPS, 0, 0, 0, 0)
