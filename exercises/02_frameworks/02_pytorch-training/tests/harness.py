"""Course-owned helper run inside the worker beside the learner's ``training.py``.

It drives the learner's classes and functions and hands back plain data: arrays, losses, which
modules were in training mode, whether gradients were tracked. It holds no expected values and
never sees the labels of the digits it predicts: the grader judges in its own process.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import torch
from torch import nn

# Tiny models train fastest on one thread, and two workers' threads must not fight over cores.
torch.set_num_threads(1)


def _learner() -> Any:
    return importlib.import_module("training")


def _batch(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """All items of the learner's Dataset, stacked into one batch."""
    dataset = _learner().DigitsDataset(images, labels)
    items = [dataset[i] for i in range(len(dataset))]
    return (torch.stack([torch.as_tensor(x) for x, _ in items]),
            torch.stack([torch.as_tensor(y) for _, y in items]))


def _logits(model: nn.Module, images: np.ndarray) -> np.ndarray:
    """The model's outputs in eval mode, without gradients (labels are not needed: zeros)."""
    x, _ = _batch(images, np.zeros(len(images), dtype=np.int64))
    model.eval()
    with torch.no_grad():
        return model(x).detach().numpy().astype(np.float64)


def _state(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def dataset_items(images: np.ndarray, labels: np.ndarray, indexes: list[int]) -> dict[str, Any]:
    """``len()`` of the learner's Dataset and the items at ``indexes`` as arrays."""
    dataset = _learner().DigitsDataset(images, labels)
    items = []
    for i in indexes:
        x, y = dataset[i]
        items.append({"x_type": type(x).__name__, "y_type": type(y).__name__,
                      "x_dtype": str(getattr(x, "dtype", "")),
                      "y_dtype": str(getattr(y, "dtype", "")),
                      "x": np.asarray(x.numpy() if isinstance(x, torch.Tensor) else x),
                      "y": np.asarray(y.numpy() if isinstance(y, torch.Tensor) else y)})
    return {"len": len(dataset), "items": items}


def model_summary(images: np.ndarray, seed: int) -> dict[str, Any]:
    """What ``DigitNet()`` contains and what it outputs for a small batch in eval mode."""
    torch.manual_seed(seed)
    model = _learner().DigitNet()
    kinds = [type(m).__name__ for m in model.modules()]
    return {
        "is_module": isinstance(model, nn.Module),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "has_dropout": any(isinstance(m, nn.modules.dropout._DropoutNd) for m in model.modules()),
        "has_batchnorm": any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                             for m in model.modules()),
        "modules": kinds,
        "logits": _logits(model, images),
    }


class _ModeRecorder:
    """Forward hooks that note, for every call, training flags and whether grad was on."""

    def __init__(self, model: nn.Module) -> None:
        self.calls: list[dict[str, bool]] = []
        self._handles = [m.register_forward_hook(self._hook) for m in model.modules()]

    def _hook(self, module: nn.Module, _inputs: Any, _output: Any) -> None:
        self.calls.append({
            "grad": torch.is_grad_enabled(),
            "dropout_training": isinstance(module, nn.modules.dropout._DropoutNd)
            and module.training,
            "batchnorm_training": isinstance(module, nn.modules.batchnorm._BatchNorm)
            and module.training,
            "training": module.training,
        })

    def close(self) -> dict[str, bool]:
        for handle in self._handles:
            handle.remove()
        return {
            "forward_calls": len(self.calls),
            "grad_enabled": any(c["grad"] for c in self.calls),
            "dropout_training": any(c["dropout_training"] for c in self.calls),
            "batchnorm_training": any(c["batchnorm_training"] for c in self.calls),
            "any_training": any(c["training"] for c in self.calls),
        }


def overfit_batch(images: np.ndarray, labels: np.ndarray, steps: int,
                  seed: int) -> dict[str, Any]:
    """``steps`` calls of the learner's ``train_step`` on one batch, each starting in eval mode."""
    learner = _learner()
    torch.manual_seed(seed)
    model = learner.DigitNet()
    optimizer = learner.make_optimizer(model)
    loss_fn = nn.CrossEntropyLoss()
    x, y = _batch(images, labels)
    losses, modes = [], []
    for _ in range(steps):
        model.eval()  # train_step itself must switch to training mode
        recorder = _ModeRecorder(model)
        loss = learner.train_step(model, x, y, optimizer, loss_fn)
        modes.append(recorder.close())
        losses.append(loss)
    return {"losses": losses, "loss_types": sorted({type(v).__name__ for v in losses}),
            "final_logits": _logits(model, images),
            "train_mode": all(m["any_training"] for m in modes)}


def _warmed_up_model(images: np.ndarray, seed: int) -> nn.Module:
    """A DigitNet whose BatchNorm statistics have moved off their defaults, left in train mode."""
    torch.manual_seed(seed)
    model = _learner().DigitNet()
    x, _ = _batch(images, np.zeros(len(images), dtype=np.int64))
    model.train()
    with torch.no_grad():
        model(x)
    return model


def probe_evaluation(images: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, Any]:
    """Call ``evaluate`` and ``predict`` on a model left in training mode; record what changed."""
    learner = _learner()
    out: dict[str, Any] = {}
    for name in ("evaluate", "predict"):
        model = _warmed_up_model(images, seed)
        before = _state(model)
        recorder = _ModeRecorder(model)
        if name == "evaluate":
            loader = torch.utils.data.DataLoader(learner.DigitsDataset(images, labels),
                                                 batch_size=64)
            learner.evaluate(model, loader, nn.CrossEntropyLoss())
        else:
            learner.predict(model, images)
        seen = recorder.close()
        after = _state(model)
        seen["changed_state"] = sorted(k for k in before if not np.array_equal(before[k],
                                                                               after[k]))
        seen["grads_stored"] = any(p.grad is not None for p in model.parameters())
        out[name] = seen
    return out


def evaluation_results(images: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, Any]:
    """``evaluate`` and ``predict`` on one model already in eval mode, plus its logits."""
    learner = _learner()
    model = _warmed_up_model(images, seed)
    model.eval()
    loader = torch.utils.data.DataLoader(learner.DigitsDataset(images, labels), batch_size=64)
    scores = learner.evaluate(model, loader, nn.CrossEntropyLoss())
    model.eval()
    predicted = learner.predict(model, images)
    return {"scores": scores, "predicted": np.asarray(predicted),
            "logits": _logits(model, images)}


class _FirstModel:
    """Notes the weights of the first DigitNet built while it is active (fit's starting point)."""

    def __init__(self, cls: Any) -> None:
        self.cls, self.original = cls, getattr(cls, "__init__", None)
        self.state: dict[str, np.ndarray] | None = None

    def __enter__(self) -> _FirstModel:
        if not isinstance(self.cls, type):  # DigitNet is not a class: nothing to watch
            self.original = None
            return self
        original, box = self.original, self

        def init(model: nn.Module, *args: Any, **kwargs: Any) -> None:
            original(model, *args, **kwargs)
            if box.state is None:
                box.state = _state(model)

        self.cls.__init__ = init  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.original is not None:
            self.cls.__init__ = self.original  # type: ignore[method-assign]


def run_fit(train_images: np.ndarray, train_labels: np.ndarray, val_images: np.ndarray,
            val_labels: np.ndarray, test_images: np.ndarray, seed: int, max_epochs: int,
            patience: int) -> dict[str, Any]:
    """Run the learner's ``fit``; return its history, its starting and final weights, and the
    returned model's outputs on the validation images and predictions for the test images."""
    learner = _learner()
    with torch.random.fork_rng():
        torch.manual_seed(seed + 1)
        logits_before = _logits(learner.DigitNet(), train_images)
    torch.seed()  # fit must seed itself: leave no seeded global state behind for it
    with _FirstModel(learner.DigitNet) as first:
        model, history = learner.fit(train_images, train_labels, val_images, val_labels,
                                     seed=seed, max_epochs=max_epochs, patience=patience)
    logits_after = _logits(model, train_images)
    state = _state(model)
    val_logits = _logits(model, val_images)
    model.eval()
    predicted = learner.predict(model, test_images)
    return {"history": history, "state": state, "initial_state": first.state,
            "logits_before": logits_before, "logits_after": logits_after,
            "val_logits": val_logits,
            "predicted": np.asarray(predicted)}


def save_trained(images: np.ndarray, labels: np.ndarray, path: str,
                 seed: int) -> dict[str, Any]:
    """Train a DigitNet briefly (course code), save it with the learner's ``save_checkpoint``."""
    learner = _learner()
    model = _warmed_up_model(images, seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _batch(images, labels)
    for _ in range(20):
        model.train()
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    learner.save_checkpoint(model, path)
    return {"state": _state(model), "logits": _logits(model, images)}


def reload_logits(path: str, images: np.ndarray) -> dict[str, Any]:
    """Load with the learner's ``load_checkpoint`` and compute eval-mode logits."""
    learner = _learner()
    model = learner.load_checkpoint(path)
    return {"is_digitnet": isinstance(model, learner.DigitNet), "logits": _logits(model, images)}
