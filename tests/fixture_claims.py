"""Which known-bad fixture proves each grading test can fail: ``# fails for: a, b`` comments.

Above each test function of an exercise (public or hidden), a comment names the fixtures under
``tests/fixtures/submissions/<exercise-id>/`` that the test must not pass. The content check
requires one for every test; the known-bad check grades each fixture and holds it to its claims.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

CLAIM = re.compile(r"#\s*fails for:\s*(.+)$")
NOTE = re.compile(r"\([^()]*\)")  # "(gated: writes nothing)": a note for readers, not a name
NAME = re.compile(r"[A-Za-z0-9][\w.-]*")
# Fixtures built at test time by the project's own tests rather than kept on disk
GENERATED = {"bert-finetune": {"saved-model-tests": "tests/test_saved_model.py"}}


def claims(test_file: Path) -> dict[str, list[str]]:
    """``{test function name: [fixture names]}`` from the comments above each test."""
    source = test_file.read_text(encoding="utf-8")
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
    found: dict[str, list[str]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test") or \
                any("fixture" in ast.unparse(d) for d in node.decorator_list):
            continue  # not a test (a fixture may be named test_...)
        top = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        names: list[str] = []
        line = top - 1
        while line in comments:  # the comment block right above the decorators
            match = CLAIM.search(comments[line])
            if match:
                for part in NOTE.sub("", match.group(1)).split(","):
                    name = NAME.match(part.strip())
                    if name:
                        names.append(name.group(0))
            line -= 1
        if not names and _zero_points(node):
            continue  # worth nothing (e.g. needs a Docker engine): nothing to prove
        found[node.name] = names
    return found


def _zero_points(node: ast.FunctionDef) -> bool:
    """``@pytest.mark.points(0)``."""
    for deco in node.decorator_list:
        if isinstance(deco, ast.Call) and ast.unparse(deco.func).endswith("mark.points") and \
                deco.args and isinstance(deco.args[0], ast.Constant) and deco.args[0].value == 0:
            return True
    return False


def exercise_claims(test_dirs: list[Path]) -> dict[str, list[str]]:
    """Every test of an exercise (all its test files) with the fixtures it claims to fail."""
    found: dict[str, list[str]] = {}
    for folder in test_dirs:
        for path in sorted(folder.glob("test_*.py")):
            found.update(claims(path))
    return found
