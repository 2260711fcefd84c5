"""Regenerate exercises/04_data/01_pandas-cleaning/data/penguins_messy_seed0.csv.

The file is what ``tests/support.py`` generates for seed 0; the public tests check that the two
agree, so run this after any change to the generator:

    python scripts/make_pandas_cleaning_data.py
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EXERCISE = Path(__file__).resolve().parent.parent / "exercises" / "04_data" / "01_pandas-cleaning"


def main() -> int:
    """Write the seed-0 export and check that it reads back unchanged."""
    spec = importlib.util.spec_from_file_location("pandas_cleaning_support",
                                                  EXERCISE / "tests" / "support.py")
    if spec is None or spec.loader is None:
        print(f"cannot load {EXERCISE / 'tests' / 'support.py'}", file=sys.stderr)
        return 1
    support = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = support  # dataclasses look their module up while it loads
    spec.loader.exec_module(support)
    target = EXERCISE / support.VISIBLE_CSV
    target.parent.mkdir(parents=True, exist_ok=True)
    support.write_visible(target)
    support.visible(EXERCISE)  # raises if the file does not read back as generated
    print(f"wrote {target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
