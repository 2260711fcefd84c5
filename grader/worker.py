"""The submission worker: imports learner modules and answers calls with plain data only.

Runs in its own process, started by :mod:`grader.proxy`. It moves the real stdout to a private
descriptor before any learner code runs, so prints cannot reach the protocol; everything the
learner prints goes to stderr, which the parent captures with a cap.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from types import ModuleType
from typing import Any, BinaryIO

MAX_HEADER = 16 * 1024 * 1024


def _read_message(stream: BinaryIO) -> tuple[dict[str, Any], list[bytes]] | None:
    line = stream.readline(MAX_HEADER)
    if not line:
        return None
    header = json.loads(line)
    blobs = [stream.read(n) for n in header.get("blobs", [])]
    return header, blobs


def _send(stream: BinaryIO, header: dict[str, Any], blobs: list[bytes]) -> None:
    from grader.plaindata import dumps_message

    sys.stdout.flush()
    sys.stderr.flush()
    stream.write(dumps_message(header, blobs))
    stream.flush()


def _learner_trace(exc: BaseException, root: str) -> str:
    """Traceback lines from the learner's own files only, named relative to the submission."""
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root + os.sep):
            name = os.path.relpath(frame.filename, root)
            lines.append(f'  {name}, line {frame.lineno}, in {frame.name}')
            if frame.line:
                lines.append(f"    {frame.line}")
    return "\n".join(lines)


def _error(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": dict(extra, kind=kind, message=message)}


def _exception_error(exc: BaseException, root: str) -> dict[str, Any]:
    text = str(exc)
    if len(text) > 2000:
        text = text[:2000] + "..."
    if isinstance(exc, SyntaxError) and exc.filename:
        where = os.path.relpath(exc.filename, root) if exc.filename.startswith(root) else ""
        return _error("exception", f"SyntaxError in {where}, line {exc.lineno}: {exc.msg}",
                      exc_type="SyntaxError", exc_message=exc.msg or "",
                      trace=(exc.text or "").rstrip())
    return _error("exception", f"{type(exc).__name__}: {text}", exc_type=type(exc).__name__,
                  exc_message=text, trace=_learner_trace(exc, root))


def _import_all(names: list[str], root: str) -> tuple[dict[str, ModuleType], dict[str, Any] | None]:
    modules: dict[str, ModuleType] = {}
    for name in names:
        if not os.path.exists(os.path.join(root, name + ".py")):
            return modules, _error("missing_file", f"{name}.py is missing from the submission")
        try:
            modules[name] = importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - a learner import may raise anything
            err = _exception_error(exc, root)
            err["error"]["kind"] = "import"
            err["error"]["module"] = name
            return modules, err
    return modules, None


def _call(modules: dict[str, ModuleType], header: dict[str, Any], blobs: list[bytes],
          root: str) -> tuple[dict[str, Any], list[bytes]]:
    from grader.plaindata import NotPlainData, decode, encode

    module = modules[header["module"]]
    name = header["name"]
    func = getattr(module, name, None)
    if header["op"] == "has":
        return {"ok": True, "value": callable(func)}, []
    if not callable(func):
        return _error("missing", f"{module.__name__}.py has no function {name}()"), []
    args, kwargs = decode(header["args"], blobs)
    try:
        result = func(*args, **kwargs)
    except NotImplementedError as exc:
        return _error("not_implemented", str(exc) or f"{name}() is not implemented yet"), []
    except BaseException as exc:  # noqa: BLE001 - SystemExit and friends are learner errors too
        return _exception_error(exc, root), []
    try:
        encoded = encode(result)
    except NotPlainData as exc:
        return _error("not_plain", str(exc).replace("value", "the return value", 1)), []
    return {"ok": True, "value": encoded.tree}, encoded.blobs


def main() -> None:
    """Serve calls until the parent closes the pipe."""
    config = json.loads(sys.argv[1])
    proto_out = os.fdopen(os.dup(1), "wb")
    proto_in = os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    root = os.path.realpath(config["dir"])
    sys.path.insert(0, root)
    os.chdir(root)
    modules, failure = _import_all(config["modules"], root)
    _send(proto_out, dict(failure or {"ok": True, "value": "ready"}, id=0), [])
    if failure:
        return
    while True:
        message = _read_message(proto_in)
        if message is None:
            return
        header, blobs = message
        reply, out_blobs = _call(modules, header, blobs, root)
        reply["id"] = header["id"]
        _send(proto_out, reply, out_blobs)


if __name__ == "__main__":
    main()
