"""What test authors import: the problems a call can raise and ``expect`` for learner messages."""

from __future__ import annotations

from grader.engine.outcomes import (
    CallTimeout,
    Feedback,
    ImportFailed,
    MissingFunction,
    NotAttempted,
    NotGraded,
    NotPlainReturn,
    SubmissionCrashed,
    SubmissionProblem,
    SubmissionRaised,
)

__all__ = [
    "CallTimeout", "Feedback", "ImportFailed", "MissingFunction", "NotAttempted", "NotGraded",
    "NotPlainReturn", "SubmissionCrashed", "SubmissionProblem", "SubmissionRaised", "expect",
]


def expect(condition: object, message: str) -> None:
    """Fail the test with ``message`` (written for the learner) unless ``condition`` holds."""
    if not condition:
        raise Feedback(message)
