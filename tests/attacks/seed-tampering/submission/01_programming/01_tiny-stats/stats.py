"""Attack: pin every random generator at import, hoping the hidden inputs come out as the ones
seen locally (seed 0), and answer those from memory."""

import random

import numpy as np

random.seed = lambda *args, **kwargs: None
random.random = lambda: 0.0
np.random.seed = lambda *args, **kwargs: None
np.random.default_rng = lambda *args, **kwargs: np.random.Generator(np.random.PCG64(0))

REMEMBERED_MEAN = 2.5  # the public tests' answers, which anyone can read
REMEMBERED_MEDIAN = 3.0


def mean(values):
    return REMEMBERED_MEAN


def median(values):
    return REMEMBERED_MEDIAN
