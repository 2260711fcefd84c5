"""Hidden tests for javascript-inference: other models, other datasets, extreme inputs.

Models and rows are made in the grader's process from this run's seed; only the exported JSON
and the rows reach predict.mjs.
"""

import numpy as np
import pytest

from grader.testing import expect


def _proba_case(submission, support, seed, dataset, model, n=40, **kwargs):
    pipeline, model_json, pool = support.trained(dataset, model, seed, **kwargs)
    rows = support.noisy_rows(pool, seed + 11, n)
    (result,) = support.call(submission, [("predictProba", [model_json, rows.tolist()])])
    what = f"predictProba on {support.describe_model(model_json)} for {n} rows"
    return support.proba_problem(result, pipeline.predict_proba(rows), what,
                                 support.skipped_scaler(pipeline, rows))


# fails for: lazy-constant
@pytest.mark.task("standardize")
@pytest.mark.points(1)
def test_standardize_other_scaler(submission, support, grading_seed):
    pipeline, model_json, pool = support.trained("breast_cancer", "logreg", grading_seed + 20)
    rows = support.noisy_rows(pool, grading_seed + 21, 30)
    (result,) = support.call(submission, [("standardize", [model_json["steps"][0],
                                                           rows.tolist()])])
    got, error = support.outcome(result, "standardize(scaler, 30 rows)")
    expect(error is None, error)
    matrix = support.as_matrix(got)
    want = pipeline.named_steps["scale"].transform(rows)
    expect(matrix is not None and matrix.shape == want.shape and
           np.allclose(matrix, want, rtol=0, atol=1e-12),
           "standardize(scaler of 30 features, 30 rows) differs from StandardScaler.transform")


# fails for: unstable-sigmoid, lazy-constant
@pytest.mark.task("stable-math")
@pytest.mark.points(1)
def test_softmax_with_many_and_equal_values(submission, support, grading_seed):
    rng = np.random.default_rng(grading_seed + 22)
    vectors = [[5.0] * 6, (1e4 * rng.standard_normal(10)).tolist(), [-1e5, 1e5],
               [0.0, -745.0, -1000.0]]
    results = support.call(submission, [("softmax", [v]) for v in vectors])
    from scipy.special import softmax as reference_softmax

    for v, result in zip(vectors, results, strict=True):
        got, error = support.outcome(result, f"softmax(array of {len(v)})")
        expect(error is None, error)
        ok = type(got) is list and len(got) == len(v) and all(
            isinstance(x, float | int) for x in got) and np.allclose(
            np.array(got, dtype=float), reference_softmax(v), rtol=0, atol=1e-12)
        overflowed = type(got) is list and any(
            x is None or (isinstance(x, float) and not np.isfinite(x)) for x in got)
        expect(ok, f"softmax on an array of {len(v)} values up to {max(map(abs, v)):.3g} in size "
                   f"returned {support._short(got)}"
                   + (": e^x overflowed to Infinity (anything above e^709 does in float64). "
                      "Subtract the largest value before Math.exp, so no exponent is positive"
                      if overflowed else ""))


# fails for: forgot-to-standardise, pasted-visible-model, lazy-constant
@pytest.mark.task("logistic")
@pytest.mark.points(1)
def test_logistic_on_iris(submission, support, grading_seed):
    problem = _proba_case(submission, support, grading_seed + 23, "iris", "logreg")
    expect(problem is None, problem)


# fails for: swapped-columns, forgot-to-standardise, pasted-visible-model, lazy-constant
@pytest.mark.task("logistic")
@pytest.mark.points(1)
def test_logistic_on_another_resample(submission, support, grading_seed):
    problem = _proba_case(submission, support, grading_seed + 24, "breast_cancer", "logreg",
                          n=120)
    expect(problem is None, problem)


# fails for: forgot-to-standardise, pasted-visible-model, lazy-constant
@pytest.mark.task("mlp")
@pytest.mark.points(1)
def test_mlp_two_tanh_layers_binary(submission, support, grading_seed):
    problem = _proba_case(submission, support, grading_seed + 25, "breast_cancer", "mlp",
                          hidden=(8, 4), activation="tanh")
    expect(problem is None, problem)


# fails for: forgot-to-standardise, pasted-visible-model, lazy-constant
@pytest.mark.task("mlp")
@pytest.mark.points(1)
def test_mlp_logistic_and_identity_activations(submission, support, grading_seed):
    for activation in ("logistic", "identity"):
        problem = _proba_case(submission, support, grading_seed + 26, "iris", "mlp",
                              hidden=(6,), activation=activation)
        expect(problem is None, problem)


# fails for: swapped-columns, index-not-label, pasted-visible-model, lazy-constant
@pytest.mark.task("predict")
@pytest.mark.points(1)
@pytest.mark.requires("test_binary_logistic_regression")
def test_predict_binary_labels(submission, support, grading_seed):
    pipeline, model_json, pool = support.trained("breast_cancer", "logreg", grading_seed + 27)
    rows = support.noisy_rows(pool, grading_seed + 28, 60)
    (result,) = support.call(submission, [("predict", [model_json, rows.tolist()])])
    problem = support.labels_problem(result, pipeline.predict(rows).tolist(),
                                     f"predict on {support.describe_model(model_json)}",
                                     model_json["classes"],
                                     support.skipped_scaler_labels(pipeline, rows))
    expect(problem is None, problem)


# fails for: index-not-label, forgot-to-standardise, pasted-visible-model, lazy-constant
@pytest.mark.task("predict")
@pytest.mark.points(1)
@pytest.mark.requires("test_mlp_relu_softmax")
def test_predict_with_an_mlp(submission, support, grading_seed):
    pipeline, model_json, pool = support.trained("iris", "mlp", grading_seed + 29, hidden=(6,))
    rows = support.noisy_rows(pool, grading_seed + 30, 40)
    (result,) = support.call(submission, [("predict", [model_json, rows.tolist()])])
    problem = support.labels_problem(result, pipeline.predict(rows).tolist(),
                                     f"predict on {support.describe_model(model_json)}",
                                     model_json["classes"],
                                     support.skipped_scaler_labels(pipeline, rows))
    expect(problem is None, problem)


# fails for: unstable-sigmoid, pasted-visible-model, lazy-constant
@pytest.mark.task("edge-cases")
@pytest.mark.points(1)
@pytest.mark.requires("test_binary_logistic_regression", "test_multiclass_logistic_regression",
                      "test_mlp_relu_softmax")
def test_extreme_feature_values(submission, support, grading_seed):
    cases = [("breast_cancer", "logreg", {}), ("wine", "logreg", {}), ("wine", "mlp", {})]
    for dataset, model, kwargs in cases:
        pipeline, model_json, _ = support.trained(dataset, model, grading_seed, **kwargs)
        rows = support.extreme_rows(model_json, grading_seed + 31, 8, 1e4)
        (result,) = support.call(submission, [("predictProba", [model_json, rows.tolist()])])
        what = (f"predictProba on {support.describe_model(model_json)} for rows 10,000 standard "
                "deviations from the mean")
        problem = support.proba_problem(result, pipeline.predict_proba(rows), what,
                                        support.skipped_scaler(pipeline, rows))
        expect(problem is None, problem)


# fails for: pasted-visible-model, lazy-constant
@pytest.mark.task("edge-cases")
@pytest.mark.points(1)
def test_no_rows_and_untouched_input(submission, support, grading_seed):
    pipeline, model_json, pool = support.trained("wine", "mlp", grading_seed)
    rows = support.noisy_rows(pool, grading_seed + 32, 5)
    results = support.call(submission, [("predictProba", [model_json, []]),
                                        ("predict", [model_json, []]),
                                        ("predictProba", [model_json, rows.tolist()])])
    for name, result in zip(("predictProba", "predict"), results[:2], strict=True):
        got, error = support.outcome(result, f"{name}(model, [])")
        expect(error is None, error)
        expect(got == [], f"{name}(model, []) returned {support._short(got)}; with no rows it "
                          "should return an empty array")
    problem = support.proba_problem(results[2], pipeline.predict_proba(rows),
                                    "predictProba on 5 rows",
                                    support.skipped_scaler(pipeline, rows))
    expect(problem is None, problem)
    expect(not results[2].get("mutated"),
           "predictProba changed the rows (or the model) it was given: the caller still needs "
           "them. Build new arrays (map, slice) instead of writing into the input")
