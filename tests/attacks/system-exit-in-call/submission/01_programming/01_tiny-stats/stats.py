"""Attack: raise SystemExit inside the functions, hoping the test run stops with 'no failures'."""

import sys


def mean(values):
    raise SystemExit(0)


def median(values):
    sys.exit(0)
