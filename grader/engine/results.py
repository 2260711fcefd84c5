"""The one results model every writer reads: tests, exercises, a run, and its environment."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TEST_STATUSES = ("passed", "failed", "error", "timeout", "not_attempted", "pending")
EXERCISE_STATUSES = ("passed", "partial", "failed", "not_attempted", "error", "skipped")
PENDING = "pending"  # a manual-review item: never earned until an instructor records it


@dataclass
class TestResult:
    """One test: what it checked, how it went, what the learner should read."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    task: str
    status: str
    score: float
    max_score: float
    message: str = ""
    hidden: bool = False
    output: str = ""
    duration: float = 0.0


@dataclass
class ExerciseResult:
    """One exercise's tests and totals."""

    id: str
    title: str
    skill: str
    tests: list[TestResult] = field(default_factory=list)
    message: str = ""  # set when the exercise could not be graded at all
    duration: float = 0.0
    skipped: list[str] = field(default_factory=list)
    unavailable: bool = False  # a runtime it needs is missing: skipped, not counted
    submission_seconds: float = 0.0  # time inside the submission's worker (not in the JSON)

    @property
    def graded(self) -> list[TestResult]:
        """Tests that count now (manual-review items wait for an instructor)."""
        return [t for t in self.tests if t.status != PENDING]

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.graded), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.graded), 6)

    @property
    def pending_points(self) -> float:
        """Points of manual-review items not yet recorded."""
        return round(sum(t.max_score for t in self.tests if t.status == PENDING), 6)

    @property
    def status(self) -> str:
        """passed, partial, failed, not_attempted, error or skipped, from the tests' statuses."""
        tests = self.graded
        if self.unavailable:
            return "skipped"
        if self.message and not tests:
            return "error"
        if tests and all(t.status == "not_attempted" for t in tests):
            return "not_attempted"
        if self.max_score and self.score >= self.max_score:
            return "passed"
        if self.score > 0:
            return "partial"
        if any(t.status == "error" for t in tests) and \
                not any(t.status == "passed" for t in tests):
            return "error"
        return "failed"

    def first_problem(self) -> TestResult | None:
        """The first test that did not pass and was attempted, else the first not attempted."""
        failing = [t for t in self.graded if t.status != "passed"]
        attempted = [t for t in failing if t.status != "not_attempted"]
        pool = attempted or failing
        return pool[0] if pool else None

    @classmethod
    def from_dict(cls, ex: dict[str, Any]) -> ExerciseResult:
        """Rebuild an exercise's result from its JSON form (as written by :meth:`to_dict`)."""
        result = cls(id=ex["id"], title=ex["title"], skill=ex["skill"],
                     message=ex.get("message", ""), duration=ex.get("duration", 0.0),
                     skipped=list(ex.get("skipped", [])), unavailable=ex.get("status") == "skipped")
        fields = TestResult.__dataclass_fields__
        result.tests = [TestResult(**{k: v for k, v in t.items() if k in fields})
                        for t in ex.get("tests", [])]
        return result

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "skill": self.skill, "score": self.score,
                "max_score": self.max_score, "status": self.status, "message": self.message,
                "duration": round(self.duration, 3), "skipped": list(self.skipped),
                "pending_points": self.pending_points,
                "tests": [asdict(t) | {"duration": round(t.duration, 3)} for t in self.tests]}


@dataclass
class RunResult:
    """A whole grading run."""

    exercises: list[ExerciseResult] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 6)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 6)

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "max_score": self.max_score,
                "exercises": [e.to_dict() for e in self.exercises],
                "environment": self.environment}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Rebuild a run from its JSON form (as written by :meth:`to_dict`)."""
        run = cls(environment=dict(data.get("environment", {})))
        run.exercises = [ExerciseResult.from_dict(ex) for ex in data.get("exercises", [])]
        return run
