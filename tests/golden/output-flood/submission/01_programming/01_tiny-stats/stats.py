"""Tiny statistics: mean prints a debugging line per step, 10,000 times, then is wrong."""


def mean(values):
    """Return the arithmetic mean of a non-empty list of numbers."""
    total = 0
    for step in range(10_000):
        print(f"step {step}: total is {total}")
        total += 1
    return total


def median(values):
    """Return the median of a non-empty list of numbers."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2
