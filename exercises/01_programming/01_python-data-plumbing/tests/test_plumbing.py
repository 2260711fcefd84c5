"""Public tests for python-data-plumbing: hypothesis properties on inputs drawn for this run.

Every example is generated in the grader's process from this run's seed and sent to your code
through the proxy; what comes back is judged here. A failing property is shrunk to a small
input, which the message shows.
"""

import copy

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

# --- Task 1: batched -------------------------------------------------------------------------


# fails for: loses-last-batch, lazy-raises
@pytest.mark.task("batched")
@pytest.mark.points(2)
def test_batched_keeps_every_item_in_order(harness, support, grading_seed):
    def body(example):
        items, size = example
        got = harness.batches(items, size)
        problem = support.batch_problem(items, size, got)
        expect(problem is None, f"batched({support.short(items)}, size={size}): {problem}")

    strategy = st.tuples(support.items_strategy, st.integers(1, 12))
    support.check_property(grading_seed, strategy, body, ([1, 2, 3, 4, 5], 2), examples=60)


# fails for: reads-everything, lazy-raises
@pytest.mark.task("batched")
@pytest.mark.points(1)
@pytest.mark.requires("test_batched_keeps_every_item_in_order")
def test_batched_is_lazy(harness, support, grading_seed):
    size = 3 + grading_seed % 29
    got, pulled = harness.lazy_batches(size, 3, 1_000_000)
    problem = support.batch_problem(list(range(3 * size)), size, got)
    expect(problem is None, f"the first 3 batches of a generator, size={size}: {problem}")
    expect(pulled <= 4 * size,
           f"to give the first 3 batches of size {size}, batched() read {pulled:,} items from "
           "a generator of 1,000,000: it must read one batch at a time (itertools.islice), "
           "never list() the whole input, which may be endless")


# --- Task 2: running-stats -------------------------------------------------------------------

_streams = st.tuples(st.integers(1, 150), st.floats(-1e3, 1e3),
                     st.sampled_from([1e-3, 0.1, 1.0, 100.0]), st.integers(0, 2**32 - 1))


def _stream(example):
    n, loc, scale, seed = example
    return loc + scale * np.random.default_rng(seed).standard_normal(n)


# fails for: lazy-raises
@pytest.mark.task("running-stats")
@pytest.mark.points(2)
def test_running_stats_match_numpy(harness, support, grading_seed):
    def body(example):
        values = _stream(example)
        got = harness.stream_stats(values.tolist(), [0, 1])["final"]
        problem = support.stats_problem(values, got, [0, 1], rel=1e-7)
        expect(problem is None, f"After pushing {support.describe_stream(values)}: {problem}")

    support.check_property(grading_seed, _streams, body, (5, 0.0, 1.0, 0), examples=40,
                           show=lambda e: support.describe_stream(_stream(e)))


# fails for: naive-variance, lazy-raises
@pytest.mark.task("running-stats")
@pytest.mark.points(1)
@pytest.mark.requires("test_running_stats_match_numpy")
def test_running_stats_stable_on_large_offset(harness, support, grading_seed):
    rng = np.random.default_rng(grading_seed)
    values = 1e9 + rng.standard_normal(2000)
    got = harness.stream_stats(values.tolist(), [0, 1])["final"]
    problem = support.stats_problem(values, got, [0, 1], rel=1e-5)
    expect(problem is None,
           f"After pushing {support.describe_stream(values)}: {problem}. Values far from 0 "
           "with a small spread break the E[x²] - E[x]² shortcut (catastrophic cancellation): "
           "update the mean and m2 incrementally, as Welford's algorithm does")


# --- Task 3: stratified-split ----------------------------------------------------------------

_splits = st.tuples(st.integers(1, 250), st.integers(1, 6), st.booleans(),
                    st.floats(0.05, 0.95), st.integers(0, 2**31), st.integers(0, 2**32 - 1))


# fails for: lazy-raises
@pytest.mark.task("stratified-split")
@pytest.mark.points(2)
def test_split_is_a_stratified_partition(submission, support, grading_seed):
    def body(example):
        n, k, as_text, fraction, seed, data_seed = example
        labels = support.make_labels(np.random.default_rng(data_seed), n, k, as_text)
        got = submission.stratified_split(labels, fraction, seed)
        problem = support.split_problem(labels, fraction, got)
        expect(problem is None, f"stratified_split({support.short(labels, 100)}, "
                                f"val_fraction={fraction:.3f}, seed={seed}): {problem}")

    support.check_property(grading_seed, _splits, body, (10, 2, True, 0.2, 0, 0), examples=50)


# fails for: unseeded-split, lazy-raises
@pytest.mark.task("stratified-split")
@pytest.mark.points(1)
@pytest.mark.requires("test_split_is_a_stratified_partition")
def test_same_seed_gives_same_split(harness, support, grading_seed):
    labels = support.make_labels(np.random.default_rng(grading_seed), 240, 3, True)
    seed = grading_seed % 1000
    first, second = harness.split_after_reseeding(labels, 0.25, seed, [1, 2])
    problem = support.split_problem(labels, 0.25, first)
    expect(problem is None, f"stratified_split(240 labels, 0.25, seed={seed}): {problem}")
    same = [support.as_indices(part) for part in first] == \
        [support.as_indices(part) for part in second]
    expect(same, f"Two calls of stratified_split(240 labels, 0.25, seed={seed}) gave different "
                 "splits: draw with a generator made from `seed` (np.random.default_rng(seed) "
                 "or random.Random(seed)), not with the global random or np.random functions")


# --- Task 4: config --------------------------------------------------------------------------


# fails for: lazy-raises
@pytest.mark.task("config")
@pytest.mark.points(2)
def test_config_loads_valid_files(harness, support, grading_seed):
    def body(example):
        config, suffix = example
        text = support.to_text(config, suffix)
        got = harness.load_config_text(text, suffix)
        problem = support.config_problem(got, support.expected_config(config, suffix))
        expect(problem is None, f"load_config on this config{suffix} file:\n{text}\n{problem}")

    strategy = st.tuples(support.valid_configs, support.suffixes)
    support.check_property(grading_seed, strategy, body, (support.SIMPLE_CONFIG, ".toml"),
                           examples=30,
                           show=lambda e: f"config{e[1]} {support.short(e[0])}")


# fails for: lazy-raises
@pytest.mark.task("config")
@pytest.mark.points(2)
@pytest.mark.requires("test_config_loads_valid_files")
def test_config_errors_name_the_field(harness, support, grading_seed):
    def body(example):
        config, suffix, index = copy.deepcopy(example)
        field, what, mutate = support.MUTATIONS[index]
        mutate(config)
        text = support.to_text(config, suffix)
        got = harness.load_config_text(text, suffix)
        problem = support.error_problem(got, field)
        expect(problem is None, f"load_config on a config{suffix} file where `{field}` {what}:"
                                f"\n{text}\n{problem}")

    strategy = st.tuples(support.valid_configs, support.suffixes,
                         st.integers(0, len(support.MUTATIONS) - 1))
    support.check_property(grading_seed, strategy, body, (support.SIMPLE_CONFIG, ".yaml", 2),
                           examples=40,
                           show=lambda e: f"config{e[1]} {support.short(e[0])}")


# --- Task 5: vectorised ----------------------------------------------------------------------

_points = st.tuples(st.integers(1, 30), st.integers(1, 30), st.integers(1, 12),
                    st.sampled_from([0.01, 1.0, 10.0]), st.integers(0, 2**32 - 1))


# fails for: lazy-raises
@pytest.mark.task("vectorised")
@pytest.mark.points(1)
def test_pairwise_distances_match_reference(submission, support, grading_seed):
    def body(example):
        n, m, d, scale, seed = example
        rng = np.random.default_rng(seed)
        a, b = scale * rng.standard_normal((n, d)), scale * rng.standard_normal((m, d))
        got = submission.pairwise_distances(a, b)
        what = f"pairwise_distances(a of shape {a.shape}, b of shape {b.shape})"
        problem = support.array_problem(got, cdist(a, b), what)
        expect(problem is None, problem)

    support.check_property(grading_seed, _points, body, (3, 2, 2, 1.0, 0), examples=40)


_logits = st.tuples(st.lists(st.integers(1, 7), min_size=1, max_size=3),
                    st.sampled_from([1.0, 30.0, 1000.0]), st.integers(0, 2**32 - 1),
                    st.integers(0, 5))


# fails for: lazy-raises
@pytest.mark.task("vectorised")
@pytest.mark.points(1)
def test_softmax_matches_reference(submission, support, grading_seed):
    def body(example):
        shape, scale, seed, axis_pick = example
        x = scale * np.random.default_rng(seed).standard_normal(shape)
        axis = axis_pick % x.ndim - (x.ndim if axis_pick % 2 else 0)
        got = submission.softmax(x, axis=axis)
        what = f"softmax({support.describe_array(x)}, axis={axis})"
        problem = support.array_problem(got, reference_softmax(x, axis=axis), what)
        if problem and scale >= 1000 and type(got) is np.ndarray and \
                not np.isfinite(got).all():
            problem += (": exp() of a large logit overflows to inf. Subtract the maximum along "
                        "the axis first")
        expect(problem is None, problem)

    support.check_property(grading_seed, _logits, body, ([2, 3], 1.0, 0, 0), examples=40)


# fails for: loop-distances, lazy-raises
@pytest.mark.task("vectorised")
@pytest.mark.points(1)
@pytest.mark.parametrize("function", ["pairwise_distances", "softmax"])
def test_no_python_loops(submission, support, function):
    a = np.array([[0.0, 3.0], [1.0, 1.0]])
    b = np.array([[0.0, -1.0]])
    got = (submission.pairwise_distances(a, b) if function == "pairwise_distances"
           else submission.softmax(a))
    want = cdist(a, b) if function == "pairwise_distances" else reference_softmax(a, axis=-1)
    problem = support.array_problem(got, want, f"{function}() on a small example")
    expect(problem is None, f"{problem}. Get the result right first; then this check looks "
                            "for loops")
    loops = support.loops_in(submission.read_file("plumbing.py"), function)
    expect(not loops, f"{function}() must be vectorised, but it uses: {'; '.join(loops)}. "
                      "Replace the loop with numpy broadcasting (a[:, None, :] - b[None, :, :])"
                      " and reductions along an axis (.sum(axis=...), .max(axis=..., "
                      "keepdims=True))")
