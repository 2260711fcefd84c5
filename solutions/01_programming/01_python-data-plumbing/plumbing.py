"""Data plumbing an ML engineer writes every week: five small, well-specified pieces.

Each function's or class's docstring is its exact contract. The grader checks them with
property-based tests (hypothesis) on inputs generated fresh for every grading run, so write
general code: an answer shaped around one example will not pass.

Only numpy, PyYAML and the standard library are needed.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

# --- Task 1: batched ---------------------------------------------------------------------------

def batched(iterable: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Task 1 (`batched`): yield the items of ``iterable`` in lists of ``size``.

    - Every item comes out exactly once, in its original order.
    - Every batch holds exactly ``size`` items, except the last one, which holds what is left
      (1 to ``size`` items). An empty iterable yields no batches at all.
    - Lazy: read the input one batch at a time, so it works on a generator that never ends
      (``batched(itertools.count(), 32)``) and on a file too large for memory. Never call
      ``list()`` on the whole input.
    - ``size`` smaller than 1 raises ``ValueError`` (at the latest when iteration starts).
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be an int >= 1, got {size!r}")
    return _batches(iter(iterable), size)


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


# --- Task 2: running-stats ---------------------------------------------------------------------

class RunningStats:
    """Task 2 (`running-stats`): mean and variance of a stream, in one pass and O(1) memory.

    Use Welford's algorithm: keep the count, the running mean and the sum of squared
    differences from the mean (``m2``), and update all three in ``push``. The textbook shortcut
    ``E[x²] - E[x]²`` is numerically unstable: on values around 1e9 it loses every digit of the
    variance. Do not keep the values themselves.

    - ``push(x)`` adds one value (an int or a float).
    - ``count`` (a property): how many values were pushed.
    - ``mean`` (a property): their mean, ``nan`` while nothing was pushed.
    - ``variance(ddof=0)``: ``m2 / (count - ddof)``; ``nan`` when ``count <= ddof``. ddof=0 is
      the population variance (``np.var``), ddof=1 the sample variance.
    - ``std(ddof=0)``: the square root of ``variance(ddof)``.
    - ``merge(other)``: a NEW RunningStats holding the statistics of both streams together, as
      if every value had been pushed into one object (Chan et al.'s parallel formula); neither
      ``self`` nor ``other`` changes. Merging with an empty RunningStats is allowed.
    """

    def __init__(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0

    def push(self, x: float) -> None:
        """Add one value to the stream."""
        self._n += 1
        delta = float(x) - self._mean
        self._mean += delta / self._n
        self._m2 += delta * (float(x) - self._mean)

    @property
    def count(self) -> int:
        """How many values were pushed."""
        return self._n

    @property
    def mean(self) -> float:
        """The mean so far (nan while empty)."""
        return self._mean if self._n else math.nan

    def variance(self, ddof: int = 0) -> float:
        """m2 / (count - ddof); nan when count <= ddof."""
        return self._m2 / (self._n - ddof) if self._n > ddof else math.nan

    def std(self, ddof: int = 0) -> float:
        """The square root of variance(ddof)."""
        return math.sqrt(self.variance(ddof))

    def merge(self, other: RunningStats) -> RunningStats:
        """A new RunningStats for both streams together; self and other stay as they are."""
        out = RunningStats()
        n = self._n + other._n
        if n == 0:
            return out
        delta = other._mean - self._mean
        out._n = n
        out._mean = self._mean + delta * other._n / n
        out._m2 = self._m2 + other._m2 + delta * delta * self._n * other._n / n
        return out


# --- Task 3: stratified-split ------------------------------------------------------------------

def stratified_split(labels: list[Any], val_fraction: float = 0.2,
                     seed: int = 0) -> tuple[list[int], list[int]]:
    """Task 3 (`stratified-split`): a deterministic, stratified train/validation split.

    ``labels[i]`` is the class of sample ``i`` (ints or strings). Return ``(train, val)``: two
    lists of sample indices, each sorted ascending, that together hold every index
    ``0 .. len(labels) - 1`` exactly once.

    - Stratified: for every class with ``n_c`` samples, the number of its samples in ``val`` is
      ``n_c * val_fraction`` rounded up or down (within one sample of the exact share).
    - Random within a class: which samples go to ``val`` is drawn with a random generator
      created from ``seed`` (``random.Random(seed)`` or ``np.random.default_rng(seed)``).
    - Deterministic: the same labels and seed always give the same split, whatever else the
      program did with ``random`` or ``np.random`` before; another seed gives another split.
    - ``val_fraction`` must satisfy ``0 < val_fraction < 1``, otherwise raise ``ValueError``.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction!r}")
    rng = np.random.default_rng(seed)
    by_class: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    val: list[int] = []
    for members in by_class.values():
        k = round(len(members) * val_fraction)
        chosen = rng.choice(len(members), size=k, replace=False)
        val.extend(members[j] for j in chosen)
    taken = set(val)
    train = [i for i in range(len(labels)) if i not in taken]
    return train, sorted(val)


# --- Task 4: config ----------------------------------------------------------------------------

class ConfigError(ValueError):
    """A config file that cannot be used; the message names the field (e.g. ``data.path``)."""


@dataclass(frozen=True)
class DataConfig:
    """The ``[data]`` table of a training config."""

    path: str
    val_fraction: float = 0.2


@dataclass(frozen=True)
class TrainConfig:
    """A training run's settings, typed and immutable."""

    model: str
    learning_rate: float
    batch_size: int
    data: DataConfig
    epochs: int = 10
    optimizer: str = "adam"
    layers: tuple[int, ...] = (64, 64)
    seed: int | None = None


OPTIMIZERS = ("adam", "adamw", "sgd")


def load_config(path: str | Path) -> TrainConfig:
    """Task 4 (`config`): read a TOML or YAML training config into a frozen TrainConfig.

    The format comes from the suffix: ``.toml`` (read with ``tomllib``), ``.yaml`` or ``.yml``
    (read with ``yaml.safe_load``, never ``yaml.load``: a config file must not be able to run
    code). The file holds one table/mapping:

    ========================  =============================================  =============
    field                     rule                                           default
    ========================  =============================================  =============
    ``model``                 a non-empty string                             (required)
    ``learning_rate``         a number > 0 (an int is fine: 1 -> 1.0)        (required)
    ``batch_size``            an int >= 1                                    (required)
    ``data``                  a table with ``path`` (non-empty string,       (required)
                              required) and ``val_fraction`` (a number
                              strictly between 0 and 1, default 0.2)
    ``epochs``                an int >= 1                                    10
    ``optimizer``             one of OPTIMIZERS                              "adam"
    ``layers``                a list of ints >= 1 (may be empty) -> a tuple  (64, 64)
    ``seed``                  an int, or null (YAML ``null`` / ``~``)        None
    ========================  =============================================  =============

    Numbers given as "float" must come back as ``float``; ``true``/``false`` are never numbers
    (in Python, ``bool`` is a subclass of ``int``: check for it), and an int field does not
    accept ``32.0``.

    Anything wrong raises ``ConfigError`` whose message contains the dotted name of the field
    at fault: a missing or mistyped field (``batch_size``), a value out of range
    (``data.val_fraction``), a key the schema does not know (``data.pth``), a ``data`` that is
    not a table (``data``). A file that is not a mapping, an unsupported suffix, or a file that
    does not parse (including YAML tags like ``!!python/object`` that ``safe_load`` refuses)
    also raises ConfigError.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        elif suffix in (".yaml", ".yml"):
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        else:
            raise ConfigError(f"{path.name}: unsupported config format {suffix!r} "
                              "(use .toml, .yaml or .yml)")
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: could not parse the file: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: the file must hold a table of settings, "
                          f"not a {type(raw).__name__}")
    return _build(TrainConfig, raw, "")


_RULES: dict[str, Any] = {
    "model": ("str", None), "learning_rate": ("float", lambda v: v > 0),
    "batch_size": ("int", lambda v: v >= 1), "epochs": ("int", lambda v: v >= 1),
    "optimizer": ("str", lambda v: v in OPTIMIZERS), "layers": ("layers", None),
    "seed": ("int?", None), "path": ("str", None),
    "val_fraction": ("float", lambda v: 0 < v < 1), "data": ("table", None),
}


def _build(cls: Any, raw: dict[str, Any], prefix: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{prefix}{key}: unknown setting (known: {', '.join(known)})")
    values = {}
    for name, field in known.items():
        dotted = prefix + name
        if name not in raw:
            if field.default is MISSING and field.default_factory is MISSING:
                raise ConfigError(f"{dotted}: required setting is missing")
            continue
        values[name] = _check(name, raw[name], dotted)
    return cls(**values)


def _check(name: str, value: Any, dotted: str) -> Any:
    kind, in_range = _RULES[name]
    if kind == "table":
        if not isinstance(value, dict):
            raise ConfigError(f"{dotted}: expected a table, got {type(value).__name__}")
        return _build(DataConfig, value, dotted + ".")
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{dotted}: expected a non-empty string, got {value!r}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{dotted}: expected a number, got {value!r}")
        value = float(value)
    elif kind in ("int", "int?"):
        if value is None and kind == "int?":
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{dotted}: expected an integer, got {value!r}")
    elif kind == "layers":
        if not isinstance(value, list) or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
            raise ConfigError(f"{dotted}: expected a list of integers >= 1, got {value!r}")
        return tuple(value)
    if in_range is not None and not in_range(value):
        raise ConfigError(f"{dotted}: {value!r} is out of range")
    return value


# --- Task 5: vectorised ------------------------------------------------------------------------

def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Task 5 (`vectorised`): Euclidean distances between every row of ``a`` and of ``b``.

    ``a`` has shape (n, d), ``b`` shape (m, d). Return an (n, m) float array whose [i, j] entry
    is ``sqrt(sum((a[i] - b[j]) ** 2))``. No Python loops: no ``for``, ``while``,
    comprehensions, ``map`` or ``np.vectorize``, here or in helpers it calls; use broadcasting
    or the identity ``|x - y|² = |x|² + |y|² - 2 x·y`` (clip tiny negatives to 0 before the
    square root: rounding can make them, and sqrt of a negative is nan).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(squared, 0.0, None))


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Task 5 (`vectorised`): softmax of ``logits`` along ``axis``, for arrays of any shape.

    ``exp(x) / sum(exp(x))`` along ``axis``, same shape as the input. Numerically stable:
    logits of 1000 or -1000 must not give inf or nan (subtract the maximum along ``axis``
    first: softmax does not change when a constant is added). ``-inf`` logits (masked
    entries) get probability 0. No Python loops (see ``pairwise_distances``).
    """
    x = np.asarray(logits, dtype=float)
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)
