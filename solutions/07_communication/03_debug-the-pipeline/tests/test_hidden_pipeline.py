"""Hidden tests for debug-the-pipeline: every fix on fresh data, and the diagnosis per bug.

Fresh datasets come from this run's seed. Each bug's diagnosis entry must put it in the right
function with a root cause that names it (see BUGS) and real evidence.
"""

import pytest

from grader.testing import expect

FRESH = [1, 2]


@pytest.fixture(scope="module")
def fresh(support, grading_seed):
    return [support.make(grading_seed + k) for k in FRESH]


@pytest.fixture
def changed(submission, support):
    support.require_changed_pipeline(submission)


# fails for: deleted-check, do-nothing
@pytest.mark.task("attach-labels")
@pytest.mark.points(1)
def test_attach_labels_fresh(changed, submission, support, fresh):
    support.check_attach_labels(submission, *fresh[0], "fresh data")


# fails for: positional-labels, deleted-check, do-nothing
@pytest.mark.task("attach-labels")
@pytest.mark.points(1)
def test_attach_labels_any_label_order(changed, submission, support, fresh, grading_seed):
    features, labels = fresh[1]
    shuffled = labels.sample(frac=1, random_state=grading_seed % 2**32).reset_index(drop=True)
    support.check_attach_labels(submission, features, shuffled,
                                "fresh data with the labels in another order")


# fails for: seeded-not-stratified, do-nothing
@pytest.mark.task("split")
@pytest.mark.points(1)
def test_split_fresh(changed, submission, support, fresh, grading_seed):
    df = support.labelled(*fresh[0])
    seed = grading_seed % 10_000
    support.check_split_reproducible(submission, df, seed, "fresh data")
    for s in range(seed, seed + 4):
        support.check_split(submission, df, s, "fresh data")


# fails for: do-nothing
@pytest.mark.task("prepare")
@pytest.mark.points(1)
def test_prepare_fresh(changed, submission, support, fresh, grading_seed):
    train, test = support.grader_split(support.labelled(*fresh[1]), grading_seed)
    support.check_prepare_train_ignores_test(submission, train, test, "fresh data")
    support.check_prepare_test_ignores_labels(submission, train, test, "fresh data")
    support.check_prepare_values(submission, train, test, "fresh data")


# fails for: do-nothing
@pytest.mark.task("scoring")
@pytest.mark.points(1)
@pytest.mark.parametrize("k", [0, 1], ids=["fresh1", "fresh2"])
def test_scoring_fresh(changed, submission, support, fresh, grading_seed, k):
    support.check_scoring(submission, support.prepared(*fresh[k], grading_seed + k),
                          f"fresh data ({k + 1})")


# fails for: do-nothing
@pytest.mark.task("evaluate")
@pytest.mark.points(1)
@pytest.mark.parametrize("k", [0, 1], ids=["fresh1", "fresh2"])
def test_evaluate_fresh(changed, submission, support, fresh, grading_seed, k):
    support.check_evaluate(submission, support.prepared(*fresh[k], grading_seed + k),
                           f"fresh data ({k + 1})")


# What evidence must point at, per bug (hidden: these name the answers). Lower-case fragments
# of the buggy lines, of the call that fixes them, or of exactly what they did; never the
# vocabulary's own words, so restating the root cause is not evidence.
BUGGY_CODE = {
    "attach-labels": ("labels.iloc[1:]", "df[TARGET] = labels[TARGET]"),
    "split": ("train_test_split(df, test_size=0.25)",),
    "prepare": ("pd.concat([train, test])", "everything[NUMERIC]", "_region_rates(everything)"),
    "scoring": ("Standardizer().train()", 'model["scaler"](X)'),
    "evaluate": ("predict(model, X_train)", "(y_train, p"),
}
POINTERS = {
    "attach-labels": ("iloc", "labels[target]", "position", "shifted", "off by one",
                      "off-by-one", "units row", "first row", "next row", "row below",
                      "customer_id", "merge"),
    "split": ("train_test_split", "random_state", "stratify", "seed=", "seed 0", "two runs"),
    "prepare": ("concat", "everything", "_region_rates", "median", "region rate",
                "churn rate", "x_train", "x_test"),
    "scoring": ("standardizer", "scaler", "eval(", ".eval", "mean_", "std_", "one at a time",
                "alone", "same score", "same probability"),
    "evaluate": ("x_train", "y_train", "x_test", "y_test", "predict(model"),
}


def bugs(support, exercise_dir):
    def bug(task, locations, causes):
        lines = support.lines_with(exercise_dir / support.PIPELINE, BUGGY_CODE[task])
        return support.Bug(locations, causes, POINTERS[task], lines)

    return {
        "attach-labels": bug("attach-labels", ("attach_labels",), ("label-misalignment",)),
        "split": bug("split", ("split",), ("unseeded-split", "unstratified-split")),
        "prepare": bug("prepare", ("prepare", "_region_rates"), ("data-leakage",)),
        "scoring": bug("scoring", ("train", "predict", "Standardizer"),
                       ("train-mode-at-inference",)),
        "evaluate": bug("evaluate", ("evaluate",), ("metric-on-training-data",)),
    }


DIAGNOSED = [pytest.param(t, marks=pytest.mark.task(t), id=t)
             for t in ("attach-labels", "split", "prepare", "scoring", "evaluate")]


# fails for: wrong-causes, category-only-diagnosis, do-nothing
@pytest.mark.points(1)
@pytest.mark.parametrize("task", DIAGNOSED)
def test_diagnosis_names_the_bug(submission, support, exercise_dir, task):
    diagnosis = support.read_diagnosis(submission)
    ok, why = support.names_bug(diagnosis, bugs(support, exercise_dir)[task])
    expect(ok, f"{support.DIAGNOSIS}: {why}. Give the function that held the bug, the root "
           "cause from the vocabulary that explains the symptom, and evidence that points at "
           "the code")
