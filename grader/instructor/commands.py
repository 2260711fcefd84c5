"""The instructor's subcommands: each parses nothing, calls one module, and prints what happened."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.engine.course import Course


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _fail(message: str) -> int:
    print(f"grader: {message}", file=sys.stderr)
    return 2


def _db(path: Path) -> Path:
    from grader.instructor.batch import DB_NAME

    return path / DB_NAME if path.is_dir() else path


def release(course: Course, args: argparse.Namespace) -> int:
    """grader release OUT."""
    from grader.instructor.release import ReleaseError, build

    try:
        report = build(course, args.out, _split(args.exercises), force=args.force)
    except ReleaseError as exc:
        return _fail(str(exc))
    print(f"wrote {report.files} files to {report.root} "
          f"({len(report.exercises)} exercises: {', '.join(report.exercises)})")
    for skipped in report.skipped:
        print(f"  left out: {skipped}")
    if report.leaks:
        print(f"LEAK CHECK FAILED: {len(report.leaks)} pieces of solutions/ are in the release:",
              file=sys.stderr)
        for leak in report.leaks[:30]:
            print(f"  {leak.found_in}: from {leak.secret}: {leak.evidence}", file=sys.stderr)
        print("Do not distribute it. Move the content out of the public files, or if a line is "
              "meant to be public, put it in the exercise's public folder too.", file=sys.stderr)
        return 1
    print("leak check passed: no solution content, hidden test or hidden data file is in it")
    print(f"next: cd {report.root} && git init && git add -A && git commit -m 'Student copy'")
    return 0


def collect(course: Course, args: argparse.Namespace) -> int:
    """grader collect SOURCE OUT."""
    from grader.instructor.collect import REPORT, CollectError
    from grader.instructor.collect import collect as run_collect

    try:
        reports = run_collect(course, args.source, args.out, _split(args.exercises))
    except CollectError as exc:
        return _fail(str(exc))
    complete = 0
    for r in reports:
        if not r.missing and not r.rejected:
            complete += 1
            continue
        problems = [f"missing {m}" for m in r.missing] + \
            [f"rejected {f} ({why})" for f, why in r.rejected]
        print(f"{r.id}: " + "; ".join(problems))
    print(f"collected {len(reports)} students into {args.out} ({complete} with every file); "
          f"details in {args.out / REPORT}")
    print(f"next: grader batch {args.out}")
    return 0


def batch(course: Course, args: argparse.Namespace) -> int:
    """grader batch SUBMISSIONS."""
    from grader.instructor.batch import BatchError, default_jobs, run

    if args.require_isolation:
        from grader.sandbox.isolation import require

        print(f"isolation {require(args.require_isolation).label}")
    try:
        summary = run(course, args.submissions, db=args.db,
                      jobs=args.jobs or default_jobs(), exercise_ids=_split(args.exercises),
                      student_ids=_split(args.students), regrade=args.regrade,
                      only_missing=args.only_missing, seed=args.seed, quiet=args.quiet)
    except BatchError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("interrupted before grading started; nothing was written", file=sys.stderr)
        return 130
    if summary.interrupted:
        return 130
    if args.nbgrader is not None:
        from grader.instructor.export import export as run_export
        from grader.instructor.gradebook import Gradebook
        from grader.instructor.nbgrader import NbgraderMissing

        with Gradebook(_db(args.db or args.submissions)) as gb:
            try:
                done = run_export(course, gb, nbgrader_dir=args.nbgrader,
                                  assignment=args.assignment)
            except NbgraderMissing as exc:
                return _fail(str(exc))
        for line in done.written:
            print(f"wrote {line}")
    return 1 if summary.failed else 0


def gradebook(course: Course, args: argparse.Namespace) -> int:
    """grader gradebook DB."""
    from rich.console import Console
    from rich.table import Table

    from grader.instructor.batch import status
    from grader.instructor.export import columns
    from grader.instructor.gradebook import Gradebook

    path = _db(args.db)
    if not path.is_file():
        return _fail(f"no gradebook at {path}")
    with Gradebook(path) as gb:
        rows = status(course, gb)
        cols = columns(course, gb)
        interrupted = gb.unfinished_runs()
    console = Console(highlight=False)
    if args.stale:
        for grade, reasons in rows:
            if reasons:
                console.print(f"{grade.student}/{grade.exercise}: {'; '.join(reasons)}")
        return 0
    cells: dict[str, dict[str, str]] = {}
    totals: dict[str, float] = {}
    for grade, reasons in rows:
        mark = "*" if reasons else ""
        cells.setdefault(grade.student, {})[grade.exercise] = f"{grade.score:g}{mark}"
        totals[grade.student] = totals.get(grade.student, 0.0) + grade.score
    table = Table(title=f"gradebook {path}", title_justify="left")
    table.add_column("student")
    for ex_id, top in cols:
        table.add_column(f"{ex_id}\n/{top:g}", justify="right")
    table.add_column(f"total\n/{sum(t for _, t in cols):g}", justify="right")
    for student in sorted(cells):
        table.add_row(student, *(cells[student].get(e, "-") for e, _ in cols),
                      f"{totals[student]:g}")
    console.print(table)
    stale = sum(1 for _, reasons in rows if reasons)
    if stale:
        console.print(f"* {stale} stale grades: `grader gradebook {args.db} --stale` says why; "
                      "`grader batch` regrades them")
    if interrupted:
        console.print(f"{len(interrupted)} batch runs did not finish; rerun `grader batch` to "
                      "complete them")
    return 0


def export(course: Course, args: argparse.Namespace) -> int:
    """grader export DB."""
    from grader.instructor.export import export as run_export
    from grader.instructor.gradebook import Gradebook
    from grader.instructor.nbgrader import NbgraderMissing

    path = _db(args.db)
    if not path.is_file():
        return _fail(f"no gradebook at {path}")
    if not any((args.csv, args.gradescope, args.feedback, args.nbgrader)):
        return _fail("say what to write: --csv, --gradescope, --feedback and/or --nbgrader")
    with Gradebook(path) as gb:
        try:
            report = run_export(course, gb, csv_path=args.csv, roster=args.roster,
                                gradescope_dir=args.gradescope, feedback_dir=args.feedback,
                                nbgrader_dir=args.nbgrader, assignment=args.assignment)
        except NbgraderMissing as exc:
            return _fail(str(exc))
    for line in report.written:
        print(f"wrote {line}")
    for line in report.warnings:
        print(f"warning: {line}")
    return 0


def gradescope(course: Course, args: argparse.Namespace) -> int:
    """grader gradescope build|run."""
    from grader.instructor import gradescope as scope

    if args.gradescope_command == "build":
        try:
            names = scope.build_zip(course, args.out, _split(args.exercises))
        except FileNotFoundError as exc:
            return _fail(str(exc))
        print(f"wrote {args.out} ({len(names)} files): upload it as the assignment's "
              "autograder (Configure Autograder > Zip file upload)")
        return 0
    ids = _split(args.exercises)
    listed = course.root / "EXERCISES"
    if not ids and listed.is_file():
        ids = _split([listed.read_text()])
    score = scope.run(course, args.submission, args.results, ids)
    print(f"score {score:g}; wrote {args.results}")
    return 0


def manual(course: Course, args: argparse.Namespace) -> int:
    """grader manual DB STUDENT EXERCISE ITEM POINTS."""
    from grader.instructor.gradebook import Gradebook

    ex = course.get(args.exercise)
    items = {item.id: item for item in ex.manual}
    if args.item not in items:
        known = ", ".join(items) or "none"
        return _fail(f"{ex.id} has no manual-review item {args.item!r} (items: {known})")
    top = items[args.item].points
    if not 0 <= args.points <= top:
        return _fail(f"{args.item} is worth 0 to {top} points, not {args.points:g}")
    path = _db(args.db)
    if not path.is_file():
        return _fail(f"no gradebook at {path}")
    with Gradebook(path) as gb:
        if gb.get(args.student, ex.id) is None:
            return _fail(f"{args.student} has no grade for {ex.id} yet: run `grader batch` first")
        gb.record_manual(args.student, ex.id, args.item, args.points, args.feedback)
        grade = gb.get(args.student, ex.id)
    assert grade is not None
    print(f"recorded {args.points:g}/{top} for {args.student} / {ex.id} / {args.item}; "
          f"{ex.id} is now {grade.score:g}/{grade.max_score:g}")
    return 0
