"""Hidden tests for pytorch-training: a fresh split and slightly noisy test digits per run."""

from __future__ import annotations

import pytest

from grader.testing import expect

HIDDEN_MIN_ACCURACY = 0.92  # the reference scores about 0.96 on these noisy digits


# fails for: looks-up-true-labels, pasted-weights, predicts-majority-class
@pytest.mark.task("fit")
@pytest.mark.points(3)
@pytest.mark.requires("test_fit_trains_on_the_data_it_is_given",
                      "test_fit_learns_the_labels_it_is_given")
def test_accuracy_on_hidden_digits(submission, support, grading_seed):
    # Noise keeps the test images from being looked up in load_digits().
    data = support.split(grading_seed + 17, n_test=500, noise=0.5)
    got = submission.harness.run_fit(data.train_x, data.train_y, data.val_x, data.val_y,
                                     data.test_x, 0, 100, 4)
    predicted = support.predicted_labels(got["predicted"], len(data.test_y),
                                         "predict(model, hidden_images)")
    accuracy = float((predicted == data.test_y).mean())
    expect(accuracy >= HIDDEN_MIN_ACCURACY,
           f"accuracy on {len(data.test_y)} hidden digits was {accuracy:.3f}; at least "
           f"{HIDDEN_MIN_ACCURACY} is expected." + support.majority_hint(predicted))
