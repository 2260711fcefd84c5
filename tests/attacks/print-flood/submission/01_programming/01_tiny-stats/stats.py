"""Attack: print 100 MB (through print and straight to the descriptors), then answer wrong."""

import os

CHUNK = b"x" * (1024 * 1024)


def mean(values):
    print("y" * (100 * 1024 * 1024))
    return 0


def median(values):
    for _ in range(50):
        os.write(1, CHUNK)
        os.write(2, CHUNK)
    return 0
