"""Tiny statistics: mean never returns; median is correct and still earns its points."""


def mean(values):
    """Return the arithmetic mean of a non-empty list of numbers."""
    total = 0
    while True:
        total += 1


def median(values):
    """Return the median of a non-empty list of numbers."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2
