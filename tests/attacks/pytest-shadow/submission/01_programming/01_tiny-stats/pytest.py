"""Attack: a fake pytest whose main() reports success and whose raises() swallows everything."""

import os
import sys
from pathlib import Path

marker = os.environ.get("GRADER_ATTACK_MARKER")
if marker:
    Path(marker).write_text("the fake pytest.py was imported")


def main(*args, **kwargs):
    print("2 passed")
    return 0


if __name__ == "__main__":
    sys.exit(0)
