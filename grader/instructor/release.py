"""Build a student copy of the course: starters, public tests, learner data, the engine; no secrets.

What is copied is an allow-list (below); ``solutions/`` (reference code, hidden tests, hidden data
and labels), known-bad submissions and the content tests are never copied. After copying,
:func:`find_leaks` scans the release for every solution file's distinctive content.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.engine.course import Course
from grader.engine.manifest import Exercise

TOP_FILES = ("README.md", "CONTRIBUTING.md", "Makefile", "pyproject.toml", ".gitignore",
             ".pre-commit-config.yaml", "LICENSE")
TOP_DIRS = ("grader", "docs", ".ci")
# The engine's own tests that need no solutions, so `make test` runs in a release.
ENGINE_TESTS = ("tests/conftest.py", "tests/test_manifest.py", "tests/test_results.py",
                "tests/test_cli.py", "tests/test_plaindata.py", "tests/test_proxy.py",
                "tests/test_golden.py", "tests/test_attacks.py")
ENGINE_TEST_DIRS = ("tests/fixtures/course", "tests/golden", "tests/attacks")
# `make lint` checks scripts/; `make setup` fetches the text data; other generators stay behind
SCRIPTS = ("scripts/bench.py", "scripts/fetch_text_data.py")
WORKFLOW_TEMPLATE = Path("docs/templates/github-classroom.yml")
WORKFLOW = Path(".github/workflows/grade.yml")
SKIP_NAMES = frozenset({"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache",
                        ".ruff_cache", ".grader", ".DS_Store", ".venv", ".git"})
MIN_LINE = 20  # a run of lines needs one this long: shorter ones are too common
WINDOW = 3  # consecutive significant lines that make a leak


@dataclass(frozen=True)
class Leak:
    """A secret found in a release: which solution file and where it showed up."""

    secret: str  # path under solutions/
    found_in: str  # path in the release
    evidence: str


@dataclass
class ReleaseReport:
    """What a release contains and whether it leaks."""

    root: Path
    exercises: list[str] = field(default_factory=list)
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)


class ReleaseError(RuntimeError):
    """A release that cannot be built where asked."""


def _skip(path: Path) -> bool:
    """Caches, virtual environments, progress files and bytecode never travel."""
    return path.name in SKIP_NAMES or path.suffix in (".pyc", ".pyo")


def copy_tree(src: Path, dst: Path, report: ReleaseReport) -> None:
    """Copy regular files below ``src``; links and caches are left behind (and listed)."""
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _skip(base / d))
        for d in list(dirnames):
            if (base / d).is_symlink():
                dirnames.remove(d)
                report.skipped.append(f"{base / d} (a link)")
        for name in sorted(filenames):
            copy_file(base / name, dst / (base / name).relative_to(src), report)


def copy_file(src: Path, dst: Path, report: ReleaseReport) -> None:
    """Copy one regular file (a link or device is listed as skipped instead)."""
    if _skip(src):
        return
    mode = src.lstat().st_mode
    if not stat.S_ISREG(mode):
        report.skipped.append(f"{src} (not a regular file)")
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    report.files += 1


def build(course: Course, out: Path, exercise_ids: Sequence[str] = (),
          force: bool = False) -> ReleaseReport:
    """Write the student copy to ``out`` and scan it for leaks (see ``report.leaks``)."""
    exercises = [course.get(i) for i in exercise_ids] if exercise_ids else course.exercises
    changed = uncommitted(course.root)
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5
                                          else "")
        raise ReleaseError(
            f"exercises/ or notebooks/ differ from the last commit ({shown}). A release is built "
            "from what is committed, so an answer tried in exercises/ cannot ship: commit the "
            "change if it belongs in the student copy, or put it away (git stash -u), then "
            "release again")
    out = out.resolve()
    if out == course.root or course.root in out.parents:
        raise ReleaseError(f"{out} is inside the course; write the release somewhere else")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ReleaseError(f"{out} exists and is not empty (--force replaces it)")
        if not (out / "exercises").is_dir():
            raise ReleaseError(f"{out} does not look like a release; not replacing it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    report = ReleaseReport(out, [ex.id for ex in exercises])
    root = course.root
    for name in (*TOP_FILES, *ENGINE_TESTS, *SCRIPTS):
        if (root / name).is_file():
            copy_file(root / name, out / name, report)
    readme = out / "README.md"
    if readme.is_file():  # the exercise table lists what this release holds, nothing else
        readme.write_text(released_readme(readme.read_text(encoding="utf-8"), course,
                                          report.exercises), encoding="utf-8")
    for name in (*TOP_DIRS, *ENGINE_TEST_DIRS):
        if (root / name).is_dir():
            copy_tree(root / name, out / name, report)
    for ex in exercises:
        copy_tree(course.exercise_dir(ex), out / "exercises" / ex.rel, report)
        for name in ex.artifacts:  # a model saved in the course copy is nobody's starter
            (out / "exercises" / ex.rel / name).unlink(missing_ok=True)
        notebook = course.notebook(ex)
        if notebook.is_file():
            copy_file(notebook, out / notebook.relative_to(root), report)
    notebooks = root / "notebooks"
    if notebooks.is_dir():  # shared notebook files (an index, helpers), not other exercises'
        for path in sorted(notebooks.iterdir()):
            if path.is_file():
                copy_file(path, out / "notebooks" / path.name, report)
    template = root / WORKFLOW_TEMPLATE
    if template.is_file():
        copy_file(template, out / WORKFLOW, report)
    (out / ".grader-release.json").write_text(json.dumps({
        "exercises": report.exercises, "source_commit": _commit(root)}, indent=2) + "\n")
    report.leaks = find_leaks(course, out)
    return report


def build_nbgrader(course: Course, course_dir: Path, assignment: str,
                   exercise_ids: Sequence[str] = (), force: bool = False) -> ReleaseReport:
    """The student copy as nbgrader's ``source/ASSIGNMENT/``: notebooks at the top, one per
    exercise and named by its id (as the gradebook export names them), the course beside them
    so ``load()`` and ``check()`` find the exercise files from the notebook's folder."""
    if not assignment or "/" in assignment or assignment.startswith("."):
        raise ReleaseError(f"{assignment!r} is not a usable nbgrader assignment name")
    out = course_dir / "source" / assignment
    report = build(course, out, exercise_ids, force=force)
    for ex in (course.get(i) for i in report.exercises):
        notebook = course.notebook(ex)
        placed = out / notebook.relative_to(course.root)
        if placed.is_file():
            placed.rename(out / f"{ex.id}.ipynb")
    for folder in sorted((out / "notebooks").glob("**/"), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only the emptied ones; shared notebook files stay
    return report


def released_readme(text: str, course: Course, released: Sequence[str]) -> str:
    """The README without the table rows of exercises this release leaves out."""
    left_out = {f"`{ex.id}`" for ex in course.exercises if ex.id not in released}
    kept = [line for line in text.splitlines(keepends=True)
            if not (line.startswith("|") and line.split("|")[1].strip() in left_out)]
    return "".join(kept)


def uncommitted(root: Path) -> list[str]:
    """Files under exercises/ and notebooks/ that differ from HEAD (untracked ones too)."""
    if not (root / ".git").exists() or shutil.which("git") is None:
        return []  # not a git checkout: the leak scan below is the only guard
    done = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "-z", "--untracked-files=all",
         "--", "exercises", "notebooks"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return []
    return [entry[3:] for entry in done.stdout.split("\0") if len(entry) > 3]


def _commit(root: Path) -> str:
    """The course's git commit, if it is a git checkout (read without running git)."""
    head = root / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (root / ".git" / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return ""


# -- the leak scan ---------------------------------------------------------------------------

def _text(path: Path) -> str | None:
    """A file's text for scanning (notebook cells joined), or None for binary files."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    text = data.decode("utf-8", "replace")
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
            text = "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list)
                             else str(c.get("source", "")) for c in cells) + "\n" + text
        except (ValueError, AttributeError):
            pass
    return text


def significant_lines(text: str) -> list[str]:
    """Lines that could carry an answer: stripped, not blank, comments, imports or brackets."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if len(line) > 5 and not line.startswith(
        ("#", "import ", "from ", "--", "//"))]


def _windows(lines: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(lines[i:i + size]) for i in range(len(lines) - size + 1)}


def _digests(path: Path) -> list[str]:
    """Hashes of a file's bytes and, for text, of its lines without blanks or end spaces."""
    data = path.read_bytes()
    digests = [hashlib.sha256(data).hexdigest()]
    if b"\0" not in data[:8192]:
        lines = [line.rstrip() for line in data.decode("utf-8", "replace").splitlines()]
        text = "\n".join(line for line in lines if line)
        digests.append("text:" + hashlib.sha256(text.encode()).hexdigest())
    return digests


def _files(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in SKIP_NAMES]
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path


def fragments(secret: Path, public: Path) -> set[tuple[str, ...]]:
    """Runs of WINDOW consecutive significant lines of a solution file that its public
    counterpart folder does not contain (fewer lines: the whole file); one line of a run must
    be long enough not to be boilerplate."""
    text = _text(secret)
    if text is None:
        return set()
    lines = significant_lines(text)
    size = min(WINDOW, len(lines))
    if not size:
        return set()
    known: set[tuple[str, ...]] = set()
    for path in _files(public) if public.is_dir() else ():
        other = _text(path)
        if other is not None:
            known |= _windows(significant_lines(other), size)
    return {w for w in _windows(lines, size) - known if any(len(line) >= MIN_LINE for line in w)}


def find_leaks(course: Course, release: Path) -> list[Leak]:
    """Every solution file's distinctive runs of lines and exact bytes, searched in the release."""
    released = [p for p in _files(release) if p.name != ".grader-release.json"]
    if any(p.relative_to(release).parts[0] == "solutions" for p in released):
        return [Leak("solutions/", "solutions/", "a solutions folder is in the release")]
    by_hash: dict[str, list[Path]] = {}
    texts: dict[Path, list[str]] = {}
    for path in released:
        for digest in _digests(path):
            by_hash.setdefault(digest, []).append(path)
        text = _text(path)
        if text is not None:
            texts[path] = significant_lines(text)
    index: dict[int, dict[tuple[str, ...], Path]] = {}
    for size in range(1, WINDOW + 1):
        index[size] = {}
        for path, lines in texts.items():
            for window in _windows(lines, size):
                index[size].setdefault(window, path)
    leaks: list[Leak] = []
    for ex in course.exercises:
        leaks += _exercise_leaks(course, ex, release, by_hash, index)
    return leaks


def _exercise_leaks(course: Course, ex: Exercise, release: Path,
                    by_hash: dict[str, list[Path]],
                    index: dict[int, dict[tuple[str, ...], Path]]) -> list[Leak]:
    leaks: list[Leak] = []
    solution_dir = course.solution_dir(ex)
    public = course.exercise_dir(ex)
    for secret in _files(solution_dir) if solution_dir.is_dir() else ():
        rel = secret.relative_to(course.root).as_posix()
        inside = secret.relative_to(solution_dir).as_posix()
        mirror = public / inside
        digests = _digests(secret)
        learner = inside in ex.files or inside in ex.artifacts
        if not learner and mirror.is_file() and set(_digests(mirror)) & set(digests):
            continue  # the same content is public on purpose (an unchanged helper)
        if secret.read_bytes().strip():
            copies = {p for d in digests for p in by_hash.get(d, [])}
            for path in sorted(copies):
                leaks.append(Leak(rel, path.relative_to(release).as_posix(),
                                  "identical file"))
        for window in sorted(fragments(secret, public)):
            found = index.get(len(window), {}).get(window)
            if found is not None:
                leaks.append(Leak(rel, found.relative_to(release).as_posix(),
                                  " / ".join(window)[:160]))
    return leaks
