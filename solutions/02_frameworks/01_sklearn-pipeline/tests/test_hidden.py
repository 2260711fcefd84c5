"""Hidden tests for sklearn-pipeline: flights the learner never sees, drawn by the run's seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grader.testing import SubmissionRaised, expect

HOLDOUT = Path(__file__).parent / "data" / "flights_holdout.csv.gz"
HIDDEN_MIN_AUC = 0.66  # the reference scores 0.70 +- 0.01 on 4000 hidden flights
CHANCE_BAND = 0.06  # |AUC - 0.5| on 4000 rows: about 6 standard deviations of pure chance
CV_CHANCE_MAX = 0.57  # honest CV on shuffled labels: 0.50 +- 0.02; fitting on all: about 0.65


@pytest.fixture(scope="module")
def table(support, exercise_dir):
    return support.load_train(exercise_dir)


@pytest.fixture(scope="module")
def hidden(grading_seed):
    pool = pd.read_csv(HOLDOUT)
    return pool.sample(n=4000, random_state=grading_seed % (2**32)).reset_index(drop=True)


# fails for: unknown-category-crashes, tuned-to-visible-rows, no-model
@pytest.mark.task("build-pipeline")
@pytest.mark.points(1)
@pytest.mark.requires("test_roc_auc_on_a_seeded_split", "test_roc_auc_on_hidden_flights")
def test_unseen_categories_and_missing_values(submission, support, table, hidden):
    rows = support.features(hidden.head(200)).copy()
    rows[support.NUMERIC] = rows[support.NUMERIC].astype("float64")
    rows.loc[:49, "dest"] = "XNA"
    rows.loc[25:74, "carrier"] = "ZZ"
    rows.loc[60:99, "manufacturer"] = "NEW PLANE CO"
    rows.loc[100:149, support.NUMERIC] = np.nan
    rows.loc[150:, support.CATEGORICAL] = np.nan
    try:
        result = submission.train_and_predict(table, rows, seed=0)
    except SubmissionRaised as exc:
        expect(False, f"train_and_predict raised {exc.exc_type}: {exc.exc_message[:300]} on "
               "test rows with a destination, carrier or manufacturer never seen in training, "
               "or with every value missing. Real data does this: use "
               "OneHotEncoder(handle_unknown='ignore') and impute every column")
    support.as_probabilities(result, len(rows),
                             "train_and_predict on rows with unseen categories")


# fails for: trained-on-test-data, tuned-to-visible-rows, no-model
@pytest.mark.task("cross-validate")
@pytest.mark.points(1)
@pytest.mark.requires("test_cross_validate_scores_held_out_folds",
                      "test_roc_auc_on_hidden_flights")
def test_cross_validation_of_shuffled_labels_scores_chance(submission, support, hidden,
                                                           grading_seed):
    noise = support.permuted_labels(hidden.head(1500), grading_seed)
    result = submission.cross_validate(noise, n_splits=5, seed=grading_seed % 1000)
    expect(isinstance(result, dict) and isinstance(result.get("mean"), (int, float)),
           "cross_validate did not return a dict with a numeric 'mean'")
    expect(result["mean"] <= CV_CHANCE_MAX,
           f"with the labels shuffled at random there is nothing to learn, yet cross_validate "
           f"reported a mean ROC-AUC of {result['mean']:.3f} (chance is 0.5). The folds were "
           "scored on rows the model was trained on: fit a fresh pipeline on each fold's "
           "training part and score only its held-out part")


# fails for: predicts-majority-class, tuned-to-visible-rows, no-model
@pytest.mark.task("train-and-predict")
@pytest.mark.points(3)
def test_roc_auc_on_hidden_flights(submission, support, table, hidden):
    proba = support.as_probabilities(
        submission.train_and_predict(table, support.features(hidden), seed=0), len(hidden),
        "train_and_predict(train_df, hidden_features)")
    score = support.auc(hidden[support.TARGET].to_numpy(), proba)
    expect(score >= HIDDEN_MIN_AUC,
           f"ROC-AUC on {len(hidden)} hidden flights was {score:.3f}; at least {HIDDEN_MIN_AUC} "
           "is expected." + support.constant_hint(proba))


# fails for: tuned-to-visible-rows, no-model
@pytest.mark.task("no-leakage")
@pytest.mark.points(1)
@pytest.mark.requires("test_roc_auc_on_hidden_flights")
def test_shuffled_training_labels_score_chance(submission, support, table, hidden,
                                               grading_seed):
    noise = support.permuted_labels(table, grading_seed + 5)
    proba = support.as_probabilities(
        submission.train_and_predict(noise, support.features(hidden), seed=0), len(hidden),
        "train_and_predict(shuffled_train_df, hidden_features)")
    score = support.auc(hidden[support.TARGET].to_numpy(), proba)
    expect(abs(score - 0.5) <= CHANCE_BAND,
           f"trained on labels shuffled at random, the model still scored ROC-AUC {score:.3f} "
           "on hidden flights (chance is 0.5). Its predictions must come from the training "
           "rows it was given, not from labels found elsewhere")
