"""Course-owned harness for python-data-plumbing, run in the worker beside ``plumbing.py``.

Generators, objects and files cannot cross the process boundary, so these helpers drive the
learner's code where it lives (consume a generator, push values into a RunningStats, write a
config file and load it) and hand back plain data. They hold no expected values: the grader
judges what comes back in its own process.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import os
import random
import shutil
import tempfile
from typing import Any


def _plumbing() -> Any:
    return importlib.import_module("plumbing")


# --- batched ---------------------------------------------------------------------------------

def batches(items: list[Any], size: int) -> list[list[Any]]:
    """Every batch of ``batched(iter(items), size)``, each as a list (a one-pass iterator in)."""
    return [list(batch) for batch in _plumbing().batched(iter(items), size)]


def lazy_batches(size: int, n_batches: int, available: int) -> tuple[list[list[int]], int]:
    """The first ``n_batches`` batches of a generator of ``available`` ints, and how many
    items ``batched`` pulled from the generator to produce them."""
    pulled = [0]

    def source() -> Any:
        for i in range(available):
            pulled[0] += 1
            yield i

    taken = itertools.islice(_plumbing().batched(source(), size), n_batches)
    return [list(batch) for batch in taken], pulled[0]


def batched_raises(items: list[Any], size: Any) -> str | None:
    """The name of the exception ``list(batched(items, size))`` raises, or None."""
    try:
        list(_plumbing().batched(items, size))
    except NotImplementedError:
        raise
    except Exception as exc:
        return type(exc).__name__
    return None


# --- running-stats ---------------------------------------------------------------------------

def _value(read: Any) -> Any:
    """What ``read()`` returns, or {"raised": "Type: message"} if it raises."""
    try:
        return read()
    except NotImplementedError:
        raise
    except Exception as exc:
        return {"raised": f"{type(exc).__name__}: {exc}"[:300]}


def _summary(stats: Any, ddofs: list[int]) -> dict[str, Any]:
    return {"count": _value(lambda: stats.count), "mean": _value(lambda: stats.mean),
            "variance": {d: _value(lambda d=d: stats.variance(d)) for d in ddofs},
            "std": {d: _value(lambda d=d: stats.std(d)) for d in ddofs}}


def stream_stats(values: list[float], ddofs: list[int], each: bool = False) -> dict[str, Any]:
    """Push ``values`` one by one; the summary at the end (and after every push if ``each``)."""
    stats = _plumbing().RunningStats()
    trail = []
    for value in values:
        stats.push(value)
        if each:
            trail.append(_summary(stats, ddofs))
    return {"final": _summary(stats, ddofs), "trail": trail}


def merged_stats(left: list[float], right: list[float], ddofs: list[int]) -> dict[str, Any]:
    """Summaries of two streams, of their merge, and of both again after the merge."""
    cls = _plumbing().RunningStats
    a, b = cls(), cls()
    for value in left:
        a.push(value)
    for value in right:
        b.push(value)
    before = (_summary(a, ddofs), _summary(b, ddofs))
    merged = a.merge(b)
    return {"merged": _summary(merged, ddofs), "before": before,
            "after": (_summary(a, ddofs), _summary(b, ddofs)),
            "new_object": merged is not a and merged is not b}


# --- stratified-split ------------------------------------------------------------------------

def split_after_reseeding(labels: list[Any], val_fraction: float, seed: int,
                          global_seeds: list[int]) -> list[Any]:
    """One split per global seed: ``random`` and ``np.random`` are reseeded before each call."""
    import numpy as np

    out = []
    for global_seed in global_seeds:
        random.seed(global_seed)
        np.random.seed(global_seed)
        out.append(_plumbing().stratified_split(labels, val_fraction, seed))
    return out


def split_raises(labels: list[Any], val_fraction: Any, seed: int) -> str | None:
    """The name of the exception ``stratified_split`` raises, or None."""
    try:
        _plumbing().stratified_split(labels, val_fraction, seed)
    except NotImplementedError:
        raise
    except Exception as exc:
        return type(exc).__name__
    return None


# --- config ----------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A dataclass as {"__class__": name, field: value...}; containers keep their type."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"__class__": type(value).__name__}
        for field in dataclasses.fields(value):
            out[field.name] = _plain(getattr(value, field.name))
        return out
    if type(value) in (list, tuple):
        return type(value)(_plain(v) for v in value)
    if type(value) is dict:
        return {k: _plain(v) for k, v in value.items()}
    return value


def _frozen(value: Any) -> bool:
    """Whether assigning to the object's first field raises FrozenInstanceError."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return False
    name = dataclasses.fields(value)[0].name
    old = getattr(value, name)
    try:
        setattr(value, name, old)
    except dataclasses.FrozenInstanceError:
        return True
    except Exception:
        return False
    return False


def load_config_text(text: str, suffix: str) -> dict[str, Any]:
    """Write ``text`` to a fresh ``config<suffix>`` and call ``load_config`` on its path."""
    plumbing = _plumbing()
    folder = tempfile.mkdtemp()
    try:
        path = os.path.join(folder, "config" + suffix)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            config = plumbing.load_config(path)
        except NotImplementedError:
            raise
        except Exception as exc:
            return {"raised": type(exc).__name__,
                    "config_error": isinstance(exc, plumbing.ConfigError),
                    "message": str(exc)[:2000]}
        data = getattr(config, "data", None)
        return {"raised": None, "value": _plain(config),
                "frozen": _frozen(config) and _frozen(data)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
