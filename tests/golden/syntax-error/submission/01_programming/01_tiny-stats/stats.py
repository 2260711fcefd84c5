"""Tiny statistics: a missing colon stops the module from importing."""


def mean(values)
    """Return the arithmetic mean of a non-empty list of numbers."""
    return sum(values) / len(values)


def median(values):
    """Return the median of a non-empty list of numbers."""
    return sorted(values)[len(values) // 2]
