"""Course-owned helper run inside the worker beside the learner's ``features.py``.

It calls the learner's functions with tensors built from the grader's arrays and hands back
what they return, and nothing else. It computes no reference value: sentence-transformers'
embeddings, which the learner's must match, are computed by the grader in its own process
(``support.reference_embeddings``), because anything computed here could be patched by the
learner's module at import. It holds no labels and no expected answers.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import torch


def _learner() -> Any:
    return importlib.import_module("features")


def _array(value: Any) -> tuple[np.ndarray | None, str]:
    try:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().float().numpy(), type(value).__name__
        return np.asarray(value, dtype=np.float64), type(value).__name__
    except (TypeError, ValueError):
        return None, type(value).__name__


def pooled(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> dict[str, Any]:
    """The learner's ``mean_pool`` on torch tensors made from the grader's arrays."""
    out = _learner().mean_pool(torch.from_numpy(token_embeddings),
                               torch.from_numpy(attention_mask))
    array, kind = _array(out)
    return {"type": kind, "value": array}


def embedded(texts: list[str], batch_size: int) -> dict[str, Any]:
    """The learner's ``embed`` on a batch, and on each text alone (no padding at all)."""
    learner = _learner()
    together, kind = _array(learner.embed(list(texts), batch_size=batch_size))
    alone = [_array(learner.embed([t], batch_size=1))[0] for t in texts[:4]]
    return {"type": kind, "together": together,
            "alone": np.concatenate(alone) if all(a is not None for a in alone) else None}


def ready() -> bool:
    """Nothing but a started worker (so the grader can read the files the learner made)."""
    return True


def fitted_head(features: np.ndarray, labels: np.ndarray, c: float) -> Any:
    """What the learner's ``fit_head`` returns for the grader's synthetic features."""
    return _learner().fit_head(features, labels, C=c)


def head_predictions(head: Any, features: np.ndarray) -> Any:
    """The learner's ``predict_head`` on a head and features the grader chose."""
    return _learner().predict_head(head, features)


def searched(queries: np.ndarray, corpus: np.ndarray, k: int) -> Any:
    """The learner's ``search`` on the grader's vectors."""
    return _learner().search(queries, corpus, k)


def search_texts(queries: list[str], corpus: list[str], k: int) -> Any:
    """Semantic search end to end with the learner's own ``embed`` and ``search``."""
    learner = _learner()
    q, c = learner.embed(list(queries)), learner.embed(list(corpus))
    return learner.search(q, c, k)
