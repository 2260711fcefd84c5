"""The submission worker: imports learner modules and answers calls with plain data only.

Runs in its own process, started by :mod:`grader.engine.proxy`. It moves the real stdout to a
private descriptor before any learner code runs, so prints cannot reach the protocol; everything
the learner prints goes to stderr, which the parent captures with a cap. Nothing here is trusted by
the parent: learner code can reach every object in this process, so whatever the worker sends
is only ever a value for the parent to judge.

Submission files are imported from source only (a path hook for the submission folder), so a
smuggled ``.pyc`` or native module is never run; libraries keep their normal bytecode caches,
which a per-worker ``pycache_prefix`` would throw away (``import pandas`` 0.9 s -> 4.4 s).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, BinaryIO

MAX_HEADER = 16 * 1024 * 1024
MAX_TEXT = 2000


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Loads a submission module from its source: never from or into a bytecode cache."""

    def path_stats(self, path: str) -> Mapping[str, Any]:
        """Refuse, so that ``get_code`` neither trusts nor writes a ``.pyc``."""
        raise OSError("bytecode caching is off for submission files")


def _source_only_hook(root: str) -> Callable[[str], importlib.machinery.FileFinder]:
    """A path hook serving the submission folder from ``.py`` sources only (no .pyc, no .so)."""

    def hook(path: str) -> importlib.machinery.FileFinder:
        real = os.path.realpath(path or ".")
        if real != root and not real.startswith(root + os.sep):
            raise ImportError("not in the submission's folder")
        return importlib.machinery.FileFinder(path, (_SourceOnlyLoader, [".py"]))

    return hook


def _read_message(stream: BinaryIO) -> tuple[dict[str, Any], list[bytes]] | None:
    line = stream.readline(MAX_HEADER)
    if not line:
        return None
    header = json.loads(line)
    blobs = [stream.read(n) for n in header.get("blobs", [])]
    return header, blobs


def _flush_learner_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # learner code may have replaced them
            stream.flush()


def _send(stream: BinaryIO, header: dict[str, Any], blobs: list[bytes]) -> None:
    from grader.engine.plaindata import dumps_message

    _flush_learner_streams()
    try:
        data = dumps_message(header, blobs)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. an int longer than Python's 4300-digit conversion limit
        data = dumps_message(dict(_error("not_plain", f"the return value could not be sent: "
                                         f"{_safe_text(exc)}"), id=header.get("id")), [])
    stream.write(data)
    stream.flush()


def _safe_text(value: object, limit: int = MAX_TEXT) -> str:
    """``str(value)`` that survives a learner's broken ``__str__`` and is capped."""
    try:
        text = str(value)
        if type(text) is not str:
            raise TypeError
    except BaseException:  # a learner exception's __str__ may raise anything
        return "(its message could not be shown)"
    return text if len(text) <= limit else text[:limit] + "..."


def _type_name(exc: BaseException) -> str:
    try:
        name = type(exc).__name__
    except BaseException:
        name = ""
    return name if type(name) is str and name else "Exception"


class _Paths:
    """Turns the worker's private paths into names a learner recognises."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.home = os.path.join(os.path.dirname(root), "home")

    def clean(self, text: str) -> str:
        """Replace the submission folder by relative names and the private home by ``~``."""
        return (text.replace(self.root + os.sep, "").replace(self.root, ".")
                .replace(self.home, "~"))


def _learner_trace(exc: BaseException, paths: _Paths) -> str:
    """Traceback lines from the learner's own files only, named relative to the submission."""
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(paths.root + os.sep):
            name = os.path.relpath(frame.filename, paths.root)
            if name == "_course_harness.py":  # course code, not the learner's
                continue
            lines.append(f"  {name}, line {frame.lineno}, in {frame.name}")
            if frame.line:
                lines.append(f"    {frame.line}")
    return "\n".join(lines[-40:])


def _raising_learner_function(exc: BaseException, paths: _Paths) -> str:
    """The innermost learner function in a traceback (a harness may have called it)."""
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(paths.root + os.sep) and \
                os.path.basename(frame.filename) != "_course_harness.py":
            found = frame.name
    return found


def _error(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": dict(extra, kind=kind, message=message)}


def _exception_error(exc: BaseException, paths: _Paths) -> dict[str, Any]:
    try:
        return _describe_exception(exc, paths)
    except BaseException:  # e.g. MemoryError again while describing a MemoryError
        name = "MemoryError" if isinstance(exc, MemoryError) else "Exception"
        return _error("exception", name, exc_type=name, exc_message="", trace="")
    finally:
        if exc.__traceback__ is not None:  # release the learner's frames (and their memory)
            traceback.clear_frames(exc.__traceback__)


def _describe_exception(exc: BaseException, paths: _Paths) -> dict[str, Any]:
    name = _type_name(exc)
    if isinstance(exc, SyntaxError) and isinstance(exc.filename, str):
        where = (os.path.relpath(exc.filename, paths.root)
                 if exc.filename.startswith(paths.root + os.sep) else "an imported module")
        msg = _safe_text(exc.msg)
        return _error("exception", f"{name} in {where}, line {exc.lineno}: {msg}",
                      exc_type=name, exc_message=msg, trace=_syntax_trace(exc, where))
    text = paths.clean(_safe_text(exc))
    return _error("exception", f"{name}: {text}" if text else name, exc_type=name,
                  exc_message=text, trace=_learner_trace(exc, paths))


def _syntax_trace(exc: SyntaxError, where: str) -> str:
    """The offending line with a caret under the column Python points at."""
    line = _safe_text(exc.text or "", 300).rstrip("\n")
    code = line.lstrip()
    if not code:
        return ""
    column = (exc.offset or 1) - 1 - (len(line) - len(code))
    caret = " " * min(max(column, 0), len(code)) + "^"
    return f"  {where}, line {exc.lineno}\n    {code.rstrip()}\n    {caret}"


def _import_all(names: list[str], paths: _Paths) -> tuple[dict[str, ModuleType],
                                                          dict[str, Any] | None]:
    modules: dict[str, ModuleType] = {}
    for name in names:
        if not os.path.exists(os.path.join(paths.root, name + ".py")):
            return modules, _error("missing_file", f"{name}.py is missing from the submission")
        if name in sys.modules:  # e.g. io.py: Python's own module would answer instead
            return modules, _error("import", f"{name}.py has the name of a Python module the "
                                   "grader already uses; the course must rename it",
                                   module=name, trace="")
        try:
            modules[name] = importlib.import_module(name)
        except BaseException as exc:  # a learner import may raise anything
            err = _exception_error(exc, paths)
            err["error"]["kind"] = "import"
            err["error"]["module"] = name
            return modules, err
    return modules, None


def _call(modules: dict[str, ModuleType], header: dict[str, Any], blobs: list[bytes],
          paths: _Paths) -> tuple[dict[str, Any], list[bytes]]:
    from grader.engine.plaindata import NotPlainData, decode, encode

    module = modules.get(header["module"])
    name = header["name"]
    if module is None:
        return _error("no_module", f"{header['module']}.py is not one of this exercise's "
                                   "modules"), []
    try:
        func = getattr(module, name, None)
        found = callable(func)
    except BaseException as exc:  # a module __getattr__ is learner code
        return _exception_error(exc, paths), []
    if header["op"] == "has":
        return {"ok": True, "value": found}, []
    if not found or func is None:
        return _error("missing", f"{header['module']}.py has no function {name}()"), []
    args, kwargs = decode(header["args"], blobs)
    try:
        result = func(*args, **kwargs)
    except NotImplementedError as exc:
        text = _safe_text(exc)
        where = _raising_learner_function(exc, paths) or name
        traceback.clear_frames(exc.__traceback__)
        return _error("not_implemented", text or f"{where}() still raises NotImplementedError: "
                      "not attempted yet"), []
    except BaseException as exc:  # SystemExit and friends are learner errors too
        return _exception_error(exc, paths), []
    try:
        encoded = encode(result)
    except NotPlainData as exc:
        return _error("not_plain", str(exc).replace("value", "the return value", 1)), []
    except BaseException as exc:  # a fake numpy/pandas type's methods may raise
        return _error("not_plain", f"the return value could not be converted to plain data "
                                   f"({_type_name(exc)}: {paths.clean(_safe_text(exc, 200))})"), []
    return {"ok": True, "value": encoded.tree}, encoded.blobs


def main() -> None:
    """Serve calls until the parent closes the pipe."""
    config = json.loads(sys.argv[1])
    proto_out = os.fdopen(os.dup(1), "wb")
    proto_in = os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    if config.get("confine"):
        try:
            from grader.sandbox import confine

            confine.apply(config["confine"], config["dir"])
        except BaseException as exc:  # never run learner code less isolated than reported
            _send(proto_out, dict(_error("isolation", f"{_type_name(exc)}: {_safe_text(exc)}"),
                                  id=0), [])
            return
    root = os.path.realpath(config["dir"])
    paths = _Paths(root)
    sys.path_hooks.insert(0, _source_only_hook(root))
    sys.path_importer_cache.clear()
    sys.path.insert(0, root)
    os.chdir(root)
    import grader.engine.plaindata  # noqa: F401 - loaded before any learner code runs

    modules, failure = _import_all(config["modules"], paths)
    _send(proto_out, dict(failure or {"ok": True, "value": "ready"}, id=0), [])
    if failure:
        return
    while True:
        message = _read_message(proto_in)
        if message is None:
            return
        header, blobs = message
        reply, out_blobs = _call(modules, header, blobs, paths)
        reply["id"] = header["id"]
        _send(proto_out, reply, out_blobs)


if __name__ == "__main__":
    main()
