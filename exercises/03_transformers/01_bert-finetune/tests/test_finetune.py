"""Public tests for bert-finetune: tokenization, the pretrained model, a tiny training run, and
the fine-tuned model you saved.

Training is checked on a tiny 2-layer BERT (seconds, not minutes); the saved MiniLM is only
evaluated, never retrained. Texts come from this run's seed; labels stay in this process. Every
loss, logit and prediction the grade compares against is computed here, from the weights the
grader sent and the weights your code left: the worker only reports what your functions did.
The saved model earns points only once your own train() has worked in this run, and only if it
is the model your build_model() makes.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import expect

TINY_EPOCHS, TINY_BATCH, TINY_LR, TINY_N = 10, 8, 5e-3, 32
LOSS_DROP = 0.5  # the tiny run must at least halve the loss (the reference reaches 0.02-0.06x)
CHANGE_FROM_SCRATCH = 0.5  # random weights differ from MiniLM's by ~1.0-1.4; fine-tuning ~0.01
PUBLIC_MIN_ACCURACY = 0.75  # the reference scores 0.83 on these 300 validation snippets
TRAINED = "test_training_reduces_the_loss"  # the saved model counts only once train() works
WEIGHT_ROWS = {
    "bert.embeddings.word_embeddings.weight": (1000, 1200),
    "bert.encoder.layer.0.attention.self.query.weight": (0, 384),
    "bert.encoder.layer.3.intermediate.dense.weight": (0, 256),
    "bert.encoder.layer.5.output.dense.weight": (0, 384),
}
ARGMAX_MARGIN = 1e-4  # logits closer than this may flip with padding: either label is right


def _check_tokens(got, call):
    expect(got["keys"], f"{call} returned a {got['type']}; return the tokenizer's output (a "
           "mapping with 'input_ids' and 'attention_mask'), e.g. tokenizer(texts, padding=True, "
           "truncation=True, max_length=max_length, return_tensors='pt')")
    for key in ("input_ids", "attention_mask"):
        expect(key in got["keys"], f"{call} has no '{key}' (it has {got['keys']})")
        expect(key not in got["problems"], f"{call}['{key}'] is a {got['problems'].get(key)}: "
               "pad every row to the same length (padding=True) and return tensors")


# fails for: no-special-tokens, lazy
@pytest.mark.task("tokenize")
@pytest.mark.points(2)
def test_tokenize_pads_and_masks(submission, support, grading_seed):
    texts, _ = support.sample("validation", 12, grading_seed)
    texts = [*texts, "Bad.", "A triumph!"]  # two very short ones: most of their rows is padding
    got = submission.harness.tokenized(texts, 64)
    call = f"tokenize_batch(<{len(texts)} texts>, max_length=64)"
    _check_tokens(got, call)
    ids, mask = got["arrays"]["input_ids"], got["arrays"]["attention_mask"]
    want_ids, want_mask = support.expected_tokens(texts, 64)
    expect(ids.shape == want_ids.shape, f"{call} gave input_ids of shape {ids.shape}; expected "
           f"{want_ids.shape}: one row per text, as long as the longest text in the batch "
           "(padding=True), never longer than max_length")
    expect(mask.shape == ids.shape, f"attention_mask has shape {mask.shape} but input_ids has "
           f"{ids.shape}")
    expect(bool((ids[:, 0] == support.CLS).all()), "every row must start with [CLS] (id 101): "
           "use the tokenizer's __call__, which adds the special tokens")
    expect(np.array_equal(ids, want_ids), f"{call} gave other token ids than MiniLM's tokenizer: "
           "use get_tokenizer() (the MiniLM tokenizer) and pad on the right with [PAD] (id 0)")
    expect(np.array_equal(mask, want_mask), f"{call}: the attention mask must be 1 on every "
           "real token (including [CLS] and [SEP]) and 0 on every [PAD] position")


# fails for: no-truncation, no-special-tokens, lazy
@pytest.mark.task("tokenize")
@pytest.mark.points(1)
def test_tokenize_truncates_long_texts(submission, support, grading_seed):
    texts, _ = support.sample("train", 6, grading_seed + 1)
    long_text = " ".join(texts)  # far more than 24 tokens
    batch = [long_text, texts[0]]
    got = submission.harness.tokenized(batch, 24)
    call = "tokenize_batch([<a 100-word text>, <a short text>], max_length=24)"
    _check_tokens(got, call)
    ids = got["arrays"]["input_ids"]
    want_ids, _ = support.expected_tokens(batch, 24)
    expect(ids.shape[1] <= 24, f"{call} gave rows of {ids.shape[1]} tokens: truncate to "
           "max_length (truncation=True, max_length=max_length)")
    expect(np.array_equal(ids, want_ids), f"{call}: the long text must be cut to 24 tokens that "
           "still end with [SEP] (id 102), as the tokenizer does with truncation=True")


# fails for: from-scratch, lazy
@pytest.mark.task("model")
@pytest.mark.points(2)
def test_build_model_is_pretrained_minilm_with_new_head(submission, support):
    got = submission.harness.built_model(3)
    expect(got["is_module"], f"build_model(3) returned a {got['class']}, not a torch model")
    expect(got["class"] == "BertForSequenceClassification", f"build_model(3) returned a "
           f"{got['class']}; use AutoModelForSequenceClassification.from_pretrained(...), "
           "which gives a BertForSequenceClassification: MiniLM plus a classification head")
    problems = support.architecture_problems(got["config"])
    expect(not problems, "build_model(3) is not MiniLM's architecture (" + ", ".join(problems)
           + "): load it with from_pretrained(minilm_path(), ...) instead of building a config")
    expect(got["classifier_shape"] == [3, 384], f"build_model(3)'s classifier has weight shape "
           f"{got['classifier_shape']}; a new head for 3 labels maps 384 features to 3 logits: "
           "pass num_labels=num_labels to from_pretrained")
    changes = support.relative_changes(got["weights"], WEIGHT_ROWS)
    worst = max(changes.values())
    expect(worst < 1e-5, f"build_model(3)'s encoder weights are not MiniLM's pretrained weights "
           f"(they differ by {worst:.0%}): a model built from a config (BertConfig(...), "
           "from_config) starts from random weights, i.e. it is trained from scratch. Load the "
           "weights with AutoModelForSequenceClassification.from_pretrained(minilm_path(), "
           "num_labels=num_labels)")


def _tiny_run(submission, support, seed):
    """train() on the tiny BERT; the losses before and after are computed here."""
    texts, labels = support.sample("train", TINY_N, seed)
    state = support.tiny_state(seed % 1000)
    got = submission.harness.tiny_train(texts, labels.tolist(), state, seed % 1000,
                                        TINY_EPOCHS, TINY_BATCH, TINY_LR)
    after = got.pop("state", None)
    got["state_problem"] = support.state_problem(after, state)
    got["loss_before"] = support.initial_loss(seed % 1000, texts, labels.tolist())
    got["loss_after"] = support.tiny_loss(after, texts, labels.tolist()) \
        if got["state_problem"] is None else float("nan")
    return got


@pytest.fixture(scope="module")
def tiny_run(submission, support, grading_seed):
    return _tiny_run(submission, support, grading_seed)


# fails for: no-optimizer-step, patched-judge, lazy
@pytest.mark.task("train")
@pytest.mark.points(2)
def test_training_reduces_the_loss(tiny_run):
    call = (f"train(<tiny 2-layer BERT>, <{TINY_N} texts>, labels, epochs={TINY_EPOCHS}, "
            f"batch_size={TINY_BATCH}, lr={TINY_LR})")
    expect(tiny_run["loss_types"] == ["float"], f"{call} returned a {tiny_run['returned_type']}"
           f" of {tiny_run['loss_types']}; return a list with every step's loss as a Python "
           "float (loss.item())")
    steps = TINY_EPOCHS * -(-TINY_N // TINY_BATCH)
    expect(len(tiny_run["losses"]) == steps, f"{call} returned {len(tiny_run['losses'])} "
           f"losses; {steps} steps were expected (epochs x batches per epoch, one loss each)")
    expect(bool(np.isfinite(tiny_run["losses"]).all()), f"{call} returned NaN or infinite "
           "losses")
    expect(tiny_run["state_problem"] is None, f"{call}: after training, the model does not "
           f"hold weights the grader can read: {tiny_run['state_problem']}. Train the model "
           "you are given, in place, without replacing its layers")
    before, after = tiny_run["loss_before"], tiny_run["loss_after"]
    expect(after < LOSS_DROP * before, f"{call}: the loss on those texts went from {before:.3f}"
           f" to {after:.3f}; a working loop at least halves it. Check zero_grad -> forward "
           "with labels -> loss.backward() -> optimizer.step(), that the optimizer holds "
           "model.parameters(), and that it uses the lr you are given")


# fails for: patched-judge, lazy
@pytest.mark.task("train")
@pytest.mark.points(1)
def test_training_runs_in_training_mode(tiny_run):
    modes = tiny_run["modes"]
    expect(modes["forward_calls"] > 0, "train() never called the model")
    expect(modes["all_training"], "train() ran the model in evaluation mode (we handed it a "
           "model in eval mode): call model.train() before the loop, so dropout is active")
    expect(modes["all_grad"], "train() ran the model with gradients turned off "
           "(torch.no_grad()): nothing can be learned that way")


# fails for: unseeded-shuffle
@pytest.mark.task("train")
@pytest.mark.points(1)
@pytest.mark.requires(TRAINED)
def test_training_is_reproducible(submission, support, tiny_run, grading_seed):
    again = _tiny_run(submission, support, grading_seed)
    expect(tiny_run["losses"] and np.allclose(tiny_run["losses"], again["losses"], atol=1e-5),
           "two train() calls with the same seed on the same model gave different losses: "
           "shuffle with a generator seeded by `seed` (torch.Generator().manual_seed(seed)) "
           "and call torch.manual_seed(seed) at the start, so dropout repeats too")


# fails for: predict-without-eval, patched-judge, lazy
@pytest.mark.task("predict")
@pytest.mark.points(1)
def test_predict_uses_eval_mode_without_gradients(submission, support, grading_seed):
    texts, _ = support.sample("validation", 40, grading_seed + 2)
    state = support.tiny_state(grading_seed % 1000, tuple(texts))
    got = submission.harness.tiny_predict(texts, state, 16)
    modes = got["modes"]
    expect(modes["forward_calls"] > 0, "predict() never called the model")
    expect(not modes["any_training"], "predict() ran the model in training mode (we handed it "
           "a model in training mode, as it is right after train()): call model.eval() first, "
           "or dropout changes the predictions at random")
    expect(not modes["any_grad"], "predict() tracked gradients: wrap it in torch.no_grad() "
           "(less memory, faster)")


# fails for: majority-class, patched-judge, lazy
@pytest.mark.task("predict")
@pytest.mark.points(1)
def test_predict_returns_argmax_labels(submission, support, grading_seed):
    texts, _ = support.sample("validation", 70, grading_seed + 3)
    state = support.tiny_state(grading_seed % 1000, tuple(texts))
    got = submission.harness.tiny_predict(texts, state, 32)
    logits = support.pseudo_logits(grading_seed % 1000, texts)  # here, never in the worker
    expected = logits.argmax(axis=1)
    close = np.abs(logits[:, 1] - logits[:, 0]) < ARGMAX_MARGIN
    call = "predict(model, <70 texts>, batch_size=32)"
    predicted = got["predicted"]
    expect(predicted is not None, f"{call} returned a {got['type']} that is not an array of "
           f"labels ({got['problem']})")
    expect(predicted.shape == (70,), f"{call} returned shape {predicted.shape}; return one label "
           "per text (all batches, the last one of 6 texts included)")
    expect(np.issubdtype(predicted.dtype, np.integer), f"{call} returned {predicted.dtype} "
           "values; return integer labels (logits.argmax(dim=-1))")
    expect(len(set(predicted.tolist())) > 1 or len(set(expected.tolist())) == 1,
           f"{call} returned the same label for every text, although the model's logits favour "
           "different classes for different texts: that is a majority-class predictor. Return "
           "the argmax of each text's logits")
    expect(bool(((predicted == expected) | close).all()), f"{call} does not return the "
           "class with the highest logit for each text, in the order of the texts")


@pytest.fixture(scope="module")
def saved(submission, support, exercise):
    texts, labels = support.fixed_sample("validation", 300)
    return support.saved_model(submission, exercise, texts), labels


# Proved by tests/test_saved_model.py: other-build-model and a copied model beside the starter.
# fails for: saved-model-tests
@pytest.mark.task("saved-model")
@pytest.mark.points(1)
@pytest.mark.requires(TRAINED)
def test_saved_model_is_minilm_with_a_new_head(submission, support, saved):
    got, _ = saved
    expect(got["class"] == "BertForSequenceClassification", f"model/ holds a {got['class']}; "
           "save the BertForSequenceClassification you fine-tuned")
    problems = support.architecture_problems(got["config"])
    expect(not problems, "the saved model is not MiniLM (" + ", ".join(problems) + "): did you "
           "save the tiny demo model instead of the fine-tuned MiniLM?")
    expect(got["classifier_shape"] == [2, 384], f"the saved model's head has shape "
           f"{got['classifier_shape']}; it should map 384 features to 2 labels (rotten = 0, "
           "fresh = 1)")
    built = submission.harness.built_model(2)
    differs = support.from_build_problems(got["config"], built["config"])
    expect(not differs, "the saved model cannot have come from this code: its config differs "
           "from the model your build_model(2) returns (" + "; ".join(differs[:4]) + "). Save "
           "the model your own build_model() and train() make: run the notebook's \"fine-tune "
           "and save\" cell (or `python finetune.py`) again with this finetune.py")


# fails for: saved-model-tests (a model with random weights, built by tests/test_saved_model.py)
@pytest.mark.task("saved-model")
@pytest.mark.points(1)
@pytest.mark.requires(TRAINED, "test_saved_model_is_minilm_with_a_new_head")
def test_saved_model_was_fine_tuned_not_trained_from_scratch(support, saved):
    got, _ = saved
    changes = support.relative_changes(got["weights"], WEIGHT_ROWS)
    worst = max(changes.values())
    expect(worst < CHANGE_FROM_SCRATCH, f"the saved encoder's weights differ from MiniLM's "
           f"pretrained ones by up to {worst:.0%}: fine-tuning moves them by about 1%. This "
           "model was trained from scratch (random initial weights); build it with "
           "from_pretrained(minilm_path(), num_labels=2), then train and save it")
    expect(max(changes.values()) > 1e-6, "the saved encoder is exactly the pretrained MiniLM: "
           "the model was saved before it was fine-tuned (or only the head was trained); run "
           "train() on the model, then save it")


# fails for: saved-model-tests (a model with random weights, built by tests/test_saved_model.py)
@pytest.mark.task("saved-model")
@pytest.mark.points(1)
@pytest.mark.requires(TRAINED, "test_saved_model_is_minilm_with_a_new_head")
def test_saved_model_accuracy_on_validation(support, saved):
    got, labels = saved
    accuracy = float((got["predicted"] == labels).mean())
    expect(accuracy >= PUBLIC_MIN_ACCURACY, support.accuracy_message(
        got["predicted"], labels, "validation snippets", PUBLIC_MIN_ACCURACY))
