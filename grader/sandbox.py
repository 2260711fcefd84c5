"""How a worker process is confined: copied files, scrubbed environment, rlimits, own session."""

from __future__ import annotations

import os
import resource
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Only these kinds of learner file are ever copied: no bytecode, no native code, no links.
ALLOWED_SUFFIXES = frozenset({
    ".py", ".sql", ".txt", ".md", ".csv", ".json", ".toml", ".yaml", ".yml", ".ipynb",
    ".js", ".mjs", ".r", ".html", ".cfg", ".ini",
})
ALLOWED_NAMES = frozenset({"Dockerfile", ".dockerignore", "requirements.txt"})
MAX_FILE_BYTES = 5 * 1024 * 1024
TIER = "plain"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker."""

    memory_mb: int = 3072
    cpu_seconds: int = 300
    open_files: int = 256
    file_mb: int = 128


@dataclass(frozen=True)
class CopyReport:
    """What happened to each declared file when the submission was copied."""

    copied: tuple[str, ...]
    missing: tuple[str, ...]
    rejected: tuple[tuple[str, str], ...]


def allowed_file(name: str) -> bool:
    """Whether a file of this name may be copied from a submission."""
    base = os.path.basename(name)
    return base in ALLOWED_NAMES or Path(base).suffix.lower() in ALLOWED_SUFFIXES


def copy_submission(source: Path, files: Sequence[str], dest: Path) -> CopyReport:
    """Copy the declared learner files, and nothing else, into ``dest``."""
    copied: list[str] = []
    missing: list[str] = []
    rejected: list[tuple[str, str]] = []
    dest.mkdir(parents=True, exist_ok=True)
    for rel in files:
        src = source / rel
        if not allowed_file(rel):
            rejected.append((rel, "file type not allowed"))
        elif src.is_symlink():
            rejected.append((rel, "symbolic links are not accepted"))
        elif not src.is_file():
            missing.append(rel)
        elif src.stat().st_size > MAX_FILE_BYTES:
            rejected.append((rel, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"))
        else:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            copied.append(rel)
    return CopyReport(tuple(copied), tuple(missing), tuple(rejected))


def scrubbed_env(home: Path) -> dict[str, str]:
    """A minimal environment: nothing of the grader's secrets, offline model hubs."""
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin",
                                 "/bin"]),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
    }


def limiter(limits: Limits) -> Callable[[], None]:
    """A pre-exec function that applies rlimits in the child before it runs Python."""

    def apply() -> None:
        mb = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def worker_command(config_json: str, pycache: Path) -> list[str]:
    """The command line that starts a worker in isolated mode."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    boot = (f"import sys; sys.path.append({package_parent!r}); "
            "from grader.worker import main; main()")
    return [sys.executable, "-I", "-X", f"pycache_prefix={pycache}", "-c", boot, config_json]
