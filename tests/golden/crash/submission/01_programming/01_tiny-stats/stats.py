"""Tiny statistics: both functions kill their own process."""

import ctypes
import os


def mean(values):
    """Return the arithmetic mean of a non-empty list of numbers."""
    os.abort()


def median(values):
    """Return the median of a non-empty list of numbers."""
    return ctypes.string_at(0)  # reads address 0: a segmentation fault
