"""Public tests for javascript-inference: predict.mjs in Node.js against scikit-learn.

Models are trained in the grader's process on a resample picked by this run's seed and
exported with export_model.py; the rows are held-out samples with noise. Your module gets the
model JSON and the rows; scikit-learn's predict_proba/predict on the same rows is the reference.
"""

import numpy as np
import pytest
from scipy.special import expit
from scipy.special import softmax as reference_softmax

from grader.testing import expect


def _proba_case(submission, support, seed, dataset, model, **kwargs):
    pipeline, model_json, pool = support.trained(dataset, model, seed, **kwargs)
    rows = support.noisy_rows(pool, seed + 1, 40)
    (result,) = support.call(submission, [("predictProba", [model_json, rows.tolist()])])
    what = f"predictProba on {support.describe_model(model_json)} for 40 rows"
    return support.proba_problem(result, pipeline.predict_proba(rows), what,
                                 support.skipped_scaler(pipeline, rows))


# fails for: lazy-constant
@pytest.mark.task("standardize")
@pytest.mark.points(1)
def test_standardize_matches_standard_scaler(submission, support, grading_seed):
    pipeline, model_json, pool = support.trained("wine", "logreg", grading_seed)
    rows = support.noisy_rows(pool, grading_seed + 2, 25)
    scaler = model_json["steps"][0]
    (result,) = support.call(submission, [("standardize", [scaler, rows.tolist()])])
    want = pipeline.named_steps["scale"].transform(rows)
    got, error = support.outcome(result, "standardize(scaler, 25 rows)")
    expect(error is None, error)
    matrix = support.as_matrix(got)
    expect(matrix is not None and matrix.shape == want.shape,
           f"standardize(scaler, 25 rows of 13 features) returned {support._short(got)}: it "
           "should return 25 rows of 13 numbers")
    expect(np.allclose(matrix, want, rtol=0, atol=1e-12),
           "standardize differs from StandardScaler.transform: each value should be "
           "(x[j] - mean[j]) / scale[j]")
    expect(not result.get("mutated"), "standardize changed the rows it was given: return new "
                                      "arrays (rows.map(...))")


# fails for: lazy-constant
@pytest.mark.task("stable-math")
@pytest.mark.points(1)
def test_sigmoid_and_softmax_on_ordinary_values(submission, support, grading_seed):
    rng = np.random.default_rng(grading_seed)
    zs = rng.normal(0, 8, 20).tolist()
    vectors = [rng.normal(0, 3, k).tolist() for k in (1, 2, 3, 7)]
    jobs = [("sigmoid", [z]) for z in zs] + [("softmax", [v]) for v in vectors]
    results = support.call(submission, jobs)
    for z, result in zip(zs, results[:len(zs)], strict=True):
        expect("error" not in result, f"sigmoid({z:.4g}) threw {result.get('error')}")
        got = result["ok"]
        expect(isinstance(got, float | int) and abs(got - expit(z)) <= 1e-12,
               f"sigmoid({z:.6g}) returned {got!r}; it should be 1 / (1 + e^-z)")
    for v, result in zip(vectors, results[len(zs):], strict=True):
        expect("error" not in result, f"softmax(array of {len(v)}) threw {result.get('error')}")
        got = result["ok"]
        ok = type(got) is list and len(got) == len(v) and \
            np.allclose(np.array(got, dtype=float), reference_softmax(v), rtol=0, atol=1e-12)
        expect(ok, f"softmax({[round(x, 3) for x in v]}) returned {got!r}: each entry should be "
                   "e^v[i] / sum of e^v[j]")


# fails for: unstable-sigmoid, lazy-constant
@pytest.mark.task("stable-math")
@pytest.mark.points(1)
def test_sigmoid_and_softmax_do_not_overflow(submission, support):
    zs = [1000.0, -1000.0, 745.5, -745.5, 40.0, -40.0, 0.0]
    vectors = [[1000.0, 999.0], [-1000.0, -1001.0, -999.0], [800.0, -800.0, 0.0]]
    jobs = [("sigmoid", [z]) for z in zs] + [("softmax", [v]) for v in vectors]
    results = support.call(submission, jobs)
    for z, result in zip(zs, results[:len(zs)], strict=True):
        got, error = support.outcome(result, f"sigmoid({z:g})")
        expect(error is None, error)
        expect(isinstance(got, float | int) and abs(got - expit(z)) <= 1e-12,
               f"sigmoid({z:g}) returned {got!r}: e^{abs(z):g} overflows to Infinity in "
               "float64, and Infinity / Infinity is NaN. Use 1 / (1 + e^-z) for z >= 0 and "
               "e^z / (1 + e^z) for z < 0")
    for v, result in zip(vectors, results[len(zs):], strict=True):
        got, error = support.outcome(result, f"softmax({v})")
        expect(error is None, error)
        ok = type(got) is list and len(got) == len(v) and all(
            isinstance(x, float | int) for x in got) and np.allclose(
            np.array(got, dtype=float), reference_softmax(v), rtol=0, atol=1e-12)
        expect(ok, f"softmax({v}) returned {got!r}: subtract the largest value before "
                   "Math.exp, so no exponent is positive")


# fails for: swapped-columns, forgot-to-standardise, pasted-visible-model, lazy-constant
@pytest.mark.task("logistic")
@pytest.mark.points(1)
def test_binary_logistic_regression(submission, support, grading_seed):
    problem = _proba_case(submission, support, grading_seed, "breast_cancer", "logreg")
    expect(problem is None, problem)


# fails for: forgot-to-standardise, pasted-visible-model, lazy-constant
@pytest.mark.task("logistic")
@pytest.mark.points(1)
def test_multiclass_logistic_regression(submission, support, grading_seed):
    problem = _proba_case(submission, support, grading_seed, "wine", "logreg")
    expect(problem is None, problem)


# fails for: forgot-to-standardise, pasted-visible-model, lazy-constant
@pytest.mark.task("mlp")
@pytest.mark.points(2)
def test_mlp_relu_softmax(submission, support, grading_seed):
    problem = _proba_case(submission, support, grading_seed, "wine", "mlp")
    expect(problem is None, problem)


# fails for: index-not-label, forgot-to-standardise, pasted-visible-model, lazy-constant
@pytest.mark.task("predict")
@pytest.mark.points(1)
@pytest.mark.requires("test_multiclass_logistic_regression")
def test_predict_gives_class_labels(submission, support, grading_seed):
    pipeline, model_json, pool = support.trained("wine", "logreg", grading_seed)
    rows = support.noisy_rows(pool, grading_seed + 3, 40)
    (result,) = support.call(submission, [("predict", [model_json, rows.tolist()])])
    problem = support.labels_problem(result, pipeline.predict(rows).tolist(),
                                     f"predict on {support.describe_model(model_json)}",
                                     model_json["classes"],
                                     support.skipped_scaler_labels(pipeline, rows))
    expect(problem is None, problem)


# fails for: index-not-label, swapped-columns, pasted-visible-model, lazy-constant
@pytest.mark.task("edge-cases")
@pytest.mark.points(1)
@pytest.mark.requires("test_binary_logistic_regression")
def test_single_row(submission, support, grading_seed):
    pipeline, model_json, pool = support.trained("breast_cancer", "logreg", grading_seed)
    row = support.noisy_rows(pool, grading_seed + 4, 1)
    results = support.call(submission, [("predictProba", [model_json, row.tolist()]),
                                        ("predict", [model_json, row.tolist()])])
    what = "predictProba(model, [[one row]])"
    problem = support.proba_problem(results[0], pipeline.predict_proba(row), what,
                                    support.skipped_scaler(pipeline, row))
    expect(problem is None, problem)
    problem = support.labels_problem(results[1], pipeline.predict(row).tolist(),
                                     "predict(model, [[one row]])",
                                     model_json["classes"],
                                     support.skipped_scaler_labels(pipeline, row))
    expect(problem is None, problem)


# fails for: lazy-constant
@pytest.mark.task("portable")
@pytest.mark.points(1)
@pytest.mark.requires("test_sigmoid_and_softmax_on_ordinary_values")
def test_module_runs_anywhere(submission, support):
    (result,) = support.call(submission, [("softmax", [[0.0, 0.0]])])
    got, error = support.outcome(result, "softmax([0, 0])")
    expect(error is None and got == [0.5, 0.5],
           "softmax([0, 0]) should return [0.5, 0.5]; get the maths right first, then this "
           "check looks at how portable the module is")
    source = submission.read_file(support.MODULE).decode("utf-8", "replace")
    problems = support.portability_problems(source)
    expect(not problems,
           "predict.mjs must run unchanged in Node.js and in a browser, with no dependencies, "
           "but it uses: " + "; ".join(problems[:6]) + ". Keep it to plain JavaScript "
           "(Math, arrays) and let the caller load the model JSON")
