"""What can go wrong when a test calls a submission, each with the status it earns."""

from __future__ import annotations


class SubmissionProblem(Exception):
    """Base for problems raised by the proxy; ``status`` is the test status it earns."""

    status = "error"

    def __init__(self, message: str, *, trace: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.trace = trace


class NotAttempted(SubmissionProblem):
    """The learner's function still raises NotImplementedError."""

    status = "not_attempted"


class CallTimeout(SubmissionProblem):
    """A call ran past its budget and the worker was killed."""

    status = "timeout"


class SubmissionCrashed(SubmissionProblem):
    """The worker died or sent something that is not a well-formed answer."""


class SubmissionRaised(SubmissionProblem):
    """The learner's code raised an exception."""

    def __init__(self, message: str, *, exc_type: str, exc_message: str, trace: str = "") -> None:
        super().__init__(message, trace=trace)
        self.exc_type = exc_type
        self.exc_message = exc_message


class ImportFailed(SubmissionProblem):
    """A learner module could not be imported (syntax error, missing file, crash at import)."""


class MissingFunction(SubmissionProblem):
    """The learner's module has no function of that name."""

    status = "failed"


class NotPlainReturn(SubmissionProblem):
    """The learner's function returned something that is not plain data."""

    status = "failed"


class NotGraded(SubmissionProblem):
    """A gated test whose core result is not right yet (``@pytest.mark.requires``)."""

    status = "failed"


class Feedback(AssertionError):
    """A failed expectation whose message is written for the learner."""
