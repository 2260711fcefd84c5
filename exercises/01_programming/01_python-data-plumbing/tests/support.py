"""Trusted helpers for python-data-plumbing: property runner, input generators, checks.

Everything here runs in the grader's process. ``check_property`` runs a hypothesis property
whose examples call the learner's code through the proxy; the examples come from this grading
run's seed, so every run tries inputs nobody has seen before. Messages show the input that
failed (shrunk by hypothesis to a small one) and what was wrong with the result, in general
terms.
"""

from __future__ import annotations

import ast
import json
import math
import os
import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from grader.testing import Feedback, NotAttempted, SubmissionProblem, SubmissionRaised

OPTIMIZERS = ("adam", "adamw", "sgd")
VECTORISED = ("pairwise_distances", "softmax")
BANNED_CALLS = {"map": "map()", "filter": "filter()", "vectorize": "np.vectorize",
                "apply_along_axis": "np.apply_along_axis", "frompyfunc": "np.frompyfunc",
                "fromiter": "np.fromiter"}


# --- reaching the learner's code --------------------------------------------------------------

LEARNER_NAMES = {"batches": "batched()", "lazy_batches": "batched()",
                 "batched_raises": "batched()", "stream_stats": "RunningStats",
                 "merged_stats": "RunningStats", "split_after_reseeding": "stratified_split()",
                 "split_raises": "stratified_split()", "load_config_text": "load_config()"}


class Harness:
    """The course harness in the worker, with "not attempted" naming the learner's function."""

    def __init__(self, submission: Any) -> None:
        self._submission = submission

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        function = getattr(self._submission.harness, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except NotAttempted:
                raise NotAttempted(f"{LEARNER_NAMES.get(name, name)} still raises "
                                   "NotImplementedError: not attempted yet") from None

        return call


# --- running properties ----------------------------------------------------------------------

def check_property(seed: int, strategy: st.SearchStrategy[Any],
                   body: Callable[[Any], None], probe: Any, examples: int = 50,
                   show: Callable[[Any], str] = repr) -> None:
    """Run ``body`` on ``probe``, then on ``examples`` inputs drawn from ``strategy`` (seeded,
    shrunk on failure).

    A Feedback from ``body`` fails the property and is shrunk to a small input. An exception in
    the learner's code becomes Feedback naming the input. Any other problem of the submission
    (not attempted, timeout, crash) stops the property at once and is raised as it is, so a
    hanging submission costs one call budget, not one per example. The probe, a small fixed
    input, finds an unattempted function before hypothesis starts.
    """
    try:
        body(probe)
    except SubmissionRaised as exc:
        trace = f"\n{exc.trace}" if exc.trace else ""
        raise Feedback(f"On the input {show(probe)}: {exc.message}{trace}") from None
    _keep_hypothesis_out_of_the_course()
    stop: list[SubmissionProblem] = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              phases=(Phase.generate, Phase.shrink), report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @hypothesis_seed(seed)
    @given(strategy)
    def prop(example: Any) -> None:
        if stop:
            return
        try:
            body(example)
        except Feedback:
            raise
        except SubmissionRaised as exc:
            trace = f"\n{exc.trace}" if exc.trace else ""
            raise Feedback(f"On the input {show(example)}: {exc.message}{trace}") from None
        except SubmissionProblem as exc:
            stop.append(exc)

    try:
        prop()
    except BaseException as exc:
        if stop:
            raise stop[0] from None
        found = _first_feedback(exc)
        if found is not None and found is not exc:
            raise found from None
        raise
    if stop:
        raise stop[0]


def _keep_hypothesis_out_of_the_course() -> None:
    """Hypothesis caches data in ./.hypothesis; keep it in the user's cache, not the course."""
    from hypothesis import configuration

    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") is None:
        configuration.set_hypothesis_home_dir(Path.home() / ".cache" / "ml-engineer-lab" /
                                              "hypothesis")


def _first_feedback(exc: BaseException) -> Feedback | None:
    if isinstance(exc, Feedback):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = _first_feedback(inner)
        if found is not None:
            return found
    return None


def short(value: Any, limit: int = 160) -> str:
    """A repr cut to ``limit`` characters (a harness's {"raised": ...} as "raised ...")."""
    if type(value) is dict and set(value) == {"raised"}:
        text = f"(it raised {value['raised']})"
        return text if len(text) <= limit else text[:limit - 3] + "..."
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def close(got: Any, want: float, rel: float, abs_tol: float = 0.0) -> bool:
    """Whether ``got`` is a real number within tolerance of ``want`` (nan matches nan)."""
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    if math.isnan(want):
        return math.isnan(got)
    return math.isfinite(got) and abs(got - want) <= abs_tol + rel * abs(want)


# --- batched ---------------------------------------------------------------------------------

items_strategy = st.lists(st.one_of(st.integers(-9, 99), st.text(string.ascii_lowercase,
                                                                  max_size=3), st.none()),
                          max_size=80)


def batch_problem(items: list[Any], size: int, got: Any) -> str | None:
    """What is wrong with ``got`` as the batches of ``items``, or None."""
    if type(got) is not list:
        return f"batched() gave {short(got)}, not an iterable of batches"
    flat = [x for batch in got for x in batch]
    if flat != items:
        if len(flat) < len(items) and flat == items[:len(flat)]:
            return (f"the batches hold only the first {len(flat)} of {len(items)} items: the "
                    "last, shorter batch is missing")
        return "the batches, put back together, are not the input items in their order"
    if any(len(batch) == 0 for batch in got):
        return "one of the batches is empty: yield only batches with items in them"
    if any(len(batch) != size for batch in got[:-1]):
        return f"a batch before the last one has fewer or more than size={size} items"
    if got and len(got[-1]) > size:
        return f"the last batch has more than size={size} items"
    return None


# --- running-stats ---------------------------------------------------------------------------

def stats_problem(values: np.ndarray, got: Any, ddofs: list[int], rel: float) -> str | None:
    """What is wrong with a RunningStats summary of ``values`` (count, mean, variance, std)."""
    n = len(values)
    if type(got) is not dict:
        return f"the summary could not be read ({short(got)})"
    if got.get("count") != n or isinstance(got.get("count"), bool):
        return f"count is {short(got.get('count'))} after pushing {n} values"
    want_mean = float(np.mean(values)) if n else math.nan
    spread = float(np.std(values)) if n else 0.0
    if not close(got.get("mean"), want_mean, 1e-12, 1e-9 * spread + 1e-300):
        return f"mean is {short(got.get('mean'))}, which is not the mean of the values"
    for ddof in ddofs:
        want = float(np.var(values, ddof=ddof)) if n > ddof else math.nan
        var = got.get("variance", {}).get(ddof) if type(got.get("variance")) is dict else None
        std = got.get("std", {}).get(ddof) if type(got.get("std")) is dict else None
        if not close(var, want, rel, 1e-300):
            extra = ("" if n > ddof else f" (with count={n} <= ddof={ddof} it should be nan)")
            return (f"variance(ddof={ddof}) is {short(var)}, off from the true variance by more "
                    f"than a relative {rel:g}{extra}")
        if not close(std, math.sqrt(want) if not math.isnan(want) else want, rel, 1e-300):
            return f"std(ddof={ddof}) is {short(std)}, not the square root of variance(ddof)"
    return None


def describe_stream(values: np.ndarray) -> str:
    """How a stream looks, without its values."""
    if len(values) == 0:
        return "an empty stream"
    return (f"a stream of {len(values)} values around {np.mean(values):.4g} (spread "
            f"{np.std(values):.3g})")


# --- stratified-split ------------------------------------------------------------------------

def make_labels(rng: np.random.Generator, n: int, k: int, as_text: bool) -> list[Any]:
    """``n`` labels from ``k`` classes with uneven shares."""
    shares = rng.dirichlet(np.ones(k))
    codes = rng.choice(k, size=n, p=shares)
    names = ["cat", "dog", "bird", "fish", "frog", "mouse"]
    return [names[c] if as_text else int(c) for c in codes]


def as_indices(value: Any) -> list[int] | None:
    """A list of Python ints from a list/tuple/array of integers, else None."""
    if type(value) is np.ndarray:
        if value.ndim != 1 or value.dtype.kind not in "iu":
            return None
        return [int(v) for v in value]
    if type(value) not in (list, tuple):
        return None
    if any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        return None
    return [int(v) for v in value]


def split_problem(labels: list[Any], fraction: float, got: Any) -> str | None:
    """What is wrong with ``got`` as a stratified (train, val) split of ``labels``, or None."""
    if type(got) not in (tuple, list) or len(got) != 2:
        return f"stratified_split returned {short(got, 80)}, not a pair (train, val)"
    train, val = as_indices(got[0]), as_indices(got[1])
    if train is None or val is None:
        return "train and val must each be a list of integer indices"
    if train != sorted(train) or val != sorted(val):
        return "train and val must each be sorted in ascending order"
    overlap = set(train) & set(val)
    if overlap:
        return f"{len(overlap)} indices are in both train and val: the two must not overlap"
    if sorted(train + val) != list(range(len(labels))):
        return (f"train and val together should hold every index 0..{len(labels) - 1} exactly "
                f"once; they hold {len(train) + len(val)} indices")
    per_class = Counter(labels)
    in_val = Counter(labels[i] for i in val)
    for label, n in per_class.items():
        share = n * fraction
        if abs(in_val[label] - share) >= 1 - 1e-9:
            return (f"class {label!r} has {n} samples, so val should take {share:.2f} of them "
                    f"rounded up or down, but val has {in_val[label]}")
    return None


# --- config ----------------------------------------------------------------------------------

_names = st.text(string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=10)
_paths = st.builds(lambda a, b: f"data/{a}.{b}", _names, st.sampled_from(["csv", "parquet"]))
valid_configs = st.fixed_dictionaries(
    {"model": _names,
     "learning_rate": st.one_of(st.floats(1e-6, 2.0), st.integers(1, 3)),
     "batch_size": st.integers(1, 4096),
     "data": st.fixed_dictionaries({"path": _paths},
                                   optional={"val_fraction": st.floats(0.01, 0.99)})},
    optional={"epochs": st.integers(1, 500), "optimizer": st.sampled_from(OPTIMIZERS),
              "layers": st.lists(st.integers(1, 2048), max_size=4),
              "seed": st.one_of(st.none(), st.integers(0, 2**31))})
suffixes = st.sampled_from([".toml", ".yaml", ".yml"])
SIMPLE_CONFIG = {"model": "mlp", "learning_rate": 0.01, "batch_size": 32,
                 "data": {"path": "data/train.csv"}}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if not isinstance(value, float) or math.isfinite(value) else "nan"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def to_text(config: dict[str, Any], suffix: str) -> str:
    """The config as the file a person would write: TOML (no null: seed=None left out) or YAML."""
    import yaml

    if suffix != ".toml":
        return yaml.safe_dump(config, sort_keys=False)
    lines, tables = [], []
    for key, value in config.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables:
        lines += ["", f"[{key}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()
                                      if v is not None]
    return "\n".join(lines) + "\n"


def expected_config(config: dict[str, Any], suffix: str) -> dict[str, Any]:
    """What load_config should give for ``config`` (in the harness's plain form)."""
    data = config["data"]
    return {"__class__": "TrainConfig", "model": config["model"],
            "learning_rate": float(config["learning_rate"]), "batch_size": config["batch_size"],
            "data": {"__class__": "DataConfig", "path": data["path"],
                     "val_fraction": float(data.get("val_fraction", 0.2))},
            "epochs": config.get("epochs", 10), "optimizer": config.get("optimizer", "adam"),
            "layers": tuple(config.get("layers", (64, 64))), "seed": config.get("seed")}


def config_problem(got: Any, want: dict[str, Any]) -> str | None:
    """What differs between a loaded config and the expected one, field by field."""
    if type(got) is not dict or got.get("raised") is not None:
        raised = got.get("raised") if type(got) is dict else None
        return (f"load_config raised {raised}: {short(got.get('message'), 300)}" if raised else
                f"load_config gave {short(got)}")
    value = got.get("value")
    if type(value) is not dict or value.get("__class__") != "TrainConfig":
        return f"load_config should return a TrainConfig, not {short(value, 80)}"
    for name, expected in want.items():
        if name == "__class__":
            continue
        have = value.get(name)
        if name == "data":
            if type(have) is not dict or have.get("__class__") != "DataConfig":
                return f"data should be a DataConfig, not {short(have, 80)}"
            for sub in ("path", "val_fraction"):
                if not _same(have.get(sub), expected[sub]):
                    return (f"data.{sub} is {short(have.get(sub))} "
                            f"({type(have.get(sub)).__name__}); expected {expected[sub]!r} "
                            f"({type(expected[sub]).__name__})")
        elif not _same(have, expected):
            return (f"{name} is {short(have)} ({type(have).__name__}); expected {expected!r} "
                    f"({type(expected).__name__})")
    if not got.get("frozen"):
        return ("the TrainConfig (or its DataConfig) can be changed after loading: keep the "
                "@dataclass(frozen=True) classes and return instances of them")
    return None


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


# Each mutation breaks one field; the ConfigError must name it (its dotted name).
def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def apply(config: dict[str, Any]) -> None:
        if "." in key:
            top, sub = key.split(".")
            config[top].pop(sub, None)
        else:
            config.pop(key, None)
    return apply


def _put(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(config: dict[str, Any]) -> None:
        if "." in key:
            top, sub = key.split(".")
            config[top][sub] = value
        else:
            config[key] = value
    return apply


MUTATIONS: list[tuple[str, str, Callable[[dict[str, Any]], None]]] = [
    ("model", "is missing", _drop("model")),
    ("learning_rate", "is missing", _drop("learning_rate")),
    ("batch_size", "is missing", _drop("batch_size")),
    ("data", "is missing", _drop("data")),
    ("data.path", "is missing", _drop("data.path")),
    ("model", "is a number", _put("model", 7)),
    ("model", "is an empty string", _put("model", "")),
    ("learning_rate", "is text", _put("learning_rate", "fast")),
    ("learning_rate", "is a boolean", _put("learning_rate", True)),
    ("learning_rate", "is zero", _put("learning_rate", 0.0)),
    ("learning_rate", "is negative", _put("learning_rate", -0.001)),
    ("batch_size", "is text", _put("batch_size", "32")),
    ("batch_size", "is a float", _put("batch_size", 32.0)),
    ("batch_size", "is a boolean", _put("batch_size", True)),
    ("batch_size", "is zero", _put("batch_size", 0)),
    ("epochs", "is zero", _put("epochs", 0)),
    ("epochs", "is a float", _put("epochs", 2.5)),
    ("optimizer", "is not a known optimizer", _put("optimizer", "adagrad")),
    ("layers", "is text", _put("layers", "64,64")),
    ("layers", "holds text", _put("layers", [64, "wide"])),
    ("layers", "holds a zero", _put("layers", [64, 0])),
    ("seed", "is text", _put("seed", "lucky")),
    ("seed", "is a float", _put("seed", 1.5)),
    ("data", "is text, not a table", _put("data", "data/train.csv")),
    ("data.path", "is a number", _put("data.path", 3)),
    ("data.val_fraction", "is 1", _put("data.val_fraction", 1.0)),
    ("data.val_fraction", "is 0", _put("data.val_fraction", 0)),
    ("data.val_fraction", "is text", _put("data.val_fraction", "20%")),
]
UNKNOWN_KEYS: list[tuple[str, str, Callable[[dict[str, Any]], None]]] = [
    ("learning_rte", "is not a setting (a typo)", _put("learning_rte", 0.01)),
    ("dropout", "is not a setting", _put("dropout", 0.5)),
    ("data.pth", "is not a setting of data (a typo)", _put("data.pth", "x.csv")),
    ("data.shuffle", "is not a setting of data", _put("data.shuffle", True)),
]


def error_problem(got: Any, field: str) -> str | None:
    """Whether a load that should fail raised a ConfigError naming ``field``."""
    if type(got) is not dict:
        return f"load_config gave {short(got)}"
    if got.get("raised") is None:
        return "load_config accepted it: it should raise ConfigError"
    if not got.get("config_error"):
        return (f"load_config raised {got.get('raised')}: {short(got.get('message'), 200)}; "
                "it should raise ConfigError")
    if field not in str(got.get("message", "")):
        return (f"the ConfigError says {short(got.get('message'), 200)}, which does not name "
                f"the field `{field}`")
    return None


# --- vectorised ------------------------------------------------------------------------------

def loops_in(source: bytes, function: str) -> list[str]:
    """Python-level loops in ``function`` and the module functions it calls (by AST)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"plumbing.py does not parse (line {exc.lineno})"]
    funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    problems = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name in funcs and node.name in VECTORISED:
                problems.append(f"{node.name} is defined twice (line {node.lineno})")
            funcs[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in VECTORISED:
                    problems.append(f"{target.id} is reassigned at the top level (line "
                                    f"{node.lineno}): define it once with def")
    if function not in funcs:
        return [*problems, f"there is no `def {function}` at the top level of plumbing.py"]
    kinds = {ast.For: "a `for` loop", ast.AsyncFor: "a `for` loop", ast.While: "a `while` loop",
             ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
             ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression"}
    seen: set[str] = set()
    todo = [function]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        where = "" if name == function else f" in {name}(), which {function}() calls"
        node = funcs[name]
        if node.decorator_list:
            problems.append(f"a decorator on {name}() (line {node.lineno}){where}")
        for sub in ast.walk(node):
            kind = kinds.get(type(sub))
            if kind:
                problems.append(f"{kind} (line {sub.lineno}){where}")
            elif isinstance(sub, ast.Call):
                called = sub.func
                called_name = (called.id if isinstance(called, ast.Name) else
                               called.attr if isinstance(called, ast.Attribute) else "")
                if called_name in BANNED_CALLS:
                    problems.append(f"{BANNED_CALLS[called_name]} (line {sub.lineno}){where}")
                elif isinstance(called, ast.Name) and called.id in funcs:
                    todo.append(called.id)
    return problems


def array_problem(got: Any, want: np.ndarray, what: str, tol: float = 1e-6) -> str | None:
    """Shape, finiteness and closeness (absolute ``tol``) of an array result."""
    if type(got) is not np.ndarray:
        return f"{what} returned a {type(got).__name__}, not a numpy array"
    if got.shape != want.shape:
        return f"{what} returned shape {got.shape}; expected {want.shape}"
    if got.dtype.kind not in "fiu":
        return f"{what} returned dtype {got.dtype}; expected floats"
    got = got.astype(float)
    bad = np.isnan(got) & ~np.isnan(want) | np.isinf(got) & ~np.isinf(want)
    if bad.any():
        return f"{what} returned {int(bad.sum())} nan/inf values where the result is finite"
    diff = np.abs(np.where(np.isfinite(want), got - want, 0.0))
    if diff.max(initial=0.0) > tol:
        return (f"{what} is off by up to {diff.max():.3g} ({int((diff > tol).sum())} of "
                f"{want.size} entries beyond {tol:g})")
    return None


def describe_array(x: np.ndarray) -> str:
    """Shape and scale of an array, without its values."""
    finite = x[np.isfinite(x)]
    scale = float(np.abs(finite).max()) if finite.size else 0.0
    return f"an array of shape {x.shape} with values up to {scale:.3g} in size"
