"""The ``grader`` command: a thin layer over the runner, reports, hints and progress."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

EPILOG = """examples:
  grader list                              exercises, points and your last status
  grader grade                             grade your work in exercises/
  grader grade pandas-cleaning --json out.json
  grader grade --submission solutions      grade the reference solutions (maintainers)
  grader check pandas-cleaning             one exercise, every problem expanded
  grader hint pandas-cleaning              the next hint on the ladder
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader", description="Grade ML Engineer Lab exercises: the parent judges, the "
        "submission only computes.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=None,
                        help="course root (default: the repository around the current folder)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list exercises with skill, points and last status")
    grade = sub.add_parser("grade", help="grade exercises (all by default)")
    grade.add_argument("ids", nargs="*", metavar="ID", help="exercise ids (default: all)")
    grade.add_argument("--submission", type=Path, default=None, metavar="DIR",
                       help="folder laid out like exercises/ (default: exercises/); "
                            "'solutions' grades the reference solutions")
    grade.add_argument("--json", metavar="PATH", help="also write results as JSON ('-': stdout)")
    grade.add_argument("--seed", type=int, default=None, help="seed for hidden inputs "
                       "(default: a fresh one each run)")
    grade.add_argument("--quiet", action="store_true", help="no terminal report")
    check = sub.add_parser("check", help="grade one exercise with every problem expanded")
    check.add_argument("id", metavar="ID")
    check.add_argument("--submission", type=Path, default=None, metavar="DIR")
    check.add_argument("--seed", type=int, default=None)
    check.add_argument("--json", metavar="PATH", help="also write results as JSON ('-': stdout)")
    hint = sub.add_parser("hint", help="show the next hint (or hint N) for an exercise")
    hint.add_argument("id", metavar="ID")
    hint.add_argument("level", nargs="?", type=int, metavar="N")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0 whenever grading completed, whatever the score."""
    args = _parser().parse_args(argv)
    from grader.course import Course, CourseNotFound

    try:
        course = Course.load(args.course) if args.course else Course.find()
    except CourseNotFound as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "list":
            return _list(course)
        if args.command == "hint":
            return _hint(course, args.id, args.level)
        ids = [args.id] if args.command == "check" else args.ids
        return _grade(course, ids, args.submission, args.seed, args.json,
                      verbose=args.command == "check",
                      quiet=getattr(args, "quiet", False))
    except KeyError as exc:
        print(f"grader: {exc.args[0]}", file=sys.stderr)
        return 2


def _list(course: object) -> int:
    from rich.console import Console
    from rich.table import Table

    from grader.course import Course
    from grader.progress import Progress

    assert isinstance(course, Course)
    progress = Progress(course.root)
    table = Table(title="ML Engineer Lab exercises", title_justify="left")
    for column in ("id", "skill", "title", "points", "last status", "last score"):
        table.add_column(column, no_wrap=column != "title")
    for ex in course.exercises:
        table.add_row(ex.id, ex.skill, ex.title, str(ex.points),
                      progress.status(ex.id).replace("_", " ") or "-", progress.score(ex.id))
    console = Console(highlight=False)
    console.print(table)
    for problem in course.broken:
        console.print(f"[red]broken manifest:[/red] {problem}")
    return 0


def _hint(course: object, ex_id: str, level: int | None) -> int:
    from grader.course import Course
    from grader.hints import hint
    from grader.progress import Progress

    assert isinstance(course, Course)
    ex = course.get(ex_id)
    try:
        shown, text = hint(ex, Progress(course.root), level)
    except ValueError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    print(f"Hint {shown}/{len(ex.hints)} for {ex.id}:\n  {text}")
    if shown < len(ex.hints):
        print(f"Still stuck? `make hint EX={ex.id}` shows hint {shown + 1}.")
    return 0


def _grade(course: object, ids: list[str], submission: Path | None, seed: int | None,
           json_path: str | None, verbose: bool, quiet: bool) -> int:
    from grader.course import Course
    from grader.progress import Progress
    from grader.report_json import write_json
    from grader.report_terminal import render
    from grader.runner import grade

    assert isinstance(course, Course)
    exercises = [course.get(i) for i in ids] if ids else course.exercises
    if submission is None:
        root = course.root / "exercises"
    elif not submission.is_absolute() and not submission.exists() and \
            (course.root / submission).is_dir():
        root = course.root / submission
    else:
        root = submission
    if not root.is_dir():
        print(f"grader: submission folder {root} does not exist", file=sys.stderr)
        return 2
    run = grade(course, exercises, root.resolve(), seed)
    if root.resolve() == (course.root / "exercises").resolve():
        Progress(course.root).record_run(run)
    if json_path:
        write_json(run, json_path)
    if not quiet and json_path != "-":
        render(run, course, verbose=verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
