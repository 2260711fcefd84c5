"""Course-owned harness for model-card: the card is a document, so there is nothing to run.

The grader reads ``MODEL_CARD.md`` as text from the worker's copy of the submission; calling
:func:`ready` starts that worker. Nothing here knows what a good card says.
"""

from __future__ import annotations

import os


def ready() -> list[str]:
    """The submission's files that arrived (names only)."""
    return sorted(os.listdir("."))
