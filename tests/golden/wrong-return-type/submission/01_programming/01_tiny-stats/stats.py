"""Tiny statistics: mean returns its own class, median returns text."""


class Average:
    """A number-like object that is not plain data."""

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return self.value == other


def mean(values):
    """Return the arithmetic mean of a non-empty list of numbers."""
    return Average(sum(values) / len(values))


def median(values):
    """Return the median of a non-empty list of numbers."""
    ordered = sorted(values)
    return str(ordered[len(ordered) // 2])
