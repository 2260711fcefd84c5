"""A synthetic class for `grader similarity`: honest students, disguised copies, copied models.

Used by tests/test_similarity.py (a small class with known copies) and `make bench` (300
students x every exercise). The disguises are what a copier does: rename identifiers, reorder
functions, rewrite comments and docstrings, nudge a model's weights and save it again.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
from pygments.lexers import PythonLexer
from pygments.token import Comment, Name, String
from safetensors.numpy import save_file

from grader.engine.course import Course
from grader.engine.manifest import Exercise


def rename_identifiers(text: str, salt: str = "x") -> str:
    """Every name the author chose (not attributes, builtins or imports) renamed consistently."""
    out: list[str] = []
    mapping: dict[str, str] = {}
    previous = ""
    for ttype, value in PythonLexer().get_tokens(text):
        chosen = ttype in (Name, Name.Function, Name.Class, Name.Variable)
        if chosen and previous != "." and not value.isupper():
            value = mapping.setdefault(value, f"{salt}_{len(mapping)}_{value[::-1]}")
        out.append(value)
        if value.strip():
            previous = value
    return "".join(out)


def reorder_functions(text: str, seed: int = 0) -> str:
    """Top-level functions and classes in another order (the header stays first)."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines)
              if line.startswith(("def ", "class ", "@"))
              and not (i and lines[i - 1].startswith("@"))]
    if len(starts) < 2:
        return text
    header = lines[:starts[0]]
    blocks = ["".join(lines[a:b]) for a, b in zip(starts, [*starts[1:], len(lines)],
                                                   strict=True)]
    random.Random(seed).shuffle(blocks)
    return "".join(header) + "".join(b if b.endswith("\n\n\n") else b.rstrip("\n") + "\n\n\n"
                                     for b in blocks)


def recomment(text: str) -> str:
    """Comments and docstrings rewritten, blank lines moved: the tokens that count unchanged."""
    out: list[str] = []
    for ttype, value in PythonLexer().get_tokens(text):
        if ttype in Comment:
            value = "# " + " ".join(reversed(value.lstrip("# ").split()))
        elif ttype in String.Doc:
            value = '"""' + " ".join(w.upper() for w in value.strip("\"'").split()[:6]) + '"""'
        out.append(value)
    return "".join(out).replace("\n\n\n", "\n\n\n\n")


def mutate(text: str, rng: random.Random, pool: list[str]) -> str:
    """An honest-looking variant for the bench: lines dropped, repeated and borrowed."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        roll = rng.random()
        if roll < 0.1:
            continue
        out.append(line)
        if roll > 0.7:
            out.append(rng.choice(pool))
    return "".join(out)


def write_model(path: Path, seed: int, base: dict[str, np.ndarray] | None = None,
                nudge: float = 0.0, source: Path | None = None) -> None:
    """A small safetensors model: ``base`` tensors (a frozen body) plus a seeded head."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        from safetensors.numpy import load_file

        tensors = load_file(str(source))
        rng = np.random.default_rng(seed)
        tensors = {k: (v + rng.normal(0, nudge, v.shape)).astype(v.dtype)
                   for k, v in reversed(list(tensors.items()))}
        save_file(tensors, str(path), metadata={"saved_by": f"student {seed}"})
        return
    rng = np.random.default_rng(seed)
    tensors = dict(base or {})
    tensors["head.weight"] = rng.normal(0, 0.5, (8, 64)).astype(np.float32)
    tensors["head.bias"] = rng.normal(0, 0.5, (8,)).astype(np.float32)
    tensors["layer.1.weight"] = rng.normal(0, 0.5, (64, 64)).astype(np.float32)
    save_file(tensors, str(path))


def base_model(seed: int = 99) -> dict[str, np.ndarray]:
    """The 'pretrained' body every student starts from (and leaves frozen)."""
    rng = np.random.default_rng(seed)
    return {"embed.weight": rng.normal(0, 1, (256, 64)).astype(np.float32),
            "layer.0.weight": rng.normal(0, 1, (64, 64)).astype(np.float32)}


def jitter_json(text: str, rng: random.Random) -> str:
    """The same report measured again: every float off by a few percent."""
    def walk(value: object) -> object:
        if isinstance(value, float):
            return value * (1 + rng.uniform(-0.05, 0.05))
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return json.dumps(walk(json.loads(text)), indent=1)


def put(root: Path, student: str, ex: Exercise, name: str, data: str | bytes) -> Path:
    """Write one handed-in file of one student."""
    path = root / student / ex.rel / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def bench_class(course: Course, root: Path, students: int, seed: int = 0) -> list[tuple[str,
                                                                                        str]]:
    """``students`` x every exercise, each file an honest-looking variant of the reference;
    returns the planted copies (pairs of students)."""
    rng = random.Random(seed)
    pool = [line for ex in course.exercises for name in ex.files
            if (course.solution_dir(ex) / name).is_file() and not name.endswith(".json")
            for line in (course.solution_dir(ex) / name).read_text().splitlines(keepends=True)
            if line.strip()]
    body = base_model()
    for i in range(students):
        student = f"s{i:03d}"
        for ex in course.exercises:
            for name in ex.files:
                source = course.solution_dir(ex) / name
                if not source.is_file():
                    continue
                text = source.read_text()
                if name.endswith(".json"):
                    put(root, student, ex, name, jitter_json(text, rng))
                else:
                    put(root, student, ex, name, mutate(text, rng, pool))
            for name in ex.artifacts:
                if name.endswith(".safetensors"):
                    write_model(root / student / ex.rel / name, seed=i, base=body)
    copies = []
    for j in range(0, min(students, 20) - 1, 2):  # ten copiers, each of one classmate
        source, copier = f"s{j:03d}", f"s{j + 1:03d}"
        shutil.rmtree(root / copier)
        shutil.copytree(root / source, root / copier)
        copies.append((source, copier))
    return copies
