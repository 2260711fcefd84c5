"""Print, per isolation tier, each exercise-parser attack's unit time and the judge's peak RSS.

The attacks are those of ``tests/test_attack_parsers.py``: a hostile file in an otherwise honest
submission of a real exercise, graded by a judge process of its own, as `grader batch` does. The
wall time is the unit's, seen from outside (judge start to its answer); the peak is the judge's
resident memory (polled, and its own ru_maxrss). Each exercise's reference is timed the same
way, for comparison. Numbers, not pass/fail: the tests assert the bounds.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from test_attack_parsers import Graded

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    from test_attack_parsers import ATTACKS, COURSE, grade_in_a_judge, submission

    from grader.engine import judge
    from grader.engine.runner import missing_requirements
    from grader.sandbox import isolation

    here = os.getcwd()
    scratch = Path(tempfile.mkdtemp(prefix="bench-parser-attacks-"))
    os.chdir(scratch)  # a worker of the plain tier may write into the grader's folder
    try:
        for name in isolation.ORDER:
            tier = isolation.probe(name)
            if isinstance(tier, str):
                print(f"tier {name}: skipped ({tier})")
                continue
            isolation.use(tier)
            os.environ[isolation.ENV_VAR] = tier.name  # for a judge that is spawned, not forked
            print(f"exercise-parser attacks, one judge process each ({tier.label}):")
            timed: set[str] = set()
            for attack_name in ATTACKS:
                ex, root = submission(attack_name, scratch / tier.name)
                if missing_requirements(ex):
                    print(f"  {attack_name:<32} skipped: needs {', '.join(ex.requires)}")
                    continue
                if ex.id not in timed:
                    timed.add(ex.id)
                    _line(f"({ex.id} reference)", grade_in_a_judge(ex, COURSE.root / "solutions"),
                          judge.deadline(ex))
                _line(attack_name, grade_in_a_judge(ex, root), judge.deadline(ex))
    finally:
        os.chdir(here)
        shutil.rmtree(scratch, ignore_errors=True)


def _line(name: str, graded: Graded, bound: float) -> None:
    score = f"{graded.result.score:g}/{graded.result.max_score:g}"
    print(f"  {name:<32} {graded.wall:>7.2f} s  judge peak RSS "
          f"{graded.peak_rss_kb / 1024:>7.1f} MB  score {score}  (bound {bound:g} s)")


if __name__ == "__main__":
    main()
