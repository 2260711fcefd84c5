"""Public tests for pandas-cleaning: every step on the visible export and on fresh ones.

Each step is called on a correct output of the step before it (built by ``support.make``), so
a mistake in one step does not cost the others. Fresh exports come from this run's seed: the
same kinds of mess as the visible file, in other rows and other amounts.
"""

import pytest

from grader.testing import expect

STEPS = ["missing", "dedupe", "categories", "dates", "units", "swapped", "impossible"]
BY_STEP = [pytest.param(step, marks=pytest.mark.task(step), id=step) for step in STEPS]


def _run(submission, support, step, ds):
    got = getattr(submission, support.FUNCTIONS[step])(ds.step_input(step))
    problem = support.explain(step, got, ds)
    expect(problem is None, problem)


# fails for: do-nothing, no-unit-conversion, keep-first-id, do-nothing-dedupe
@pytest.mark.points(1)
@pytest.mark.parametrize("step", BY_STEP)
def test_step_on_visible_export(submission, support, exercise_dir, step):
    _run(submission, support, step, support.visible(exercise_dir))


# fails for: hardcoded-seed0, do-nothing, no-unit-conversion, keep-first-id
@pytest.mark.points(1)
@pytest.mark.parametrize("k", [1, 2], ids=["fresh1", "fresh2"])
@pytest.mark.parametrize("step", BY_STEP)
def test_step_on_fresh_export(submission, support, grading_seed, step, k):
    _run(submission, support, step, support.make(grading_seed + k))


# fails for: do-nothing, keep-first-id, do-nothing-dedupe
@pytest.mark.task("pipeline")
@pytest.mark.points(2)
def test_clean_on_visible_export(submission, support, exercise_dir):
    _run(submission, support, "pipeline", support.visible(exercise_dir))


# fails for: hardcoded-seed0, do-nothing, keep-first-id, do-nothing-dedupe
@pytest.mark.task("pipeline")
@pytest.mark.points(2)
@pytest.mark.parametrize("k", [1, 2], ids=["fresh1", "fresh2"])
def test_clean_on_fresh_export(submission, support, grading_seed, k):
    _run(submission, support, "pipeline", support.make(grading_seed + k))
