"""Tiny statistics (starter)."""


def mean(values):
    """Return the arithmetic mean of a non-empty list of numbers."""
    raise NotImplementedError


def median(values):
    """Return the median of a non-empty list of numbers."""
    raise NotImplementedError
