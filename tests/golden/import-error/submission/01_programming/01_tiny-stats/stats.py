"""Tiny statistics: imports a library that is not installed."""

import statistics_plus_plus


def mean(values):
    """Return the arithmetic mean of a non-empty list of numbers."""
    return statistics_plus_plus.mean(values)


def median(values):
    """Return the median of a non-empty list of numbers."""
    return statistics_plus_plus.median(values)
