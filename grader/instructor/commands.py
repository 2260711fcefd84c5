"""The instructor's subcommands: each parses nothing, calls one module, and prints what happened."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.engine.course import Course
from grader.reports.safe_text import shown_line, text


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _fail(message: str) -> int:
    print(f"grader: {shown_line(message)}", file=sys.stderr)
    return 2


def _say(line: str, err: bool = False) -> None:
    """Print one line that may hold learner-controlled text (ids, file names, messages)."""
    print(shown_line(line), file=sys.stderr if err else sys.stdout)


def _db(path: Path) -> Path:
    from grader.instructor.batch import DB_NAME

    return path / DB_NAME if path.is_dir() else path


def release(course: Course, args: argparse.Namespace) -> int:
    """grader release OUT."""
    from grader.instructor.release import ReleaseError, build, build_nbgrader

    if (args.out is None) == (args.nbgrader is None):
        return _fail("say where: grader release OUT, or grader release --nbgrader COURSE_DIR "
                     "--assignment NAME")
    try:
        if args.nbgrader is not None:
            report = build_nbgrader(course, args.nbgrader, args.assignment,
                                    _split(args.exercises), force=args.force)
        else:
            report = build(course, args.out, _split(args.exercises), force=args.force)
    except ReleaseError as exc:
        return _fail(str(exc))
    print(f"wrote {report.files} files to {report.root} "
          f"({len(report.exercises)} exercises: {', '.join(report.exercises)})")
    for skipped in report.skipped:
        _say(f"  left out: {skipped}")
    if report.leaks:
        print(f"LEAK CHECK FAILED: {len(report.leaks)} pieces of solutions/ are in the release:",
              file=sys.stderr)
        for leak in report.leaks[:30]:
            _say(f"  {leak.found_in}: from {leak.secret}: {leak.evidence}", err=True)
        print("Do not distribute it. Move the content out of the public files, or if a line is "
              "meant to be public, put it in the exercise's public folder too.", file=sys.stderr)
        return 1
    print("leak check passed: no solution content, hidden test or hidden data file is in it")
    if args.nbgrader is not None:
        print(f"next: cd {args.nbgrader} && nbgrader generate_assignment {args.assignment} && "
              f"nbgrader release_assignment {args.assignment}")
    else:
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
        for error in r.errors:
            _say(f"{r.id}: ERROR: {error}", err=True)
        if not r.missing and not r.rejected:
            complete += not r.errors
            continue
        problems = [f"missing {m}" for m in r.missing] + \
            [f"rejected {f} ({why})" for f, why in r.rejected]
        _say(f"{r.id}: " + "; ".join(problems))
    _say(f"collected {len(reports)} students into {args.out} ({complete} with every file); "
         f"details in {args.out / REPORT}")
    troubled = sum(1 for r in reports if r.errors)
    if troubled:
        _say(f"{troubled} students need you first (the ERROR lines above); everyone else was "
             "collected as usual", err=True)
    _say(f"next: grader batch {args.out}")
    return 1 if troubled else 0


def batch(course: Course, args: argparse.Namespace) -> int:
    """grader batch SUBMISSIONS."""
    from grader.instructor.batch import BatchError, default_jobs, run
    from grader.instructor.cluster import ClusterError

    if args.nbgrader is not None:  # say so before grading, not after
        from grader.instructor.nbgrader import NbgraderMissing
        from grader.instructor.nbgrader import require as require_nbgrader

        try:
            require_nbgrader()
        except NbgraderMissing as exc:
            return _fail(str(exc))

    if args.require_isolation and not args.cluster:  # on a cluster, each worker is checked
        from grader.sandbox.isolation import require

        print(f"isolation {require(args.require_isolation).label}")
    exercise_ids = _split(args.exercises)
    if not exercise_ids:
        from grader.instructor.collect import assignment

        known = set(course.ids())
        exercise_ids = [e for e in assignment(args.submissions) if e in known]
        if exercise_ids and len(exercise_ids) < len(known):
            print("grading the assignment collect gathered: " + shown_line(
                ", ".join(exercise_ids)) + " (--exercises to choose others)")
    try:
        summary = run(course, args.submissions, db=args.db,
                      jobs=args.jobs or default_jobs(), exercise_ids=exercise_ids,
                      student_ids=_split(args.students), regrade=args.regrade,
                      only_missing=args.only_missing, seed=args.seed, quiet=args.quiet,
                      cluster=args.cluster, require_tier=args.require_isolation or "")
    except (BatchError, ClusterError) as exc:
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
            _say(f"wrote {line}")
    return 1 if summary.failed else 0


def gradebook(course: Course, args: argparse.Namespace) -> int:
    """grader gradebook DB."""
    from rich.console import Console
    from rich.table import Table

    from grader.instructor.batch import status
    from grader.instructor.export import columns, late_students
    from grader.instructor.gradebook import Gradebook

    path = _db(args.db)
    if not path.is_file():
        return _fail(f"no gradebook at {path}")
    if getattr(args, "items", False):
        return _items(course, path)
    with Gradebook(path) as gb:
        rows = status(course, gb)
        cols = columns(course, gb)
        interrupted = gb.unfinished_runs()
        late = late_students(gb)
    console = Console(highlight=False)
    if args.stale:
        stale_rows = [(grade, reasons) for grade, reasons in rows if reasons]
        for grade, reasons in stale_rows:
            console.print(text(f"{grade.student}/{grade.exercise}: {'; '.join(reasons)}",
                               line=True))
        if not stale_rows:
            console.print(f"nothing stale: all {len(rows)} grades match the current "
                          "submissions, tests, grader and environment")
        return 0
    cells: dict[str, dict[str, str]] = {}
    totals: dict[str, float] = {}
    for grade, reasons in rows:
        mark = "*" if reasons else ""
        cells.setdefault(grade.student, {})[grade.exercise] = f"{grade.score:g}{mark}"
        totals[grade.student] = totals.get(grade.student, 0.0) + grade.score
    # Full exercise ids as headers where they fit; numbered columns and a legend where not.
    numbered = sum(max(len(e), 5) + 3 for e, _ in cols) + 30 > console.width
    # every cell a Text: a student id such as "[dim]zz-ref" is shown as written, never as markup
    table = Table(title=text(f"gradebook {path}", line=True), title_justify="left")
    table.add_column("student", overflow="fold")
    for i, (ex_id, top) in enumerate(cols, 1):
        head = f"#{i}" if numbered else shown_line(ex_id)
        table.add_column(text(f"{head}\n/{top:g}"), justify="right", no_wrap=True)
    table.add_column(f"total\n/{sum(t for _, t in cols):g}", justify="right", no_wrap=True)
    for student in sorted(cells):
        who = text(student, line=True)
        if student in late:
            who.append(" (late)", style="yellow")
        table.add_row(who, *(text(cells[student].get(e, "-")) for e, _ in cols),
                      f"{totals[student]:g}")
    console.print(table)
    if numbered:
        console.print(text("  ".join(f"#{i} {shown_line(e)}" for i, (e, _) in
                                     enumerate(cols, 1)), line=True), soft_wrap=False)
    stale = sum(1 for _, reasons in rows if reasons)
    if stale:
        console.print(text(f"* {stale} stale grades: `grader gradebook {args.db} --stale` says "
                           "why; `grader batch` regrades them", line=True))
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
    dashboard = getattr(args, "dashboard", None)
    if not any((args.csv, args.gradescope, args.feedback, args.nbgrader, dashboard)):
        return _fail("say what to write: --csv, --gradescope, --feedback, --nbgrader and/or "
                     "--dashboard")
    with Gradebook(path) as gb:
        try:
            report = run_export(course, gb, csv_path=args.csv, roster=args.roster,
                                gradescope_dir=args.gradescope, feedback_dir=args.feedback,
                                nbgrader_dir=args.nbgrader, assignment=args.assignment,
                                dashboard_dir=dashboard)
        except NbgraderMissing as exc:
            return _fail(str(exc))
    for line in report.written:
        _say(f"wrote {line}")
    for line in report.warnings:
        _say(f"warning: {line}")
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
    _say(f"recorded {args.points:g}/{top} for {args.student} / {ex.id} / {args.item}; "
         f"{ex.id} is now {grade.score:g}/{grade.max_score:g}")
    return 0


def worker(course: Course, args: argparse.Namespace) -> int:
    """grader worker ADDRESS: a Dask worker ready to grade this course."""
    import os
    import subprocess

    from grader.instructor.cluster import worker_command

    cmd, env = worker_command(args.scheduler, course.root, args.nworkers)
    print(f"grading {course.root} for {args.scheduler} with {args.nworkers} process(es)")
    try:
        return subprocess.call(cmd, env={**os.environ, **env})
    except KeyboardInterrupt:
        return 130


def _items(course: Course, path: Path) -> int:
    """grader gradebook DB --items: the item analysis in the terminal."""
    from grader.instructor.gradebook import Gradebook
    from grader.instructor.item_analysis import analyse, print_analysis

    with Gradebook(path) as gb:
        analysis = analyse(course, gb)
    print_analysis(analysis)
    return 0


def similarity(course: Course, args: argparse.Namespace) -> int:
    """grader similarity SUBMISSIONS."""
    from grader.instructor.batch import BatchError, default_jobs, discover_students
    from grader.instructor.similarity import Settings, compare
    from grader.instructor.similarity_report import print_table, write_csv, write_html

    try:
        students = discover_students(args.submissions)
    except BatchError as exc:
        return _fail(str(exc))
    if len(students) < 2:
        return _fail(f"{args.submissions} has {len(students)} student folders: nothing to compare")
    exercises = [course.get(i) for i in _split(args.exercises)] or course.exercises
    defaults = Settings()
    settings = Settings(threshold=defaults.threshold if args.threshold is None else args.threshold,
                        min_shared=args.min_shared or defaults.min_shared)
    report = compare(course, args.submissions, students, exercises,
                     jobs=args.jobs or default_jobs(), settings=settings)
    out = args.out or args.submissions
    write_csv(report, out / "similarity.csv")
    write_html(report, course, args.submissions, out / "similarity.html")
    print_table(report, args.top)
    for note in report.notes[:20]:
        print(f"note: {note}")
    if len(report.notes) > 20:
        print(f"... and {len(report.notes) - 20} more notes on the page")
    print(f"wrote {out / 'similarity.csv'} and {out / 'similarity.html'} "
          f"({report.files} files compared in {report.seconds:.1f} s)")
    return 0
