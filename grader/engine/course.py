"""The course on disk: where exercises, solutions and notebooks live, and which exercises exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.engine.manifest import Exercise, ManifestError, load_manifest


class CourseNotFound(RuntimeError):
    """No course directory above the current one."""


@dataclass
class Course:
    """A course root and the exercises its manifests declare."""

    root: Path
    exercises: list[Exercise] = field(default_factory=list)
    broken: list[ManifestError] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> Course:
        """Read every manifest under ``root/exercises``; collect broken ones instead of failing."""
        course = cls(root.resolve())
        seen: dict[str, Path] = {}
        for manifest in sorted((course.root / "exercises").glob("*/*/exercise.toml")):
            rel = manifest.parent.relative_to(course.root / "exercises").as_posix()
            try:
                ex = load_manifest(manifest, rel)
            except ManifestError as exc:
                course.broken.append(exc)
                continue
            if ex.id in seen:
                course.broken.append(ManifestError(manifest, "id", f"{ex.id!r} is already used "
                                                   f"by {seen[ex.id]}"))
                continue
            seen[ex.id] = manifest
            course.exercises.append(ex)
        return course

    @classmethod
    def find(cls, start: Path | None = None) -> Course:
        """The course containing ``start`` (default: the current directory)."""
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / "exercises").is_dir() and (candidate / "grader").is_dir():
                return cls.load(candidate)
        package_root = Path(__file__).resolve().parents[2]
        if (package_root / "exercises").is_dir():
            return cls.load(package_root)
        raise CourseNotFound("no course found: run this inside the course repository")

    def get(self, ex_id: str) -> Exercise:
        """The exercise with this id, or a KeyError that lists the valid ids."""
        for ex in self.exercises:
            if ex.id == ex_id or ex.rel.endswith(ex_id):
                return ex
        raise KeyError(f"no exercise {ex_id!r}; known: {', '.join(self.ids())}")

    def ids(self) -> list[str]:
        """Exercise ids in course order."""
        return [ex.id for ex in self.exercises]

    def exercise_dir(self, ex: Exercise) -> Path:
        """The learner-visible folder of an exercise."""
        return self.root / "exercises" / ex.rel

    def solution_dir(self, ex: Exercise) -> Path:
        """The reference solution's folder (absent in a student release)."""
        return self.root / "solutions" / ex.rel

    def test_dirs(self, ex: Exercise) -> list[Path]:
        """Public tests, then hidden tests when this copy of the course has them."""
        dirs = [self.exercise_dir(ex) / "tests", self.solution_dir(ex) / "tests"]
        return [d for d in dirs if d.is_dir()]

    def notebook(self, ex: Exercise) -> Path:
        """The exercise's guided notebook."""
        return self.root / "notebooks" / f"{ex.rel}.ipynb"
