"""Hidden tests for model-choice: budgets the learner never sees (limits met exactly, ties in
accuracy, nothing that fits) and a stub model with other costs."""

from __future__ import annotations

import random

import pytest

from grader.testing import expect


# fails for: ignores-size-limit, lazy
@pytest.mark.task("choose")
@pytest.mark.points(2)
def test_choose_is_pareto_optimal_for_hidden_budgets(submission, support, grading_seed):
    rng = random.Random(grading_seed * 7 + 1)
    for _ in range(6):
        table = support.random_table(rng, 8)
        # a budget that sits exactly on some candidate's latency and another's size
        p50 = rng.choice(table)["p50_ms"]
        size = rng.choice(table)["size_mb"]
        tie = dict(rng.choice(table), name="tie-copy")
        tie["p50_ms"] = round(tie["p50_ms"] + 0.5, 1)  # as accurate, slower: never chosen
        table.append(tie)
        rng.shuffle(table)
        got = submission.harness.chosen(table, p50, size)
        problem = support.choice_problem(table, p50, size, got)
        expect(problem is None, problem)
    table = support.random_table(rng, 5)
    got = submission.harness.chosen(table, 0.1, 0.1)
    expect(got is None, f"choose(<5 candidates>, max_p50_ms=0.1, max_size_mb=0.1) returned "
           f"{got!r}; nothing fits such a budget: return None")


# fails for: cpu-timer, lazy
@pytest.mark.task("latency")
@pytest.mark.points(1)
def test_latency_with_other_costs(submission, support, grading_seed):
    costs = dict(support.stub_costs(grading_seed + 5), cold_calls=3, spike_every=4)
    got = submission.harness.timed_stub(costs, 40, 8, 3, 11)
    p50 = got["result"]["p50_ms"] if isinstance(got["result"], dict) else None
    expect(isinstance(p50, int | float), "measure_latency must return {'p50_ms': ...}")
    problem = support.latency_mistake(float(p50), costs, 8, got["calls"], 3, 11)
    expect(problem is None, f"measure_latency(model, texts, batch_size=8, warmup=3, "
           f"repeats=11): {problem}")
