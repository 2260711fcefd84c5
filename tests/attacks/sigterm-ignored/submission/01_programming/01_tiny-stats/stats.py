"""Attack: ignore SIGTERM and SIGALRM, then loop forever, hoping a polite timeout never lands."""

import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)


def mean(values):
    while True:
        pass


def median(values):
    while True:
        pass
