"""Public tests for debug-the-pipeline: each function's contract on the visible data.

Every test hands the function under test correct inputs built by the grader (labelled rows, a
stratified split, model matrices), so a bug elsewhere in pipeline.py never costs its points.
While pipeline.py is still the provided buggy file, every test is "not attempted".
"""

import pytest

from grader.testing import expect


@pytest.fixture(scope="module")
def data(support, exercise_dir):
    return support.visible(exercise_dir)


@pytest.fixture(scope="module")
def labelled(support, data):
    return support.labelled(*data)


@pytest.fixture(scope="module")
def parts(support, labelled):
    return support.grader_split(labelled, 0)


@pytest.fixture
def changed(submission, support):
    support.require_changed_pipeline(submission)


# fails for: deleted-check, do-nothing
@pytest.mark.task("attach-labels")
@pytest.mark.points(1)
def test_attach_labels_visible(changed, submission, support, data):
    support.check_attach_labels(submission, *data, "data/features.csv + data/labels.csv")


# fails for: do-nothing
@pytest.mark.task("split")
@pytest.mark.points(1)
def test_split_reproducible(changed, submission, support, labelled):
    support.check_split_reproducible(submission, labelled, 0, "the visible data")


# fails for: seeded-not-stratified, do-nothing
@pytest.mark.task("split")
@pytest.mark.points(1)
def test_split_stratified_partition(changed, submission, support, labelled):
    for s in range(4):  # one lucky unstratified split must not pass
        support.check_split(submission, labelled, s, "the visible data")


# fails for: do-nothing
@pytest.mark.task("prepare")
@pytest.mark.points(1)
def test_prepare_train_ignores_test_rows(changed, submission, support, parts):
    support.check_prepare_train_ignores_test(submission, *parts, "the visible data")


# fails for: do-nothing
@pytest.mark.task("prepare")
@pytest.mark.points(1)
def test_prepare_test_ignores_test_labels(changed, submission, support, parts):
    support.check_prepare_test_ignores_labels(submission, *parts, "the visible data")


# fails for: do-nothing
@pytest.mark.task("scoring")
@pytest.mark.points(1)
def test_one_customer_scored_like_a_batch(changed, submission, support, data):
    support.check_scoring(submission, support.prepared(*data, 0), "the visible data")


# fails for: do-nothing
@pytest.mark.task("evaluate")
@pytest.mark.points(1)
def test_evaluate_reports_test_metrics(changed, submission, support, data):
    support.check_evaluate(submission, support.prepared(*data, 0), "the visible data")


# fails for: category-only-diagnosis, do-nothing
@pytest.mark.task("diagnosis")
@pytest.mark.points(1)
def test_diagnosis_well_formed(submission, support):
    diagnosis = support.read_diagnosis(submission)
    rows = support.entries(diagnosis)
    problems = [p for i, e in enumerate(rows, start=1) for p in support.entry_problems(e, i)]
    expect(not problems, f"{support.DIAGNOSIS}: " + "; ".join(problems[:4]))
    places = [support.field(e, "location").removesuffix("()") for e in rows]
    expect(len(rows) >= 5 and len(set(places)) >= 5, f"{support.DIAGNOSIS} has {len(rows)} "
           f"entries in {len(set(places))} different functions; the pipeline holds five bugs, "
           "each in a different function: one entry per bug")
