"""Public tests for pytorch-training: mechanics on seeded splits of scikit-learn's digits."""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import SubmissionRaised, expect

OVERFIT_STEPS = 100
OVERFIT_LOSS = 0.05  # the reference gets below 0.01 on 32 digits in 100 steps
MAX_EPOCHS, PATIENCE = 100, 4
PUBLIC_MIN_ACCURACY = 0.92  # the reference scores about 0.97
SMALL, GROWTH = 64, 2.0  # one epoch on every training image vs. on 64 of them (see README)
CHANCE_MAX = 0.25  # true names after renaming every digit: the reference gets about 0.01
BEST_LOSS_TOLERANCE = 0.005  # relative; the reference's history matches to about 1e-6


@pytest.fixture(scope="module")
def data(support, grading_seed):
    return support.split(grading_seed)


@pytest.fixture(scope="module")
def trained(submission, data, grading_seed):
    """One full run of the learner's fit(), shared by the tests that read its results."""
    return submission.harness.run_fit(data.train_x, data.train_y, data.val_x, data.val_y,
                                      data.test_x, grading_seed % 1000, MAX_EPOCHS, PATIENCE)


# fails for: lazy-constant
@pytest.mark.task("dataset")
@pytest.mark.points(1)
def test_dataset_serves_scaled_tensors(submission, data):
    picks = [0, 5, len(data.train_y) - 1]
    got = submission.harness.dataset_items(data.train_x, data.train_y, picks)
    expect(got["len"] == len(data.train_y), f"len(DigitsDataset(images, labels)) was "
           f"{got['len']} for {len(data.train_y)} images")
    for i, item in zip(picks, got["items"], strict=True):
        expect(item["x_type"] == "Tensor" and item["y_type"] == "Tensor",
               f"dataset[{i}] returned ({item['x_type']}, {item['y_type']}); return two torch "
               "tensors (image, label)")
        expect(item["x_dtype"] == "torch.float32", f"dataset[{i}]'s image is {item['x_dtype']}; "
               "models expect torch.float32")
        expect(item["x"].shape == (1, 8, 8), f"dataset[{i}]'s image has shape "
               f"{item['x'].shape}; return shape (1, 8, 8): one channel of 8x8 pixels")
        expect(np.allclose(item["x"], data.train_x[i][None] / 16.0, atol=1e-6),
               f"dataset[{i}]'s image does not hold the pixels divided by 16: scale the 0..16 "
               "values to 0..1")
        expect(item["y_dtype"] == "torch.int64" and item["y"].shape == (),
               f"dataset[{i}]'s label is a {item['y_dtype']} of shape {item['y'].shape}; return "
               "a 0-d torch.int64 tensor, as CrossEntropyLoss expects")
        expect(int(item["y"]) == int(data.train_y[i]), f"dataset[{i}] returned label "
               f"{int(item['y'])}, but image {i}'s label is {int(data.train_y[i])}")


# fails for: lazy-constant, no-dropout-or-batchnorm
@pytest.mark.task("model")
@pytest.mark.points(1)
def test_model_shape_and_layers(submission, data, grading_seed):
    got = submission.harness.model_summary(data.val_x[:16], grading_seed % 1000)
    expect(got["is_module"], "DigitNet() is not a torch.nn.Module subclass")
    expect(got["logits"].shape == (16, 10), f"DigitNet()(x) returned shape "
           f"{got['logits'].shape} for 16 images; return (N, 10) logits, one per digit")
    expect(got["has_batchnorm"] and got["has_dropout"], "DigitNet has no "
           + ("BatchNorm" if not got["has_batchnorm"] else "Dropout") + " layer: this exercise "
           "asks for both (nn.BatchNorm1d/2d and nn.Dropout), so that train and eval mode "
           "differ")
    expect(got["parameters"] <= 200_000, f"DigitNet has {got['parameters']:,} parameters; "
           "keep it under 200,000: 8x8 digits need a small network")
    spread = float(np.ptp(got["logits"], axis=0).max())
    expect(spread > 1e-6, "DigitNet gives the same logits for 16 different images: forward() "
           "must compute the output from its input x")


# fails for: predicts-majority-class, lazy-constant
@pytest.mark.task("train-step")
@pytest.mark.points(2)
def test_overfits_one_batch(submission, data, grading_seed, support):
    got = submission.harness.overfit_batch(data.train_x[:32], data.train_y[:32], OVERFIT_STEPS,
                                           grading_seed % 1000)
    expect(got["loss_types"] == ["float"], f"train_step returned {got['loss_types']}; return "
           "the batch loss as a Python float (loss.item())")
    losses = np.asarray(got["losses"])
    expect(bool(np.isfinite(losses).all()), "train_step returned NaN or infinite losses: is the "
           "learning rate too high?")
    final = support.cross_entropy(got["final_logits"], data.train_y[:32])  # the judge's loss
    expect(final < OVERFIT_LOSS,
           f"after {OVERFIT_STEPS} train_step calls on the same 32 digits, their loss was still "
           f"{final:.3f} (first step: {losses[0]:.3f}); a working loop drives it below "
           f"{OVERFIT_LOSS}. Check the order zero_grad -> forward -> loss -> backward -> step, "
           "and the optimizer's learning rate (Adam with lr=1e-3..1e-2 works)")


# fails for: train-step-in-eval-mode, lazy-constant
@pytest.mark.task("train-step")
@pytest.mark.points(1)
def test_train_step_uses_training_mode(submission, data, grading_seed):
    got = submission.harness.overfit_batch(data.train_x[:32], data.train_y[:32], 2,
                                           grading_seed % 1000)
    expect(got["train_mode"], "train_step ran the model in eval mode "
           "(we left it there after evaluating): call model.train() at the start of "
           "train_step, so Dropout and BatchNorm behave as in training")


# fails for: no-no-grad, lazy-constant
@pytest.mark.task("evaluate")
@pytest.mark.points(1)
def test_evaluation_tracks_no_gradients(submission, data, grading_seed):
    got = submission.harness.probe_evaluation(data.val_x[:100], data.val_y[:100],
                                              grading_seed % 1000)
    for name, seen in got.items():
        expect(seen["forward_calls"] > 0, f"{name}() never called the model")
        expect(not seen["grad_enabled"] and not seen["grads_stored"],
               f"{name}() ran the model with gradient tracking on: wrap evaluation in "
               "`with torch.no_grad():` (it saves memory and time, and nothing can be trained "
               "by accident)")


# fails for: forgot-model-eval, lazy-constant
@pytest.mark.task("evaluate")
@pytest.mark.points(2)
@pytest.mark.requires("test_model_shape_and_layers")
def test_evaluation_leaves_dropout_and_batchnorm_alone(submission, data, grading_seed):
    got = submission.harness.probe_evaluation(data.val_x[:100], data.val_y[:100],
                                              grading_seed % 1000)
    for name, seen in got.items():
        expect(seen["forward_calls"] > 0, f"{name}() never called the model")
        changed = [k for k in seen["changed_state"] if "running" in k or "batches" in k]
        expect(not (seen["dropout_training"] or seen["batchnorm_training"] or changed),
               f"{name}() ran the model in training mode (we handed it a model still in "
               "training mode, as it is right after a training epoch): Dropout was randomly "
               "zeroing activations and BatchNorm used batch statistics"
               + (f" and overwrote its running statistics ({', '.join(changed[:3])})"
                  if changed else "")
               + ". You forgot model.eval(): call it before evaluating or predicting")
        expect(not seen["changed_state"], f"{name}() changed the model's weights "
               f"({', '.join(seen['changed_state'][:3])}): evaluation must not train")


# fails for: lazy-constant
@pytest.mark.task("evaluate")
@pytest.mark.points(1)
def test_evaluate_and_predict_agree(submission, data, grading_seed):
    got = submission.harness.evaluation_results(data.val_x, data.val_y, grading_seed % 1000)
    predicted = got["predicted"]
    expect(isinstance(predicted, np.ndarray) and predicted.shape == data.val_y.shape,
           f"predict(model, images) returned {type(predicted).__name__} "
           f"{getattr(predicted, 'shape', '')}; return one integer label per image")
    expect(np.array_equal(predicted, got["logits"].argmax(axis=1)), "predict() does not return "
           "the class with the highest logit for each image")
    scores = got["scores"]
    expect(isinstance(scores, dict) and {"loss", "accuracy"} <= set(scores),
           "evaluate(model, loader, loss_fn) must return a dict with 'loss' and 'accuracy'")
    accuracy = float((predicted == data.val_y).mean())
    expect(abs(scores["accuracy"] - accuracy) < 1e-6, f"evaluate() reported accuracy "
           f"{scores['accuracy']:.4f}, but the model gets {accuracy:.4f} of these images right: "
           "count correct predictions over the whole loader and divide by the number of images")
    logits = got["logits"] - got["logits"].max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(len(data.val_y)), data.val_y].mean())
    expect(abs(scores["loss"] - loss) <= 1e-3 + 0.01 * loss, f"evaluate() reported loss "
           f"{scores['loss']:.4f}, but the mean cross-entropy over these images is {loss:.4f}: "
           "weight each batch's loss by its size")


# fails for: pasted-weights, lazy-constant
@pytest.mark.task("fit")
@pytest.mark.points(1)
def test_fit_trains_on_the_data_it_is_given(submission, support, data, grading_seed):
    seed = grading_seed % 1000 + 2
    moved = {}
    for n in (SMALL, len(data.train_y)):
        got = submission.harness.run_fit(data.train_x[:n], data.train_y[:n], data.val_x,
                                         data.val_y, data.test_x[:10], seed, 1, 1)
        expect(got["initial_state"] is not None, "fit() never built a DigitNet: build the "
               "model it trains with DigitNet() inside fit")
        moved[n] = support.weight_change(got["initial_state"], got["state"])
        expect(moved[n] == moved[n], "the model fit() returned does not have the weights of "
               "the DigitNet it built (different tensor names or shapes): return the model "
               "you trained")
    small, full = moved[SMALL], moved[len(data.train_y)]
    expect(full > 0, f"fit(max_epochs=1) on {len(data.train_y)} images returned the weights "
           "it started from: one epoch of train_step calls must change them")
    expect(full >= GROWTH * small,
           f"one epoch of fit() moved the weights by {small:.3g} on {SMALL} training images "
           f"and by only {full:.3g} on {len(data.train_y)} (we expect at least {GROWTH:g} "
           "times as far, the reference moves them about 7 times as far). Training takes one "
           "step per mini-batch, so more data must move them further; weights that end in "
           "the same place whatever the data were not learned from it. Train the DigitNet you "
           "built on the images you were given, in mini-batches (a DataLoader with "
           "batch_size around 64), and return it")


# fails for: pasted-weights, predicts-majority-class
@pytest.mark.task("fit")
@pytest.mark.points(1)
@pytest.mark.requires("test_fit_trains_on_the_data_it_is_given")
def test_training_lowers_the_loss(trained, data, support):
    history = trained["history"]
    expect(isinstance(history, dict) and {"train_loss", "val_loss"} <= set(history),
           "fit() must return (model, history) with history['train_loss'] and "
           "history['val_loss'] lists")
    train_loss, val_loss = history["train_loss"], history["val_loss"]
    expect(len(train_loss) == len(val_loss) >= 2, f"history has {len(train_loss)} train and "
           f"{len(val_loss)} validation losses; record one of each per epoch")
    before = support.cross_entropy(trained["logits_before"], data.train_y)  # the judge's own
    after = support.cross_entropy(trained["logits_after"], data.train_y)
    expect(after < 0.3 * before, f"the training loss went from {before:.3f} (untrained) to "
           f"only {after:.3f} after fit(): the loop does not learn. Check that every batch of "
           "the training loader reaches train_step")
    expect(min(val_loss) < val_loss[0], "the validation loss never went below its first "
           "value: is the model learning?")


# fails for: no-early-stopping, pasted-weights
@pytest.mark.task("fit")
@pytest.mark.points(1)
@pytest.mark.requires("test_fit_trains_on_the_data_it_is_given")
def test_early_stopping_on_validation_loss(trained):
    val_loss = trained["history"]["val_loss"]
    epochs = len(val_loss)
    best = int(np.argmin(val_loss))
    expect(epochs < MAX_EPOCHS, f"fit(max_epochs={MAX_EPOCHS}, patience={PATIENCE}) ran all "
           f"{epochs} epochs although the validation loss was lowest at epoch {best + 1}: stop "
           f"once it has not improved for `patience` epochs in a row")
    expect(epochs - 1 - best <= PATIENCE, f"fit(patience={PATIENCE}) went on for "
           f"{epochs - 1 - best} epochs after the best validation loss (epoch {best + 1}): stop "
           "after `patience` epochs without improvement")


# fails for: predicts-majority-class, pasted-weights
@pytest.mark.task("fit")
@pytest.mark.points(1)
@pytest.mark.requires("test_fit_trains_on_the_data_it_is_given")
def test_accuracy_on_a_seeded_split(support, data, trained):
    predicted = support.predicted_labels(trained["predicted"], len(data.test_y),
                                         "predict(model, test_images)")
    accuracy = float((predicted == data.test_y).mean())
    expect(accuracy >= PUBLIC_MIN_ACCURACY, f"accuracy on {len(data.test_y)} held-out digits "
           f"was {accuracy:.3f}; at least {PUBLIC_MIN_ACCURACY} is expected."
           + support.majority_hint(predicted))


# fails for: last-epoch-weights, forgot-model-eval, no-early-stopping
@pytest.mark.task("fit")
@pytest.mark.points(1)
@pytest.mark.requires("test_fit_trains_on_the_data_it_is_given",
                      "test_evaluation_leaves_dropout_and_batchnorm_alone",
                      "test_evaluate_and_predict_agree")
def test_fit_returns_its_best_weights(support, data, trained):
    val_loss = [float(v) for v in trained["history"]["val_loss"]]
    measured = support.cross_entropy(trained["val_logits"], data.val_y)
    best = min(val_loss)
    expect(abs(measured - best) <= 1e-4 + BEST_LOSS_TOLERANCE * best,
           f"the model fit() returned has a validation loss of {measured:.4f} (we computed it "
           f"from its outputs on the validation images), but the lowest loss in its history is "
           f"{best:.4f} (epoch {val_loss.index(best) + 1} of {len(val_loss)})"
           + (f"; {measured:.4f} is the last epoch's loss: fit() returned the last weights"
              if abs(measured - val_loss[-1]) <= 1e-4 + BEST_LOSS_TOLERANCE * val_loss[-1]
              else "")
           + ". Keep a copy of the weights whenever the validation loss improves "
           "(copy.deepcopy(model.state_dict()): state_dict() alone returns the live tensors, "
           "which keep training) and load that copy before returning the model")


# fails for: looks-up-true-labels, pasted-weights
@pytest.mark.task("fit")
@pytest.mark.points(1)
@pytest.mark.requires("test_accuracy_on_a_seeded_split")
def test_fit_learns_the_labels_it_is_given(submission, support, data, grading_seed):
    # Shuffling labels image by image leaves a heavy-tailed accuracy (a model that clusters
    # the digits can map a few clusters to their true names by luck); renaming every digit
    # (each 3 becomes, say, a 7) leaves an honest model no way at all to name the true digit.
    seed = grading_seed % 1000 + 3
    names = support.renaming(seed)
    got = submission.harness.run_fit(data.train_x, names[data.train_y], data.val_x,
                                     names[data.val_y], data.test_x, seed, 30, 3)
    predicted = support.predicted_labels(got["predicted"], len(data.test_y),
                                         "predict(model, test_images)")
    accuracy = float((predicted == data.test_y).mean())
    expect(accuracy <= CHANCE_MAX,
           f"we renamed every digit in the training and validation labels (each 3 became a "
           f"{int(names[3])}, and so on), yet the model fit() returned still called "
           f"{accuracy:.0%} of {len(data.test_y)} held-out digits by their true names; a model "
           "that learned from the labels it was given would use the new names (chance is "
           "10%). Its knowledge came from somewhere else, such as pre-trained weights or "
           "load_digits() inside fit: train only on train_images and train_labels")


# fails for: unseeded-training, pasted-weights
@pytest.mark.task("fit")
@pytest.mark.points(2)
@pytest.mark.requires("test_accuracy_on_a_seeded_split")
def test_same_seed_same_weights(submission, support, data, grading_seed):
    seed = grading_seed % 1000 + 1
    runs = [submission.harness.run_fit(data.train_x, data.train_y, data.val_x, data.val_y,
                                       data.test_x[:10], seed, 3, 10) for _ in range(2)]
    same, why = support.same_weights(runs[0]["state"], runs[1]["state"])
    expect(same, f"two runs of fit(..., seed={seed}, max_epochs=3) ended with different "
           f"weights ({why}). Seed everything at the start of fit: torch.manual_seed(seed) "
           "before building the model, and a seeded generator for the shuffling DataLoader")


# fails for: pickled-checkpoint, lazy-constant
@pytest.mark.task("checkpoint")
@pytest.mark.points(2)
def test_checkpoint_is_safetensors(submission, support, data, grading_seed):
    from safetensors.numpy import load as load_safetensors

    saved = submission.harness.save_trained(data.train_x[:64], data.train_y[:64],
                                            support.CHECKPOINT, grading_seed % 1000)
    try:
        blob = submission.read_file(support.CHECKPOINT)
    except FileNotFoundError:
        blob = b""
    expect(blob, f"save_checkpoint(model, {support.CHECKPOINT!r}) did not write that file")
    try:
        tensors = load_safetensors(blob)
    except Exception:  # any unreadable file gets the same advice
        tensors = None
    expect(tensors is not None, f"{support.CHECKPOINT} is not a safetensors file. torch.save "
           "writes a pickle, which can run code when loaded: use "
           "safetensors.torch.save_file(model.state_dict(), path)")
    same, why = support.same_weights(saved["state"], tensors)
    expect(same, f"{support.CHECKPOINT} does not hold the model's state_dict ({why}): save "
           "every entry of model.state_dict(), BatchNorm buffers included")


# fails for: pickled-checkpoint, lazy-constant
@pytest.mark.task("checkpoint")
@pytest.mark.points(1)
def test_checkpoint_reloads_into_a_fresh_model(submission, support, data, grading_seed):
    saved = submission.harness.save_trained(data.train_x[:64], data.train_y[:64],
                                            support.CHECKPOINT, grading_seed % 1000)
    try:
        reloaded = submission.harness.reload_logits(support.CHECKPOINT, data.train_x[:64])
    except SubmissionRaised as exc:
        reloaded = {}
        expect(False, f"load_checkpoint({support.CHECKPOINT!r}) raised {exc.exc_type}: "
               f"{exc.exc_message[:200]}. Write the file with safetensors.torch.save_file and "
               "read it with safetensors.torch.load_file into a fresh DigitNet()")
    expect(reloaded["is_digitnet"], "load_checkpoint(path) must return a DigitNet")
    gap = float(np.abs(reloaded["logits"] - saved["logits"]).max())
    expect(gap <= 1e-5, f"the model from load_checkpoint({support.CHECKPOINT!r}) gives outputs "
           f"that differ from the saved model's by up to {gap:.3g}: build a fresh DigitNet() "
           "and load_state_dict(safetensors.torch.load_file(path))")
