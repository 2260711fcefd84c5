"""Public tests for model-choice: the measuring method against stub models with known costs, the
decision rule on made-up tables, and the consistency of your report.

A stub "model" sleeps a known time per call, is slow for its first calls and has periodic
spikes; so a CPU-time clock, a missing warm-up or a mean instead of a median each shows.

report.json is data: it is read as handed in and its data is graded even when choice.py does
not import, but only if choice.py's functions are written (a report cannot come from code that
raises NotImplementedError). Its figures are then recomputed: the tfidf-lr predictions by the
grader itself, the sizes and the choice by your own model_size_mb, quantize and choose.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from grader.testing import expect

WARMUP, REPEATS = 5, 9


def _latency(submission, support, seed, batch_size):
    costs = support.stub_costs(seed)
    got = submission.harness.timed_stub(costs, 64, batch_size, WARMUP, REPEATS)
    result = got["result"]
    call = (f"measure_latency(model, texts, batch_size={batch_size}, warmup={WARMUP}, "
            f"repeats={REPEATS})")
    expect(isinstance(result, dict) and "p50_ms" in result, f"{call} returned a "
           f"{type(result).__name__}; return a dict with 'p50_ms' (and 'p90_ms', 'runs')")
    p50 = result["p50_ms"]
    expect(isinstance(p50, int | float) and not isinstance(p50, bool), f"{call}['p50_ms'] is "
           f"{p50!r}; a number of milliseconds was expected")
    problem = support.latency_mistake(float(p50), costs, batch_size, got["calls"], WARMUP,
                                      REPEATS)
    expect(problem is None, f"{call}: {problem}")


# fails for: cpu-timer, no-warmup, mean-not-median, lazy
@pytest.mark.task("latency")
@pytest.mark.points(2)
def test_latency_of_one_text(submission, support, grading_seed):
    _latency(submission, support, grading_seed, 1)


# fails for: cpu-timer, lazy
@pytest.mark.task("latency")
@pytest.mark.points(1)
def test_latency_of_a_batch_of_32(submission, support, grading_seed):
    _latency(submission, support, grading_seed + 1, 32)


# fails for: parameter-count-size, lazy
@pytest.mark.task("size")
@pytest.mark.points(2)
def test_model_size_counts_serialized_bytes(submission, support, grading_seed):
    got = submission.harness.sized_models(grading_seed % 1000, support.MLP_SIZES)
    fp32, int8 = (b / 1e6 for b in support.mlp_bytes(support.MLP_SIZES))
    call = "model_size_mb(<MLP 512-1024-1024-2>)"
    for key in ("fp32", "int8"):
        expect(isinstance(got[key], int | float) and not isinstance(got[key], bool),
               f"{call} returned {got[key]!r}; return the size in MB as a float")
    expect(abs(got["fp32"] - fp32 / 1.048576) > 0.01 * fp32 or abs(got["fp32"] - fp32) <
           0.02 * fp32, f"{call} returned {got['fp32']:.3f}: that is MiB (2**20 bytes); this "
           "course counts 1 MB = 1,000,000 bytes, like disk sizes")
    expect(abs(got["fp32"] - fp32) < 0.02 * fp32, f"{call} returned {got['fp32']:.3f} MB for "
           f"a float32 model with {fp32 * 1e6 / 4:,.0f} weights (4 bytes each): serialise "
           "model.state_dict() with torch.save into io.BytesIO and count the bytes")
    expect(got["int8"] > 0.5 * int8, f"{call} returned {got['int8']:.3f} MB for its int8 "
           "quantized copy: quantized layers keep their weights in packed buffers, not in "
           "parameters(), so counting parameters finds almost nothing. Measure what torch.save "
           "writes instead")
    expect(abs(got["int8"] - int8) < 0.03 * int8, f"{call} returned {got['int8']:.3f} MB for "
           "the int8 copy, but its weights take one byte each (plus float32 biases and "
           "scales): measure the bytes torch.save writes for model.state_dict()")


# fails for: lazy
@pytest.mark.task("quantize")
@pytest.mark.points(2)
def test_quantize_makes_int8_linear_layers(submission, support, grading_seed):
    rng = np.random.default_rng(grading_seed)
    inputs = rng.normal(size=(200, support.MLP_SIZES[0]))
    weights = support.mlp_weights(grading_seed, support.MLP_SIZES)
    got = submission.harness.quantized(weights, inputs)
    reference = support.mlp_outputs(weights, inputs)  # the float model, computed here
    call = "quantize(<MLP with 3 Linear layers>)"
    expect(got["kinds"], f"{call} returned a {got['type']}, not a torch model")
    dynamic = [k for k in got["kinds"] if ".quantized.dynamic." in k and k.endswith(".Linear")]
    expect(len(dynamic) == 3, f"{call} has {len(dynamic)} dynamically quantized Linear layers "
           "out of 3: use torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, "
           "dtype=torch.qint8)")
    expect(got["original_unchanged"], f"{call} changed the model it was given: return a "
           "quantized copy (quantize_dynamic does this unless inplace=True), so you can still "
           "compare against the float model")
    ratio = got["int8_bytes"] / support.mlp_bytes(support.MLP_SIZES)[0]
    expect(ratio < 0.35, f"{call}: the quantized copy is {ratio:.0%} of the float model's "
           "size; int8 weights should make it about a quarter")
    agree = float((got["outputs"].argmax(1) == reference.argmax(1)).mean())
    expect(agree >= 0.95, f"{call}: the quantized copy agrees with the float model on only "
           f"{agree:.0%} of 200 inputs: quantize the weights to int8 per tensor (qint8), not "
           "the whole model to another type")


# fails for: lazy
@pytest.mark.task("choose")
@pytest.mark.points(1)
def test_choose_on_a_worked_example(submission):
    table = [
        {"name": "big", "accuracy": 0.86, "p50_ms": 40.0, "size_mb": 400.0},
        {"name": "medium", "accuracy": 0.82, "p50_ms": 14.0, "size_mb": 90.0},
        {"name": "medium-int8", "accuracy": 0.82, "p50_ms": 9.0, "size_mb": 58.0},
        {"name": "small", "accuracy": 0.70, "p50_ms": 0.4, "size_mb": 3.0},
    ]
    got = submission.harness.chosen(table, 20.0, 100.0)
    expect(got == "medium-int8", f"choose(<big 0.86/40 ms/400 MB, medium 0.82/14 ms/90 MB, "
           f"medium-int8 0.82/9 ms/58 MB, small 0.70/0.4 ms/3 MB>, max_p50_ms=20, "
           f"max_size_mb=100) returned {got!r}; 'big' breaks the budget, and of the two most "
           "accurate that fit, 'medium-int8' is faster and smaller")
    got = submission.harness.chosen(table, 0.1, 100.0)
    expect(got is None, f"choose(..., max_p50_ms=0.1, max_size_mb=100) returned {got!r}; "
           "no candidate is that fast: return None")


# fails for: ignores-size-limit, lazy
@pytest.mark.task("choose")
@pytest.mark.points(1)
def test_choose_on_random_tables(submission, support, grading_seed):
    rng = random.Random(grading_seed)
    for _ in range(4):
        table = support.random_table(rng, 6)
        p50, size = rng.uniform(5, 30), rng.uniform(10, 100)
        got = submission.harness.chosen(table, p50, size)
        problem = support.choice_problem(table, p50, size, got)
        expect(problem is None, problem)


@pytest.fixture(scope="module")
def report(submission, support):
    found = support.read_report(submission)
    support.report_made_here(submission)
    return found


# fails for: friend-report (not attempted)
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_lists_every_candidate(support, report):
    rows = support.report_rows(report)
    expect(report.get("budget") == support.BUDGET, f"report.json's budget is "
           f"{report.get('budget')!r}; the task's budget is {support.BUDGET}")
    predictions = report.get("validation_predictions")
    expect(isinstance(predictions, dict) and set(rows) <= set(predictions),
           "report.json must keep each candidate's validation predictions "
           "('validation_predictions', one list per candidate)")
    for name in rows:
        expect(isinstance(predictions[name], list) and len(predictions[name]) ==
               support.N_VALIDATION, f"report.json holds {len(predictions[name])} validation "
               f"predictions for {name}; one for each of the {support.N_VALIDATION} validation "
               "snippets of the report's sample was expected")


# fails for: self-reported-accuracy, lazy
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_accuracy_matches_its_predictions(support, report):
    rows = support.report_rows(report)
    labels = support.validation_labels(support.N_VALIDATION)
    for name, row in rows.items():
        predicted = np.asarray(report["validation_predictions"][name])
        expect(predicted.shape == labels.shape, f"report.json: {name} has "
               f"{predicted.shape[0]} validation predictions; {labels.shape[0]} expected")
        accuracy = float((predicted == labels).mean())
        expect(abs(row["accuracy"] - accuracy) < 1e-6, f"report.json says {name} has accuracy "
               f"{row['accuracy']:.3f}, but its own validation predictions score "
               f"{accuracy:.3f}: accuracy is computed from predictions and labels, never typed "
               "in or copied from elsewhere (self-reported numbers are not trusted)")


# fails for: friend-report (not attempted)
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_measurements_are_plausible(support, report):
    rows = support.report_rows(report)
    fp32, int8 = rows["minilm-finetuned"], rows["minilm-finetuned-int8"]
    expect(80 <= fp32["size_mb"] <= 100, f"report.json gives the fine-tuned MiniLM "
           f"{fp32['size_mb']:.1f} MB; its 22.7 M float32 weights take about 91 MB on disk: "
           "measure the serialized state_dict (model_size_mb)")
    expect(int8["size_mb"] < 0.8 * fp32["size_mb"], f"report.json gives the int8 model "
           f"{int8['size_mb']:.1f} MB against {fp32['size_mb']:.1f} MB in float32: dynamic "
           "quantization of the Linear layers should save about a third (the embeddings stay "
           "float32)")
    slow = [n for n, r in rows.items() if r["p50_ms_batch32"] < r["p50_ms"]]
    expect(not slow, f"report.json says a batch of 32 is faster than one text for "
           f"{', '.join(slow)}: time the whole batch call, not the time per text")


# fails for: labels-as-predictions, lazy
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_predictions_come_from_the_candidates(support, report):
    rows = support.report_rows(report)
    labels = support.validation_labels(support.N_VALIDATION)
    predictions = {n: np.asarray(report["validation_predictions"][n]) for n in rows}
    for name, predicted in predictions.items():
        expect(predicted.shape == labels.shape, f"report.json: {name} has "
               f"{predicted.shape[0]} validation predictions; {labels.shape[0]} expected")
        accuracy = float((predicted == labels).mean())
        expect(accuracy <= support.CEILING, f"report.json's predictions for {name} score "
               f"{accuracy:.3f} on the validation sample: no model of this kind gets near "
               f"{support.CEILING:.2f} on these snippets (MiniLM-sized models score about "
               "0.78-0.83). Predictions must come from the candidate itself (make_report "
               "computes them), never from the labels")
    tfidf = support.reference_tfidf_predictions()
    agree = float((predictions["tfidf-lr"] == tfidf).mean())
    expect(agree >= support.TFIDF_AGREEMENT, f"report.json's tfidf-lr predictions agree with "
           f"the grader's own fit of that candidate (TF-IDF of words and word pairs + logistic "
           f"regression on all training snippets) on only {agree:.0%} of the validation "
           "sample: let make_report fit it and predict, and do not edit its predictions")
    agree = float((predictions["minilm-finetuned"] == predictions["minilm-finetuned-int8"])
                  .mean())
    expect(agree >= 0.9, f"the int8 model agrees with the float model on only {agree:.0%} of "
           "the validation snippets: quantize a copy of the fine-tuned model, not another one")


# fails for: ignores-size-limit, lazy
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_choice_follows_its_own_numbers(support, report):
    rows = list(support.report_rows(report).values())
    budget = support.BUDGET
    problem = support.choice_problem(rows, budget["max_p50_ms"], budget["max_size_mb"],
                                     report.get("choice"))
    expect(problem is None, f"report.json's choice does not follow from its own "
           f"measurements: {problem}")


# fails for: parameter-count-size, syntax-error, lazy, friend-report
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_figures_match_your_own_functions(submission, support, report):
    rows = support.report_rows(report)
    sizes = submission.harness.minilm_sizes()
    for name, size in sizes.items():
        expect(isinstance(size, int | float) and not isinstance(size, bool), "model_size_mb "
               f"returned {size!r} for MiniLM; a number of MB was expected")
        expect(abs(rows[name]["size_mb"] - size) <= support.SIZE_TOLERANCE_MB, f"report.json "
               f"gives {name} {rows[name]['size_mb']:.2f} MB, but your model_size_mb (with "
               f"your quantize for int8) gives {size:.2f} MB for MiniLM in that form: the "
               "report must hold what your own functions measure; run make_report again")
    tfidf = support.reference_tfidf_size_mb()
    expect(abs(rows["tfidf-lr"]["size_mb"] - tfidf) <= 0.05 * tfidf, f"report.json gives "
           f"tfidf-lr {rows['tfidf-lr']['size_mb']:.2f} MB; that candidate, saved with skops as "
           f"make_report does, takes {tfidf:.1f} MB")
    budget = support.BUDGET
    table = [{k: r[k] for k in ("name", "accuracy", "p50_ms", "size_mb")} for r in rows.values()]
    got = submission.harness.chosen(table, budget["max_p50_ms"], budget["max_size_mb"])
    expect(got == report.get("choice"), f"your choose() picks {got!r} from report.json's own "
           f"rows and budget, but the report says {report.get('choice')!r}: the choice must be "
           "what your code decides; run make_report again")
