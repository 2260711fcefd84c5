"""Hidden tests for r-statistics: bootstrap resamples and data with holes in unused columns.

The datasets are made here, in the grader's process, from this run's seed.
"""

import pytest

from grader.testing import expect


@pytest.fixture(scope="module")
def runs(submission, support, exercise_dir, grading_seed):
    """Every call of this file in one R session: {(name, dataset): result}, and the datasets."""
    data = {"bootstrap": support.resample(exercise_dir, grading_seed + 2, "bootstrap"),
            "holes": support.resample(exercise_dir, grading_seed + 3, "holes")}
    jobs = {("fit_logistic", "bootstrap"): [], ("fit_logistic", "holes"): [],
            ("odds_ratios", "holes"): []}
    for species in support.SPECIES:
        jobs[(f"compare_body_mass:{species}", "bootstrap")] = [species]
    results = support.call(submission, [
        {"fn": name.split(":")[0], "csv": data[dataset], "args": args}
        for (name, dataset), args in jobs.items()])
    return dict(zip(jobs, results, strict=True)), data


DATASETS = {"bootstrap": "a bootstrap resample of the data (rows drawn with replacement)",
            "holes": "a resample where some island, flipper_length_mm and year values are NA"}


# fails for: linear-probability, pasted-visible-results, lazy-constant
@pytest.mark.task("logistic")
@pytest.mark.points(1)
@pytest.mark.parametrize("dataset", ["bootstrap", "holes"])
def test_logistic_on_hidden_data(runs, support, dataset):
    results, data = runs
    what = f"fit_logistic(df) on {DATASETS[dataset]}"
    got = support.value(results[("fit_logistic", dataset)], what, "fit_logistic")
    refs = support.logistic_references(support.frame(data[dataset]))
    problem = support.logistic_problem(got, refs, what)
    expect(problem is None, problem)


# fails for: linear-probability, pasted-visible-results, lazy-constant
@pytest.mark.task("odds-ratios")
@pytest.mark.points(1)
def test_odds_ratios_on_hidden_data(runs, support):
    results, data = runs
    what = f"odds_ratios(df) on {DATASETS['holes']}"
    got = support.value(results[("odds_ratios", "holes")], what, "odds_ratios")
    refs = support.logistic_references(support.frame(data["holes"]))
    problem = support.odds_problem(got, refs, what)
    expect(problem is None, problem)


# fails for: pooled-t-test, pasted-visible-results, lazy-constant
@pytest.mark.task("t-test")
@pytest.mark.points(1)
def test_welch_t_test_on_bootstrap(runs, support):
    results, data = runs
    df = support.frame(data["bootstrap"])
    for species in support.SPECIES:
        what = f'compare_body_mass(df, "{species}") on {DATASETS["bootstrap"]}'
        got = support.value(results[(f"compare_body_mass:{species}", "bootstrap")], what,
                            "compare_body_mass")
        problem = support.t_test_problem(got, support.t_test_reference(df, species), what)
        expect(problem is None, problem)


# fails for: pasted-visible-results, lazy-constant
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_on_hidden_data(submission, support, exercise_dir, grading_seed):
    csv = support.resample(exercise_dir, grading_seed + 4, "holes")
    problem = support.report_problem(submission.harness.report(csv), csv,
                                     "Rscript analysis.R <a hidden resample>.csv results.json")
    expect(problem is None, problem)
