"""Public tests for sklearn-pipeline: they use only the visible training table."""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import expect

PUBLIC_MIN_AUC = 0.64  # the reference scores about 0.70 on these seeded splits


@pytest.fixture(scope="module")
def table(support, exercise_dir):
    return support.load_train(exercise_dir)


# fails for: no-model
@pytest.mark.task("build-pipeline")
@pytest.mark.points(2)
def test_pipeline_structure(submission, support, table):
    info = submission.harness.describe_pipeline(support.features(table).head(50), 0)
    names = {n.rsplit(".", 1)[-1] for n in info["mro"]}
    expect("Pipeline" in names, f"build_pipeline() returned a {info['mro'][0]}; return a "
           "sklearn.pipeline.Pipeline so that preprocessing and model are fitted together")
    expect(info["has_column_transformer"], "build_pipeline() has no ColumnTransformer step: "
           "numbers and categories need different preprocessing, and a ColumnTransformer "
           "routes each column to its own")
    expect(info["final_has_predict_proba"], "the last step of the pipeline has no "
           "predict_proba(): end it with a classifier such as LogisticRegression")
    routed = info["columns"]
    missing = [c for c in support.FEATURES if c not in routed]
    expect(not missing, f"the ColumnTransformer does not use the columns {missing}: list every "
           "feature column (remainder='drop' silently throws the others away)")
    for column in support.NUMERIC:
        chains = [support.classes(chain) for chain in routed[column]]
        expect(any(c & support.IMPUTERS for c in chains),
               f"numeric column {column!r} is not imputed: it has missing values, so put a "
               "SimpleImputer before the scaler")
        expect(any(c & support.SCALERS for c in chains),
               f"numeric column {column!r} is not scaled: add a StandardScaler after the "
               "imputer")
    for column in support.CATEGORICAL:
        chains = [support.classes(chain) for chain in routed[column]]
        expect(any(c & support.ENCODERS for c in chains),
               f"categorical column {column!r} is not one-hot encoded: route it through a "
               "OneHotEncoder")


def _check_cv(result, n_splits: int) -> list[float]:
    call = f"cross_validate(df, n_splits={n_splits}, seed=...)"
    expect(isinstance(result, dict) and {"mean", "std", "scores"} <= set(result),
           f"{call} returned {type(result).__name__}; return a dict with the keys 'mean', "
           "'std' and 'scores'")
    scores = result["scores"]
    expect(isinstance(scores, (list, tuple, np.ndarray)) and len(scores) == n_splits,
           f"{call} returned {len(scores) if hasattr(scores, '__len__') else scores!r} scores; "
           "return one ROC-AUC per fold")
    values = np.asarray(scores, dtype=np.float64)
    expect(bool(np.isfinite(values).all() and ((values >= 0) & (values <= 1)).all()),
           f"{call} returned fold scores outside [0, 1]; score each fold with ROC-AUC")
    mean, std = result["mean"], result["std"]
    expect(isinstance(mean, (int, float)) and abs(mean - values.mean()) < 1e-9,
           f"{call} returned mean={mean!r}, which is not the mean of its scores")
    expect(isinstance(std, (int, float)) and min(abs(std - values.std(ddof=d)) for d in (0, 1))
           < 1e-9, f"{call} returned std={std!r}, which is not the spread of its scores")
    return [float(v) for v in values]


# fails for: trained-on-test-data, no-model
@pytest.mark.task("cross-validate")
@pytest.mark.points(1)
@pytest.mark.requires("test_roc_auc_on_a_seeded_split")
def test_cross_validate_scores_held_out_folds(submission, support, table, grading_seed):
    from sklearn.model_selection import StratifiedKFold

    seed = grading_seed % 1000
    table, _ = support.split(table, grading_seed + 6, n_test=len(table) // 2)
    reported = _check_cv(submission.cross_validate(table, n_splits=4, seed=seed), 4)
    X, y = support.features(table), table[support.TARGET].to_numpy()
    folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=seed).split(X, y)
    measured = []
    for train_idx, valid_idx in folds:
        proba = support.as_probabilities(
            submission.train_and_predict(table.iloc[train_idx].reset_index(drop=True),
                                         X.iloc[valid_idx].reset_index(drop=True), seed=seed),
            len(valid_idx), "train_and_predict(fold_train, fold_valid)")
        measured.append(support.auc(y[valid_idx], proba))
    gap = max(abs(a - b) for a, b in zip(reported, measured, strict=True))
    optimistic = float(np.mean(reported)) - float(np.mean(measured))
    why = (" Your scores are higher than ours: each fold must be scored by a model that never "
           "saw that fold's rows. Did you fit once on all the data (training on the test "
           "folds)? Build and fit a fresh pipeline inside the loop, on the training part only."
           if optimistic > 0.01 else
           " Use StratifiedKFold(n_splits, shuffle=True, random_state=seed), ROC-AUC on "
           "predict_proba(...)[:, 1], and the same pipeline as train_and_predict.")
    expect(gap <= 0.01, f"cross_validate reported fold scores {np.round(reported, 3).tolist()}, "
           f"but training on each fold's training rows and scoring its held-out rows gives "
           f"{np.round(measured, 3).tolist()}.{why}")


# fails for: no-model, trained-on-test-data
@pytest.mark.task("cross-validate")
@pytest.mark.points(1)
@pytest.mark.requires("test_cross_validate_scores_held_out_folds")
def test_cross_validate_returns_mean_and_spread(submission, support, table, grading_seed):
    sample, _ = support.split(table, grading_seed + 4, n_test=len(table) // 2)
    _check_cv(submission.cross_validate(sample, n_splits=4, seed=grading_seed % 1000), 4)


# fails for: no-model, trained-on-test-data
@pytest.mark.task("cross-validate")
@pytest.mark.points(1)
@pytest.mark.requires("test_cross_validate_scores_held_out_folds")
def test_cross_validate_is_seeded(submission, support, table, grading_seed):
    seed = grading_seed % 1000
    table, _ = support.split(table, grading_seed + 5, n_test=len(table) - 1500)
    first = _check_cv(submission.cross_validate(table, n_splits=3, seed=seed), 3)
    again = _check_cv(submission.cross_validate(table, n_splits=3, seed=seed), 3)
    expect(first == again, f"cross_validate gave different scores for the same seed ({first} "
           f"then {again}): pass the seed to StratifiedKFold(random_state=seed) and to any "
           "model with randomness")


# fails for: predicts-majority-class, no-model
@pytest.mark.task("train-and-predict")
@pytest.mark.points(2)
def test_roc_auc_on_a_seeded_split(submission, support, table, grading_seed):
    train, test = support.split(table, grading_seed, n_test=1500)
    proba = support.as_probabilities(
        submission.train_and_predict(train, support.features(test), seed=0), len(test),
        "train_and_predict(train_df, test_features_df)")
    score = support.auc(test[support.TARGET].to_numpy(), proba)
    expect(score >= PUBLIC_MIN_AUC,
           f"ROC-AUC on {len(test)} held-out flights was {score:.3f}; at least "
           f"{PUBLIC_MIN_AUC} is expected (a model that ignores the features scores 0.5)."
           + support.constant_hint(proba))


# fails for: predicts-majority-class, no-model
@pytest.mark.task("train-and-predict")
@pytest.mark.points(1)
@pytest.mark.requires("test_roc_auc_on_a_seeded_split")
def test_same_seed_same_predictions(submission, support, table, grading_seed):
    train, test = support.split(table, grading_seed + 1, n_test=500)
    call = "train_and_predict(train_df, test_features_df, seed=7)"
    first = support.as_probabilities(
        submission.train_and_predict(train, support.features(test), seed=7), len(test), call)
    second = support.as_probabilities(
        submission.train_and_predict(train, support.features(test), seed=7), len(test), call)
    expect(np.array_equal(first, second), "two calls with the same data and seed gave different "
           f"predictions (by up to {np.abs(first - second).max():.3g}): pass the seed to "
           "every estimator with a random_state")


# fails for: scaler-fit-on-all-data, no-model
@pytest.mark.task("no-leakage")
@pytest.mark.points(2)
@pytest.mark.requires("test_roc_auc_on_a_seeded_split")
def test_test_rows_do_not_influence_each_other(submission, support, table, grading_seed):
    train, test = support.split(table, grading_seed + 2, n_test=1000)
    half = len(test) // 2
    changed = support.second_half_shifted(test, grading_seed)
    call = "train_and_predict(train_df, test_features_df)"
    base = support.as_probabilities(
        submission.train_and_predict(train, support.features(test), seed=0), len(test), call)
    moved = support.as_probabilities(
        submission.train_and_predict(train, support.features(changed), seed=0), len(test), call)
    drift = float(np.abs(base[:half] - moved[:half]).max())
    if drift > 1e-9:
        again = support.as_probabilities(
            submission.train_and_predict(train, support.features(test), seed=0), len(test), call)
        expect(np.array_equal(base, again), "train_and_predict is not deterministic, so we "
               "cannot check it for leakage: fix the seed first (see test_same_seed_same_"
               "predictions)")
    expect(drift <= 1e-9,
           f"the predictions for {half} test rows changed (by up to {drift:.3g}) when only the "
           "OTHER test rows changed. Something was fitted on the test features: a scaler, "
           "imputer or encoder fitted on training and test rows together (for example on "
           "pd.concat([train, test]) before splitting). That leaks test information into the "
           "model. Fit every preprocessing step inside the pipeline, on the training rows only, "
           "and only transform/predict the test rows.")


def _fit_and_save(submission, support, table, grading_seed):
    train, test = support.split(table, grading_seed + 3, n_test=500)
    X_test = support.features(test)
    preds = support.as_probabilities(
        submission.harness.fit_and_save(support.features(train),
                                        train[support.TARGET].to_numpy(), X_test,
                                        support.MODEL_FILE, 0),
        len(test), "build_pipeline(0).fit(...).predict_proba(...)")
    return X_test, preds


# fails for: pickled-model, no-model
@pytest.mark.task("persist")
@pytest.mark.points(2)
@pytest.mark.requires("test_pipeline_structure")
def test_model_file_is_safe_and_reproduces_predictions(submission, support, table,
                                                       grading_seed):
    X_test, preds = _fit_and_save(submission, support, table, grading_seed)
    import skops.io as sio

    try:
        data = submission.read_file(support.MODEL_FILE)
    except FileNotFoundError:
        data = b""
    expect(data, f"save_model(model, {support.MODEL_FILE!r}) did not write that file")
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception:  # any unreadable file gets the same advice
        untrusted = None
    expect(untrusted is not None, f"{support.MODEL_FILE} is not a skops file. Save with "
           "skops.io.dump(model, path): pickle and joblib files can run code when loaded, so "
           "the grader never opens them")
    unsafe = support.unsafe_types(untrusted)
    expect(not unsafe, f"{support.MODEL_FILE} contains types the grader will not load: "
           f"{unsafe[:5]}. Keep the saved pipeline to scikit-learn components (no custom "
           "classes or functions)")
    model = sio.loads(data, trusted=untrusted)
    reloaded = np.asarray(model.predict_proba(X_test)[:, 1], dtype=np.float64)
    gap = float(np.abs(reloaded - preds).max())
    expect(gap <= 1e-9, f"the model reloaded from {support.MODEL_FILE} predicts differently "
           f"from the model you saved (by up to {gap:.3g}): save the fitted pipeline itself")


# fails for: no-model
@pytest.mark.task("persist")
@pytest.mark.points(1)
@pytest.mark.requires("test_pipeline_structure")
def test_load_model_reproduces_predictions(submission, support, table, grading_seed):
    X_test, preds = _fit_and_save(submission, support, table, grading_seed)
    reloaded = support.as_probabilities(
        submission.harness.load_and_predict(support.MODEL_FILE, X_test), len(X_test),
        "load_model(path).predict_proba(...)")
    gap = float(np.abs(reloaded - preds).max())
    expect(gap <= 1e-9, f"load_model({support.MODEL_FILE!r}) gave a model that predicts "
           f"differently from the one saved (by up to {gap:.3g})")
