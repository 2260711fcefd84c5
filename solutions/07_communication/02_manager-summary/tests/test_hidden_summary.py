"""Hidden tests for manager-summary: the cost function and the chart on fresh scenarios.

The scenarios come from this run's seed, so a function or chart that only fits data/inputs.json
scores nothing here.
"""

import pytest


# fails for: hard-coded-costs, keyword-stuffed
@pytest.mark.task("cost")
@pytest.mark.points(1)
@pytest.mark.parametrize("k", [1, 2, 3], ids=["fresh1", "fresh2", "fresh3"])
def test_cost_on_fresh_counts(submission, support, grading_seed, k):
    counts, costs = support.fresh_counts(grading_seed + k)
    support.check_cost(submission, counts, costs, f"a fresh scenario ({k})")


# fails for: keyword-stuffed (gated: a function that always returns 0.0 passes the check itself)
@pytest.mark.task("cost")
@pytest.mark.points(1)
@pytest.mark.requires("test_cost_on_visible_inputs")
def test_cost_without_errors_is_zero(submission, support):
    counts = {"caught": 12, "false_alarms": 0, "missed": 0, "cleared": 1988}
    support.check_cost(submission, counts, {"missed": 250.0, "false_alarm": 15.0},
                       "a sample with no errors")


# fails for: chart-defaults-pasted-values, hard-coded-costs, invisible-bars
@pytest.mark.task("chart")
@pytest.mark.points(1)
def test_chart_shows_fresh_costs(submission, support, grading_seed):
    inputs = support.fresh_inputs(grading_seed + 11)
    chart = submission.harness.describe_chart(inputs)
    support.check_chart_data(chart, inputs, "a fresh scenario")
