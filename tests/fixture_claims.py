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


def claims(test_file: Path) -> dict[str, list[str]]:
    """``{test function name: [fixture names]}`` from the comments above each test."""
    source = test_file.read_text(encoding="utf-8")
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
    found: dict[str, list[str]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
            continue
        top = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        names: list[str] = []
        line = top - 1
        while line in comments:  # the comment block right above the decorators
            match = CLAIM.search(comments[line])
            if match:
                names += [n.strip() for n in match.group(1).split(",") if n.strip()]
            line -= 1
        found[node.name] = names
    return found


def exercise_claims(test_dirs: list[Path]) -> dict[str, list[str]]:
    """Every test of an exercise (all its test files) with the fixtures it claims to fail."""
    found: dict[str, list[str]] = {}
    for folder in test_dirs:
        for path in sorted(folder.glob("test_*.py")):
            found.update(claims(path))
    return found
