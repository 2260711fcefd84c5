"""Public tests for r-statistics: analysis.R run by Rscript, compared with numpy/scipy.

Your functions run in one R session on the visible data and on a fresh resample picked by this
run's seed; the reference logistic regression (IRLS in numpy) and Welch's t-test (scipy) are
computed here, in the grader's process.
"""

import pytest

from grader.testing import expect


@pytest.fixture(scope="module")
def runs(submission, support, exercise_dir, grading_seed):
    """Every call of this file in one R session: {(name, dataset): result}, and the datasets."""
    data = {"visible": support.public_csv(exercise_dir),
            "fresh": support.resample(exercise_dir, grading_seed + 1, "subsample")}
    jobs = {("fit_logistic", "visible"): [], ("fit_logistic", "fresh"): [],
            ("odds_ratios", "visible"): []}
    for species in support.SPECIES:
        jobs[(f"compare_body_mass:{species}", "visible")] = [species]
        jobs[(f"compare_body_mass:{species}", "fresh")] = [species]
    results = support.call(submission, [
        {"fn": name.split(":")[0], "csv": data[dataset], "args": args}
        for (name, dataset), args in jobs.items()])
    return dict(zip(jobs, results, strict=True)), data


DATASETS = {"visible": "data/penguins.csv", "fresh": "a fresh 80% resample of the data"}


# fails for: linear-probability, pasted-visible-results, lazy-constant
@pytest.mark.task("logistic")
@pytest.mark.points(1)
@pytest.mark.parametrize("dataset", ["visible", "fresh"])
def test_logistic_regression(runs, support, dataset):
    results, data = runs
    what = f"fit_logistic(df) on {DATASETS[dataset]}"
    got = support.value(results[("fit_logistic", dataset)], what, "fit_logistic")
    refs = support.logistic_references(support.frame(data[dataset]))
    problem = support.logistic_problem(got, refs, what)
    expect(problem is None, problem)


# fails for: linear-probability, lazy-constant
@pytest.mark.task("odds-ratios")
@pytest.mark.points(1)
def test_odds_ratios(runs, support):
    results, data = runs
    what = f"odds_ratios(df) on {DATASETS['visible']}"
    got = support.value(results[("odds_ratios", "visible")], what, "odds_ratios")
    refs = support.logistic_references(support.frame(data["visible"]))
    problem = support.odds_problem(got, refs, what)
    expect(problem is None, problem)


# fails for: pooled-t-test, pasted-visible-results, lazy-constant
@pytest.mark.task("t-test")
@pytest.mark.points(1)
@pytest.mark.parametrize("dataset", ["visible", "fresh"])
def test_welch_t_test(runs, support, dataset):
    results, data = runs
    df = support.frame(data[dataset])
    for species in support.SPECIES:
        what = f'compare_body_mass(df, "{species}") on {DATASETS[dataset]}'
        got = support.value(results[(f"compare_body_mass:{species}", dataset)], what,
                            "compare_body_mass")
        problem = support.t_test_problem(got, support.t_test_reference(df, species), what)
        expect(problem is None, problem)


# fails for: pooled-t-test, linear-probability, lazy-constant
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_json(submission, support, exercise_dir):
    csv = support.public_csv(exercise_dir)
    problem = support.report_problem(submission.harness.report(csv), csv,
                                      "Rscript analysis.R data/penguins.csv results.json")
    expect(problem is None, problem)
