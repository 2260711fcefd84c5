"""Hidden tests for python-data-plumbing: edge cases, errors, long streams, unsafe files.

Inputs are built here, in the grader's process, from this run's seed; only they reach the
worker.
"""

import copy
import math

import numpy as np
import pytest
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from scipy.special import softmax as reference_softmax

from grader.testing import expect


@pytest.fixture
def harness(submission, support):
    """The course harness in the worker (see tests/harness.py)."""
    return support.Harness(submission)

# --- batched ---------------------------------------------------------------------------------


# fails for: loses-last-batch, lazy-raises
@pytest.mark.task("batched")
@pytest.mark.points(1)
def test_batched_edge_cases(harness, support, grading_seed):
    n = 5 + grading_seed % 11
    cases = [([], 3), (list(range(n)), n), (list(range(n)), n + 4), (list(range(n)), 1),
             ([None, 0, "", None, False, None, None], 2), (list("abcdefghij"), 4)]
    for items, size in cases:
        got = harness.batches(items, size)
        problem = support.batch_problem(items, size, got)
        expect(problem is None, f"batched({items!r}, size={size}): {problem}")


# fails for: lazy-raises
@pytest.mark.task("batched")
@pytest.mark.points(1)
@pytest.mark.parametrize("size", [0, -2], ids=["zero", "negative"])
@pytest.mark.requires("test_batched_keeps_every_item_in_order")
def test_batched_rejects_bad_size(harness, size):
    raised = harness.batched_raises([1, 2, 3], size)
    expect(raised == "ValueError",
           f"list(batched([1, 2, 3], size={size})) should raise ValueError, but "
           + (f"it raised {raised}" if raised else "it raised nothing (a loop with size "
              "<= 0 never ends or yields empty batches)"))


# --- running-stats ---------------------------------------------------------------------------


# fails for: lazy-raises
@pytest.mark.task("running-stats")
@pytest.mark.points(1)
def test_running_stats_long_stream(harness, support, grading_seed):
    rng = np.random.default_rng(grading_seed + 1)
    values = rng.gamma(2.0, 3.0, size=100_000) + rng.uniform(-50, 50)
    got = harness.stream_stats(values.tolist(), [0, 1])["final"]
    problem = support.stats_problem(values, got, [0, 1], rel=1e-9)
    expect(problem is None, f"After pushing {support.describe_stream(values)}: {problem}")


# fails for: lazy-raises
@pytest.mark.task("running-stats")
@pytest.mark.points(1)
def test_running_stats_after_every_push(harness, support, grading_seed):
    values = 1e6 + np.random.default_rng(grading_seed + 2).standard_normal(40)
    trail = harness.stream_stats(values.tolist(), [0, 1], each=True)["trail"]
    expect(type(trail) is list and len(trail) == len(values), "the summary could not be read")
    for k, got in enumerate(trail, start=1):
        problem = support.stats_problem(values[:k], got, [0, 1], rel=1e-5)
        expect(problem is None, f"After the first {k} pushes of a stream around 1e6: "
                                f"{problem}")


# fails for: lazy-raises
@pytest.mark.task("running-stats")
@pytest.mark.points(1)
def test_running_stats_empty_and_single(harness, support):
    for values in ([], [42.5], [-3, 7]):
        got = harness.stream_stats(values, [0, 1])["final"]
        problem = support.stats_problem(np.array(values, dtype=float), got, [0, 1], rel=1e-12)
        expect(problem is None, f"After pushing {values}: {problem}")


# fails for: lazy-raises
@pytest.mark.task("running-stats")
@pytest.mark.points(1)
def test_running_stats_merge(harness, support, grading_seed):
    def body(example):
        n_left, n_right, loc, seed = example
        rng = np.random.default_rng(seed)
        left = loc + rng.standard_normal(n_left)
        right = loc + 3.0 + 2.0 * rng.standard_normal(n_right)
        got = harness.merged_stats(left.tolist(), right.tolist(), [0, 1])
        what = f"a.merge(b), a holding {n_left} values and b {n_right} values around {loc:.3g}"
        problem = support.stats_problem(np.concatenate([left, right]), got["merged"], [0, 1],
                                        rel=1e-6)
        expect(problem is None, f"{what}: {problem}")
        expect(repr(got["before"]) == repr(got["after"]),
               f"{what} changed a or b: merge must return a new object and leave both alone")
        expect(got["new_object"], f"{what} returned a or b itself: return a new RunningStats")

    strategy = st.tuples(st.integers(0, 60), st.integers(0, 60),
                         st.sampled_from([0.0, 1e3, 1e8]), st.integers(0, 2**32 - 1))
    support.check_property(grading_seed, strategy, body, (3, 0, 0.0, 0), examples=25)


# --- stratified-split ------------------------------------------------------------------------


# fails for: unseeded-split, lazy-raises
@pytest.mark.task("stratified-split")
@pytest.mark.points(1)
@pytest.mark.requires("test_split_is_a_stratified_partition")
def test_split_ignores_global_random_state(harness, support, grading_seed):
    labels = support.make_labels(np.random.default_rng(grading_seed + 3), 300, 4, False)
    seed = 7 + grading_seed % 97
    splits = harness.split_after_reseeding(labels, 0.2, seed, [0, 123, 99999])
    for got in splits:
        problem = support.split_problem(labels, 0.2, got)
        expect(problem is None, f"stratified_split(300 labels, 0.2, seed={seed}): {problem}")
    keys = {tuple(support.as_indices(got[1])) for got in splits}
    expect(len(keys) == 1,
           f"stratified_split(300 labels, 0.2, seed={seed}) gave {len(keys)} different splits "
           "after the program reseeded `random` and `np.random` to other values: the split "
           "must depend on `seed` only (make a generator from it)")


# fails for: lazy-raises
@pytest.mark.task("stratified-split")
@pytest.mark.points(1)
@pytest.mark.requires("test_split_is_a_stratified_partition")
def test_other_seed_other_split(submission, support, grading_seed):
    labels = support.make_labels(np.random.default_rng(grading_seed + 4), 200, 3, True)
    vals = []
    for seed in (grading_seed % 50, grading_seed % 50 + 1, grading_seed % 50 + 2):
        got = submission.stratified_split(labels, 0.3, seed)
        problem = support.split_problem(labels, 0.3, got)
        expect(problem is None, f"stratified_split(200 labels, 0.3, seed={seed}): {problem}")
        vals.append(tuple(support.as_indices(got[1])))
    expect(len(set(vals)) == 3, "Three different seeds gave only "
                                f"{len(set(vals))} different validation sets: build the random "
                                "generator from `seed`")


# fails for: lazy-raises
@pytest.mark.task("stratified-split")
@pytest.mark.points(1)
@pytest.mark.requires("test_split_is_a_stratified_partition")
def test_split_rejects_bad_fraction(harness):
    for fraction in (0, 1, -0.2, 1.5):
        raised = harness.split_raises(["a", "b", "a", "b"], fraction, 0)
        expect(raised == "ValueError",
               f"stratified_split(4 labels, val_fraction={fraction}) should raise ValueError, "
               + (f"not {raised}" if raised else "but it returned a split"))


# fails for: lazy-raises
@pytest.mark.task("stratified-split")
@pytest.mark.points(1)
def test_split_small_and_rare_classes(submission, support, grading_seed):
    cases = [(["only"], 0.5), (["a", "b", "c"], 0.5), ([0] * 9 + [1], 0.1),
             (["x"] * 3 + ["y"] * 50 + ["z"] * 2, 0.34), ([3, 1, 2, 1, 3, 3, 2], 0.9)]
    for labels, fraction in cases:
        got = submission.stratified_split(labels, fraction, grading_seed % 1000)
        problem = support.split_problem(labels, fraction, got)
        expect(problem is None, f"stratified_split({labels!r}, {fraction}): {problem}")


# --- config ----------------------------------------------------------------------------------


# fails for: lazy-raises
@pytest.mark.task("config")
@pytest.mark.points(1)
@pytest.mark.requires("test_config_loads_valid_files")
def test_config_unknown_keys_are_named(harness, support, grading_seed):
    def body(example):
        config, suffix, index = copy.deepcopy(example)
        key, what, mutate = support.UNKNOWN_KEYS[index]
        mutate(config)
        text = support.to_text(config, suffix)
        problem = support.error_problem(harness.load_config_text(text, suffix), key)
        expect(problem is None, f"load_config on a config{suffix} file where `{key}` {what}:"
                                f"\n{text}\n{problem}")

    strategy = st.tuples(support.valid_configs, support.suffixes,
                         st.integers(0, len(support.UNKNOWN_KEYS) - 1))
    support.check_property(grading_seed, strategy, body, (support.SIMPLE_CONFIG, ".toml", 2),
                           examples=12)


# fails for: lazy-raises
@pytest.mark.task("config")
@pytest.mark.points(1)
@pytest.mark.requires("test_config_loads_valid_files")
def test_config_yaml_cannot_run_code(harness):
    text = ("model: !!python/object/apply:os.getcwd []\nlearning_rate: 0.01\nbatch_size: 8\n"
            "data:\n  path: data/train.csv\n")
    got = harness.load_config_text(text, ".yaml")
    expect(got.get("raised") is not None,
           "load_config accepted a YAML file whose `model` is the Python tag "
           "`!!python/object/apply:os.getcwd []`: it ran os.getcwd() while reading a config. "
           "Read YAML with yaml.safe_load, which refuses such tags")
    expect(got.get("config_error"),
           f"On a YAML file with a `!!python/object/apply` tag, load_config raised "
           f"{got.get('raised')}: turn the YAML error into a ConfigError")


# fails for: lazy-raises
@pytest.mark.task("config")
@pytest.mark.points(1)
@pytest.mark.requires("test_config_loads_valid_files")
def test_config_bad_files(harness, support):
    cases = [
        ('{"model": "mlp", "learning_rate": 0.1, "batch_size": 8, "data": {"path": "d.csv"}}',
         ".json", "a .json file (an unsupported format)"),
        ('model = "mlp"\nlearning_rate = 0.1\nbatch_size = = 8\n', ".toml",
         "a TOML file that does not parse"),
        ("model: mlp\n  learning_rate: [0.1\n", ".yaml", "a YAML file that does not parse"),
        ("- model: mlp\n- batch_size: 8\n", ".yml", "a YAML file holding a list, not a mapping"),
        ("", ".yaml", "an empty YAML file"),
    ]
    for text, suffix, what in cases:
        got = harness.load_config_text(text, suffix)
        expect(got.get("raised") is not None and got.get("config_error"),
               f"load_config on {what} should raise ConfigError; "
               + (f"it raised {got.get('raised')}" if got.get("raised") else
                  f"it returned {support.short(got.get('value'), 120)}"))


# fails for: lazy-raises
@pytest.mark.task("config")
@pytest.mark.points(1)
def test_config_types_and_defaults(harness, support):
    text = ('model = "resnet"\nlearning_rate = 1\nbatch_size = 16\nlayers = []\n\n'
            '[data]\npath = "data/x.csv"\n')
    got = harness.load_config_text(text, ".toml")
    config = {"model": "resnet", "learning_rate": 1, "batch_size": 16, "layers": [],
              "data": {"path": "data/x.csv"}}
    problem = support.config_problem(got, support.expected_config(config, ".toml"))
    expect(problem is None, f"load_config on this config.toml:\n{text}\n{problem}")
    text = ("model: mlp\nlearning_rate: 3.0e-4\nbatch_size: 64\nseed: ~\nepochs: 3\n"
            "data:\n  path: d.parquet\n  val_fraction: 0.5\n")
    got = harness.load_config_text(text, ".yml")
    config = {"model": "mlp", "learning_rate": 3.0e-4, "batch_size": 64, "seed": None,
              "epochs": 3, "data": {"path": "d.parquet", "val_fraction": 0.5}}
    problem = support.config_problem(got, support.expected_config(config, ".yml"))
    expect(problem is None, f"load_config on this config.yml:\n{text}\n{problem}")


# --- vectorised ------------------------------------------------------------------------------


# fails for: lazy-raises
@pytest.mark.task("vectorised")
@pytest.mark.points(1)
def test_distances_to_itself(submission, support, grading_seed):
    rng = np.random.default_rng(grading_seed + 5)
    a = rng.standard_normal((25, 16))
    a[3] = a[7]  # a repeated point
    got = submission.pairwise_distances(a, a)
    problem = support.array_problem(got, cdist(a, a), "pairwise_distances(a, a)")
    hint = (". The diagonal is 0 in theory, but |x|² + |x|² - 2 x·x can round to a tiny "
            "negative number: clip at 0 before np.sqrt") if problem and "nan" in problem else ""
    expect(problem is None, f"{problem}{hint}")


# fails for: lazy-raises
@pytest.mark.task("vectorised")
@pytest.mark.points(1)
def test_softmax_extremes(submission, support, grading_seed):
    rng = np.random.default_rng(grading_seed + 6)
    cases = {
        "logits of +-10000": 1e4 * rng.standard_normal((6, 5)),
        "equal logits": np.full((3, 4), 7.0),
        "masked (-inf) logits": np.where(rng.random((5, 6)) < 0.4, -math.inf,
                                         rng.standard_normal((5, 6))),
    }
    cases["masked (-inf) logits"][:, 0] = 1.0  # every row keeps one finite logit
    for what, x in cases.items():
        got = submission.softmax(x)
        problem = support.array_problem(got, reference_softmax(x, axis=-1),
                                        f"softmax on {what}")
        expect(problem is None, problem)


# fails for: lazy-raises
@pytest.mark.task("vectorised")
@pytest.mark.points(1)
def test_softmax_default_axis_and_1d(submission, support, grading_seed):
    x = np.random.default_rng(grading_seed + 7).standard_normal((2, 3, 4))
    got = submission.softmax(x)
    problem = support.array_problem(got, reference_softmax(x, axis=-1),
                                    "softmax(x) on shape (2, 3, 4) with the default axis")
    expect(problem is None, problem)
    v = np.array([1.0, 2.0, 3.0])
    problem = support.array_problem(submission.softmax(v), reference_softmax(v),
                                    "softmax(np.array([1.0, 2.0, 3.0]))")
    expect(problem is None, problem)
