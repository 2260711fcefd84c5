"""The package's wings depend only downwards: sandbox <- engine <- reports/learner <- instructor."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "grader"
# What each wing may import besides itself; the top-level modules (cli, __init__...) may use all.
ALLOWED: dict[str, frozenset[str]] = {
    "sandbox": frozenset(),
    "engine": frozenset({"sandbox"}),
    "reports": frozenset({"engine"}),
    "learner": frozenset({"engine", "reports"}),
    "instructor": frozenset({"engine", "sandbox", "reports"}),
}


def _wing_of(module: str) -> str | None:
    """``grader.engine.proxy`` -> ``engine``; a top-level module -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "grader" else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``grader...`` module a file imports, at any depth (function-level imports too)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("grader")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "grader":  # from grader import engine -> grader.engine
                found += [(node.lineno, f"grader.{a.name}") for a in node.names]
            elif node.module.startswith("grader."):
                found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "<relative import>"))
    return found


def _violations() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            continue  # cli, __init__, __main__, testing: the top may use every wing
        wing = rel.parts[0]
        for line, target in _imports(path):
            if target == "<relative import>":
                bad.append(f"grader/{rel.as_posix()}:{line}: use absolute imports")
                continue
            other = _wing_of(target) or target.split(".")[1]
            if other != wing and other not in ALLOWED[wing]:
                bad.append(f"grader/{rel.as_posix()}:{line}: {wing} imports {target} ({other})")
    return bad


def test_every_module_is_in_a_known_wing() -> None:
    wings = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert wings == set(ALLOWED)
    for wing in wings:
        assert (PACKAGE / wing / "__init__.py").is_file()


def test_no_wing_imports_upward() -> None:
    assert _violations() == []


@pytest.mark.parametrize(("source", "wing"), [
    ("from grader.instructor.gradebook import Grade\n", "reports"),
    ("def f():\n    from grader.learner import progress\n", "instructor"),
    ("import grader.engine.runner\n", "sandbox"),
])
def test_an_upward_import_is_caught(tmp_path: Path, source: str, wing: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "grader"
    for name in ALLOWED:
        (fake / name).mkdir(parents=True)
        (fake / name / "__init__.py").write_text("")
    (fake / wing / "bad.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert len(_violations()) == 1


def test_every_presentation_module_exists() -> None:
    """fingerprint's list of modules that do not affect grades names real files only."""
    from grader.engine.fingerprint import PRESENTATION

    names = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    assert sorted(PRESENTATION - names) == []
