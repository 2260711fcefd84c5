"""What ``load()`` hands a notebook: the learner's module, re-imported whenever its files change.

Re-running a task's cell after editing the exercise file then runs the new code without
re-running the first cell, and a call to a function that still raises NotImplementedError says
"not written yet" and returns a placeholder, so Run All on a starter reaches the check() cell.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.learner.run_all import note_unwritten


class NotWritten:
    """What a call to an unwritten function returns: falsy, empty, absorbs what is done to it."""

    def __init__(self, function: str) -> None:
        self._function = function

    def __repr__(self) -> str:
        return f"not written yet: {self._function}()"

    def __getattr__(self, name: str) -> NotWritten:
        if name.startswith("_"):
            raise AttributeError(name)  # keep IPython's display protocol lookups honest
        return self

    def __call__(self, *args: object, **kwargs: object) -> NotWritten:
        return self

    def __getitem__(self, key: object) -> NotWritten:
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False


class LiveModule:
    """Attribute access re-imports the learner's module when a ``.py`` file beside it changed."""

    def __init__(self, path: Path, name: str) -> None:
        self._path = path
        self._name = name
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._module: ModuleType | None = None

    def _stamps(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for file in sorted(self._path.parent.glob("*.py")):
            try:
                info = file.stat()
            except OSError:
                continue
            found.append((file.name, info.st_mtime_ns, info.st_size))
        return tuple(found)

    def module(self) -> ModuleType:
        """The module as the files are now (imported again after any edit)."""
        stamp = self._stamps()
        if self._module is None or stamp != self._stamp:
            folder = str(self._path.parent)
            for name, mod in list(sys.modules.items()):  # sibling modules it imports, too
                if name != self._name and getattr(mod, "__file__", None) and \
                        str(Path(mod.__file__ or "").parent) == folder:
                    del sys.modules[name]
            spec = importlib.util.spec_from_file_location(self._name, self._path)
            if spec is None or spec.loader is None:
                raise FileNotFoundError(f"cannot load {self._path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[self._name] = module
            if folder not in sys.path:
                sys.path.insert(0, folder)
            spec.loader.exec_module(module)
            self._module, self._stamp = module, stamp
        return self._module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self.module(), name)
        if inspect.isfunction(value) and value.__module__ == self._name:
            return _guarded(value, self._path.name)
        return value

    def __dir__(self) -> list[str]:
        return dir(self.module())

    def __repr__(self) -> str:
        return f"<your {self._path.name}, imported again after every edit>"


def _guarded(function: Callable[..., Any], file: str) -> Callable[..., Any]:
    """The learner's function; NotImplementedError becomes a note and a placeholder."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except NotImplementedError:
            note_unwritten()
            print(f"not written yet: {function.__name__}() in {file} still raises "
                  "NotImplementedError. Write it, save the file, and run this cell again.")
            return NotWritten(function.__name__)

    return call
