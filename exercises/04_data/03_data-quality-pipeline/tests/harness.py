"""Course-owned harness for data-quality-pipeline: stage landing files, list what was written.

It runs inside the worker, beside the learner's ``pipeline.py``, and only moves files: the
grader sends landing files as plain bytes, this writes them under ``work/<name>/landing/`` in
the worker's private folder, and after the learner's ``run()`` it lists the regular files under
``work/<name>/out/``. The grader then reads those files itself (size-capped) and judges them.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

WORK = Path("work")
_NAME = re.compile(r"[a-z0-9-]{1,40}")
_PART = re.compile(r"[A-Za-z0-9._=-]{1,100}")


def _area(name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise ValueError(f"bad work area name {name!r}")
    return WORK / name


def reset(name: str) -> str:
    """Empty ``work/<name>/`` and create its landing folder; return the landing path."""
    area = _area(name)
    shutil.rmtree(area, ignore_errors=True)
    (area / "landing").mkdir(parents=True)
    return str(area / "landing")


def put_landing(name: str, files: dict[str, bytes]) -> int:
    """Write landing files (``"<day>/<file>"`` -> bytes) into ``work/<name>/landing/``."""
    landing = _area(name) / "landing"
    for rel, data in files.items():
        parts = rel.split("/")
        if len(parts) != 2 or not all(_PART.fullmatch(p) for p in parts) or ".." in parts:
            raise ValueError(f"bad landing file name {rel!r}")
        target = landing / parts[0] / parts[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return len(files)


def list_outputs(name: str) -> list[tuple[str, int]]:
    """Regular files under ``work/<name>/out/`` (no links followed): (path, size), sorted."""
    out = _area(name) / "out"
    found: list[tuple[str, int]] = []
    for folder, dirs, files in os.walk(out, followlinks=False):
        dirs.sort()
        for file in sorted(files):
            path = os.path.join(folder, file)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                found.append((Path(path).as_posix(), info.st_size))
    return found
