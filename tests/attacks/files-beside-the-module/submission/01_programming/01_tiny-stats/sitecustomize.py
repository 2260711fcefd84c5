"""Attack: a sitecustomize.py that makes every comparison succeed, if Python ever loads it."""

import builtins
import math
import os
from pathlib import Path

marker = os.environ.get("GRADER_ATTACK_MARKER")
if marker:
    Path(marker).write_text("sitecustomize.py was loaded")
math.isclose = lambda *args, **kwargs: True
builtins.all = lambda *args: True
