"""Tiny statistics: median() was never written."""


def average(values):
    """Return the arithmetic mean of a non-empty list of numbers."""
    return sum(values) / len(values)


def mean(values):
    """Return the arithmetic mean of a non-empty list of numbers."""
    return average(values)
