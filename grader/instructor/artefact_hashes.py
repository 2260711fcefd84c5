"""Comparable digests of handed-in artefacts: safetensors models tensor by tensor, JSON outputs.

A model is read as bytes only (never deserialised by a framework): the safetensors header is
JSON with a capped size, and each tensor's data is a byte range in the file. Two digests per
tensor: its exact bytes, and a sketch (values at up to ``SAMPLES`` fixed positions, rounded to
``DECIMALS`` decimals) that survives re-saving, a dtype change or a nudge of the weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_TENSORS = 4096
SAMPLES = 64
DECIMALS = 2  # near-identical: equal at every sampled position after rounding to 0.01
SIGNIFICANT = 4  # JSON numbers compared at 4 significant digits
MAX_JSON_DEPTH = 64
_FLOATS = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}
_INTS = {"I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "u1",
         "U16": "<u2", "U32": "<u4", "U64": "<u8"}


class NotComparable(ValueError):
    """An artefact that cannot be read as what its name says (the note says why)."""


def _int(digest: bytes) -> int:
    return int.from_bytes(digest[:8], "big")


@dataclass
class ModelDigest:
    """A safetensors file: its hash, and per tensor an exact and a rounded-sketch fingerprint."""

    sha256: str
    exact: dict[str, int] = field(default_factory=dict)
    sketch: dict[str, int] = field(default_factory=dict)


def _values(data: bytes, dtype: str, begin: int, end: int) -> np.ndarray[Any, Any] | None:
    """The tensor's values at evenly spaced positions, as float64 (None: a dtype kept raw)."""
    if dtype == "BF16":
        raw = np.frombuffer(data, dtype="<u2", count=(end - begin) // 2, offset=begin)
        picked = raw[np.linspace(0, len(raw) - 1, min(len(raw), SAMPLES)).astype(int)]
        widened: np.ndarray[Any, Any] = (picked.astype(np.uint32) << 16).view(np.float32)
        return widened.astype(np.float64)
    code = _FLOATS.get(dtype) or _INTS.get(dtype)
    if code is None:
        return None
    size = np.dtype(code).itemsize
    arr = np.frombuffer(data, dtype=code, count=(end - begin) // size, offset=begin)
    positions = np.linspace(0, len(arr) - 1, min(len(arr), SAMPLES)).astype(int)
    picked_values: np.ndarray[Any, Any] = arr[positions].astype(np.float64)
    return picked_values


def model_digest(data: bytes) -> ModelDigest:
    """Digest a safetensors file's bytes; NotComparable if the header is not well formed."""
    if len(data) < 8:
        raise NotComparable("shorter than a safetensors header")
    (length,) = struct.unpack("<Q", data[:8])
    if length > MAX_HEADER_BYTES or 8 + length > len(data):
        raise NotComparable("its safetensors header is too large or cut short")
    try:
        header = json.loads(data[8:8 + length])
    except (ValueError, RecursionError):
        raise NotComparable("its safetensors header is not JSON") from None
    if not isinstance(header, dict) or len(header) > MAX_TENSORS:
        raise NotComparable("its safetensors header is not a table of tensors")
    digest = ModelDigest(sha256=hashlib.sha256(data).hexdigest())
    base = 8 + length
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, end = (int(x) for x in spec["data_offsets"])
            dtype = str(spec["dtype"])
        except (TypeError, KeyError, ValueError):
            raise NotComparable(f"tensor {name!r} has no valid data_offsets") from None
        begin, end = base + begin, base + end
        if not base <= begin <= end <= len(data):
            raise NotComparable(f"tensor {name!r} points outside the file")
        key = f"{name}\0{dtype}\0{spec.get('shape')}".encode("utf-8", "replace")
        digest.exact[name] = _int(hashlib.blake2b(key + data[begin:end]).digest())
        values = _values(data, dtype, begin, end)
        if values is None:
            sample = data[begin:end:max(1, (end - begin) // SAMPLES)]
        else:
            sample = (np.round(values, DECIMALS) + 0.0).tobytes()  # + 0.0: no -0.0
        named = f"{name}\0{spec.get('shape')}".encode("utf-8", "replace")
        digest.sketch[name] = _int(hashlib.blake2b(named + sample).digest())
    return digest


def _canonical(value: Any, depth: int = 0) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise NotComparable(f"nested deeper than {MAX_JSON_DEPTH}")
    if isinstance(value, float):
        return f"{value:.{SIGNIFICANT}g}" if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v, depth + 1) for v in value]
    return value


def json_digest(data: bytes) -> tuple[int, int]:
    """(exact hash, hash after rounding numbers and normalising layout) of a JSON file."""
    exact = _int(hashlib.sha256(data).digest())
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        return exact, exact  # not JSON: only byte identity means anything
    text = json.dumps(_canonical(parsed), sort_keys=True, separators=(",", ":"))
    return exact, _int(hashlib.sha256(text.encode()).digest())
