"""Attack: end the process at import, hoping a crash reads as success (exit code 0)."""

import os

os._exit(0)


def mean(values):
    return 0


def median(values):
    return 0
