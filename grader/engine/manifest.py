"""Exercise manifests (``exercise.toml``) loaded into frozen dataclasses, with exact errors."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SKILLS = {
    "programming": "1 Programming",
    "frameworks": "2 ML frameworks",
    "transformers": "3 LLMs and transformers",
    "data": "4 Data handling",
    "cloud": "5 Cloud services",
    "containers": "6 Containers and orchestration",
    "communication": "7 Communication and problem solving",
}
REQUIREMENTS = frozenset({"node", "docker", "r", "torch"})
NETWORKS = ("none", "loopback", "services")  # what a worker may reach: grader/sandbox/isolation.py
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file and the field."""

    def __init__(self, path: Path, field: str, problem: str) -> None:
        super().__init__(f"{path}: field '{field}': {problem}")
        self.path = path
        self.field = field


@dataclass(frozen=True)
class Task:
    """One numbered task of an exercise, as the README lists it."""

    id: str
    title: str
    hints: tuple[str, ...] = ()  # this task's own ladder; the exercise's ladder otherwise


@dataclass(frozen=True)
class ManualItem:
    """A rubric item a person grades; its points stay pending until recorded."""

    id: str
    title: str
    points: int


@dataclass(frozen=True)
class Budget:
    """Time and memory a submission may use."""

    call_seconds: float = 20.0
    exercise_seconds: float = 180.0
    memory_mb: int = 3072
    artifact_mb: int = 128  # the largest artifact file a submission may hand in

    @property
    def artifact_bytes(self) -> int:
        """The size cap of one artifact file, in bytes."""
        return self.artifact_mb * 1024 * 1024


@dataclass(frozen=True)
class Exercise:
    """One exercise, as declared by its manifest."""

    id: str
    title: str
    skill: str
    points: int
    files: tuple[str, ...]
    tasks: tuple[Task, ...]
    hints: tuple[str, ...]
    budget: Budget
    requires: tuple[str, ...]
    rel: str  # e.g. "04_data/01_pandas-cleaning", the same under exercises/ and solutions/
    harness: str | None = None  # course-owned module run in the worker beside learner code
    manual: tuple[ManualItem, ...] = ()
    network: str = "none"  # "loopback": serves itself on 127.0.0.1; "services": the tests' servers
    # Files the learner's code makes (a saved model): copied when present, never required, and
    # size-capped by budget.artifact_mb instead of the learner files' limit.
    artifacts: tuple[str, ...] = ()

    @property
    def modules(self) -> tuple[str, ...]:
        """Python modules among the learner files, importable by the worker."""
        return tuple(f[:-3] for f in self.files if f.endswith(".py") and "/" not in f)

    @property
    def handed_in(self) -> tuple[str, ...]:
        """Everything a submission may hand in: the learner files, then the artifacts."""
        return (*self.files, *self.artifacts)

    @property
    def skill_title(self) -> str:
        """The skill area as the course names it."""
        return SKILLS[self.skill]

    def task(self, task_id: str) -> Task | None:
        """The task with this id, if the manifest declares it."""
        return next((t for t in self.tasks if t.id == task_id), None)


def _get(data: dict[str, Any], path: Path, key: str, kind: type, default: Any = None) -> Any:
    if key not in data:
        if default is None:
            raise ManifestError(path, key, "is required")
        return default
    value = data[key]
    if kind is float and type(value) is int:
        value = float(value)
    if type(value) is not kind:
        raise ManifestError(path, key, f"expected {kind.__name__}, got {value!r}")
    return value


def load_manifest(path: Path, rel: str) -> Exercise:
    """Read one ``exercise.toml``; raise ManifestError naming the file and field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(path, "(file)", f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(path, "(file)", f"cannot be read: {exc}") from None
    known = {"id", "title", "skill", "points", "files", "tasks", "hints", "budget", "requires",
             "harness", "manual", "network", "artifacts"}
    for key in data:
        if key not in known:
            raise ManifestError(path, key, f"unknown field (known: {', '.join(sorted(known))})")
    ex_id = _get(data, path, "id", str)
    if not _SLUG.match(ex_id):
        raise ManifestError(path, "id", f"{ex_id!r} is not a slug like 'pandas-cleaning'")
    skill = _get(data, path, "skill", str)
    if skill not in SKILLS:
        raise ManifestError(path, "skill", f"{skill!r} is not one of {', '.join(SKILLS)}")
    points = _get(data, path, "points", int)
    if points <= 0:
        raise ManifestError(path, "points", "must be a positive integer")
    files = _get(data, path, "files", list)
    if not files or any(type(f) is not str or f.startswith("/") or ".." in f for f in files):
        raise ManifestError(path, "files", "must be a non-empty list of relative file names")
    tasks = []
    for i, raw in enumerate(_get(data, path, "tasks", list)):
        if type(raw) is not dict or type(raw.get("id")) is not str or \
                type(raw.get("title")) is not str:
            raise ManifestError(path, f"tasks[{i}]", "needs a string id and a string title")
        task_hints = raw.get("hints", [])
        if type(task_hints) is not list or any(type(h) is not str or not h.strip()
                                               for h in task_hints):
            raise ManifestError(path, f"tasks[{i}].hints", "must be a list of non-empty strings")
        tasks.append(Task(raw["id"], raw["title"], tuple(task_hints)))
    if not tasks:
        raise ManifestError(path, "tasks", "must list at least one task")
    hints = _get(data, path, "hints", list)
    if len(hints) < 3 or any(type(h) is not str or not h.strip() for h in hints):
        raise ManifestError(path, "hints", "must be a ladder of at least three non-empty strings")
    budget_raw = _get(data, path, "budget", dict, {})
    budget = Budget(
        call_seconds=_get(budget_raw, path, "call_seconds", float, Budget.call_seconds),
        exercise_seconds=_get(budget_raw, path, "exercise_seconds", float,
                              Budget.exercise_seconds),
        memory_mb=_get(budget_raw, path, "memory_mb", int, Budget.memory_mb),
        artifact_mb=_get(budget_raw, path, "artifact_mb", int, Budget.artifact_mb),
    )
    if budget.artifact_mb <= 0:
        raise ManifestError(path, "budget.artifact_mb", "must be a positive integer")
    for key in budget_raw:
        if key not in ("call_seconds", "exercise_seconds", "memory_mb", "artifact_mb"):
            raise ManifestError(path, f"budget.{key}", "unknown field")
    requires = _get(data, path, "requires", list, [])
    for req in requires:
        if req not in REQUIREMENTS:
            raise ManifestError(path, "requires", f"{req!r} is not one of "
                                f"{', '.join(sorted(REQUIREMENTS))}")
    harness = data.get("harness")
    if harness is not None and (type(harness) is not str or not harness.endswith(".py")
                                or ".." in harness or harness.startswith("/")):
        raise ManifestError(path, "harness", "must be a relative path to a .py file")
    if harness is not None and not (path.parent / harness).is_file():
        raise ManifestError(path, "harness", f"{harness} does not exist beside the manifest")
    manual = []
    for i, raw in enumerate(_get(data, path, "manual", list, [])):
        if type(raw) is not dict or type(raw.get("id")) is not str or \
                type(raw.get("title")) is not str or type(raw.get("points")) is not int or \
                raw["points"] <= 0:
            raise ManifestError(path, f"manual[{i}]", "needs a string id and title and positive "
                                "integer points")
        manual.append(ManualItem(raw["id"], raw["title"], raw["points"]))
    artifacts = _get(data, path, "artifacts", list, [])
    if any(type(f) is not str or not f or f.startswith("/") or ".." in f for f in artifacts):
        raise ManifestError(path, "artifacts", "must be a list of relative file names")
    if set(artifacts) & set(files):
        raise ManifestError(path, "artifacts", "names a file already in files: list each once")
    network = _get(data, path, "network", str, "none")
    if network not in NETWORKS:
        raise ManifestError(path, "network", f"{network!r} is not one of {', '.join(NETWORKS)}")
    return Exercise(id=ex_id, title=_get(data, path, "title", str), skill=skill, points=points,
                    files=tuple(files), tasks=tuple(tasks), hints=tuple(hints), budget=budget,
                    requires=tuple(requires), rel=rel, harness=harness, manual=tuple(manual),
                    network=network, artifacts=tuple(artifacts))
