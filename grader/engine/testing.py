"""What test authors import: the problems a call can raise, ``expect`` for learner messages,
and ``cached_reference`` for course-only values worth computing once per class."""

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
from grader.engine.reference_cache import (
    ReferenceCache,
    cached_reference,
    file_digest,
    texts_digest,
)

__all__ = [
    "CallTimeout", "Feedback", "ImportFailed", "MissingFunction", "NotAttempted", "NotGraded",
    "NotPlainReturn", "ReferenceCache", "SubmissionCrashed", "SubmissionProblem",
    "SubmissionRaised", "cached_reference", "expect", "file_digest", "texts_digest",
]


def expect(condition: object, message: str) -> None:
    """Fail the test with ``message`` (written for the learner) unless ``condition`` holds."""
    if not condition:
        raise Feedback(message)
