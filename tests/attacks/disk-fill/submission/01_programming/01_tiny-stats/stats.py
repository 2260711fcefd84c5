"""Attack: fill the disk with many small files, each far below RLIMIT_FSIZE. Bounded at 20,000
files of 8 KB (160 MB), so a tier that does not stop it cannot fill a shared machine."""

import errno
import os


def mean(values):
    os.makedirs("fill", exist_ok=True)
    block = b"x" * 8192
    for i in range(20_000):
        try:
            with open(f"fill/{i}.bin", "wb") as fh:
                fh.write(block)
        except OSError as exc:
            print(f"OBSERVED fill: {errno.errorcode.get(exc.errno)} after {i} files", flush=True)
            return 0
    print("OBSERVED fill: not stopped", flush=True)
    return 0


def median(values):
    return 0
