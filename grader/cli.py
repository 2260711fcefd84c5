"""The ``grader`` command: a thin layer over the runner, reports, hints and progress."""

from __future__ import annotations

import argparse
import os
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

instructors (docs/instructors.md):
  grader release ../lab-student            a student copy: no solutions, hidden tests or labels
  grader collect downloads.zip class/      LMS zip, folders, clones or nbgrader -> class/<student>
  grader batch class/ --jobs 4             grade everyone (resumable) into class/gradebook.sqlite
  grader gradebook class/                  grades, totals and stale grades
  grader export class/ --csv grades.csv --gradescope gs/ --feedback pages/
  grader gradebook class/ --items          what the class lost, per exercise and task
  grader export class/ --dashboard dash/   an instructor dashboard page (dash/index.html)
  grader similarity class/                 pairs of students whose work looks alike
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
                       help="folder laid out like exercises/ (default: the course's exercises/); "
                            "'solutions' grades the course's reference solutions")
    grade.add_argument("--json", metavar="PATH", help="also write results as JSON ('-': stdout)")
    grade.add_argument("--seed", type=int, default=None, help="seed for hidden inputs "
                       "(default: a fresh one each run)")
    grade.add_argument("--quiet", action="store_true", help="no terminal report")
    grade.add_argument("--verbose", "-v", action="store_true",
                       help="every test and every message, after the per-task summary")
    check = sub.add_parser("check", help="grade one exercise: a line per task, then next:")
    check.add_argument("id", metavar="ID")
    check.add_argument("--verbose", "-v", action="store_true",
                       help="every test and every message, after the per-task summary")
    check.add_argument("--submission", type=Path, default=None, metavar="DIR")
    check.add_argument("--seed", type=int, default=None)
    check.add_argument("--json", metavar="PATH", help="also write results as JSON ('-': stdout)")
    hint = sub.add_parser("hint", help="show the next hint (or hint N) for an exercise")
    hint.add_argument("id", metavar="ID")
    hint.add_argument("level", nargs="?", type=int, metavar="N")
    _instructor_commands(sub)
    return parser


def _ids(parser: argparse.ArgumentParser, flag: str, what: str) -> None:
    parser.add_argument(flag, action="append", default=[], metavar="IDS",
                        help=f"{what} (comma-separated or repeated; default: all)")


def _instructor_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    release = sub.add_parser("release", help="write a student copy of the course (no solutions, "
                             "hidden tests or hidden data)")
    release.add_argument("out", type=Path, metavar="OUT", nargs="?", default=None,
                         help="where to write it (not with --nbgrader)")
    _ids(release, "--exercises", "exercises to release")
    release.add_argument("--force", action="store_true", help="replace an earlier release")
    release.add_argument("--nbgrader", type=Path, default=None, metavar="COURSE_DIR",
                         help="write it as COURSE_DIR/source/ASSIGNMENT/ for `nbgrader "
                         "generate_assignment` (one notebook per exercise at the top)")
    release.add_argument("--assignment", default="ml-engineer-lab",
                         help="the nbgrader assignment name (default: ml-engineer-lab)")
    collect = sub.add_parser("collect", help="gather submissions (folders, git clones, LMS "
                             "zips, an nbgrader course) into OUT/<student>/")
    collect.add_argument("source", type=Path, metavar="SOURCE")
    collect.add_argument("out", type=Path, metavar="OUT")
    _ids(collect, "--exercises", "exercises to take files for")
    batch = sub.add_parser("batch", help="grade every student in parallel into a SQLite "
                           "gradebook; resumes where it stopped")
    batch.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                       help="a folder of student folders (what `grader collect` writes)")
    batch.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                       help="exercises graded at once (default: one per core)")
    _ids(batch, "--exercises", "exercises to grade")
    _ids(batch, "--students", "students to grade")
    batch.add_argument("--db", type=Path, default=None, metavar="PATH",
                       help="gradebook file (default: SUBMISSIONS/gradebook.sqlite)")
    batch.add_argument("--regrade", action="store_true",
                       help="grade the selected students and exercises again, even if current")
    batch.add_argument("--only-missing", action="store_true",
                       help="grade only what has no grade yet; leave stale grades alone")
    batch.add_argument("--seed", type=int, default=None, help="class seed for hidden inputs "
                       "(default: the one stored in the gradebook, chosen on the first run)")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    batch.add_argument("--require-isolation", choices=("A", "B", "C"), default=None,
                       metavar="TIER", help="refuse to grade unless the workers' isolation is "
                       "this tier or stronger (A: bubblewrap, B: Landlock + seccomp, C: plain)")
    batch.add_argument("--nbgrader", type=Path, default=None, metavar="COURSE_DIR",
                       help="afterwards, write the scores into this nbgrader course's gradebook")
    batch.add_argument("--cluster", default=None, metavar="ADDRESS",
                       help="grade on a Dask cluster: tcp://HOST:8786 (workers started with "
                       "`grader worker`), or local:N for N local Dask workers")
    worker = sub.add_parser("worker", help="start a Dask worker that grades this course for "
                            "`grader batch --cluster`")
    worker.add_argument("scheduler", metavar="ADDRESS", help="the scheduler, tcp://HOST:8786")
    worker.add_argument("--nworkers", type=int, default=1, metavar="N",
                        help="grading processes on this machine (default: 1)")
    batch.add_argument("--assignment", default="ml-engineer-lab",
                       help="nbgrader assignment name (default: ml-engineer-lab)")
    book = sub.add_parser("gradebook", help="show a gradebook: scores, totals, stale grades")
    book.add_argument("db", type=Path, metavar="DB", help="gradebook file or its folder")
    book.add_argument("--stale", action="store_true", help="list only stale grades, with why")
    book.add_argument("--items", action="store_true", help="item analysis: per exercise and "
                      "task, who got full, partial, zero marks, the commonest messages")
    manual = sub.add_parser("manual", help="record a person's points for a rubric item "
                            "(pending manual review until then)")
    manual.add_argument("db", type=Path, metavar="DB", help="gradebook file or its folder")
    manual.add_argument("student")
    manual.add_argument("exercise")
    manual.add_argument("item", help="the rubric item's id from exercise.toml [[manual]]")
    manual.add_argument("points", type=float)
    manual.add_argument("--feedback", default="", help="a comment the student will see")
    export = sub.add_parser("export", help="write grades and feedback from a gradebook")
    export.add_argument("db", type=Path, metavar="DB", help="gradebook file or its folder")
    export.add_argument("--csv", type=Path, metavar="PATH", help="LMS gradebook CSV (Canvas)")
    export.add_argument("--roster", type=Path, metavar="PATH",
                        help="the LMS's own gradebook export, for names, ids and row order")
    export.add_argument("--gradescope", type=Path, metavar="DIR",
                        help="DIR/<student>/results.json in Gradescope's format")
    export.add_argument("--feedback", type=Path, metavar="DIR",
                        help="DIR/<student>.html feedback pages and an index")
    export.add_argument("--dashboard", type=Path, metavar="DIR",
                        help="DIR/index.html: the class dashboard (skills, tasks by loss)")
    export.add_argument("--nbgrader", type=Path, metavar="COURSE_DIR",
                        help="write the scores into an nbgrader course's gradebook")
    export.add_argument("--assignment", default="ml-engineer-lab",
                        help="nbgrader assignment name (default: ml-engineer-lab)")
    scope = sub.add_parser("gradescope", help="run the course as a Gradescope autograder")
    scope_sub = scope.add_subparsers(dest="gradescope_command", required=True,
                                     metavar="ACTION")
    build = scope_sub.add_parser("build", help="write the autograder zip to upload")
    build.add_argument("out", type=Path, metavar="OUT.zip")
    _ids(build, "--exercises", "exercises this Gradescope assignment grades")
    run = scope_sub.add_parser("run", help="grade one upload (run_autograder calls this)")
    run.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    run.add_argument("--results", type=Path,
                     default=Path("/autograder/results/results.json"))
    _ids(run, "--exercises", "exercises to grade")
    _similarity_command(sub)
    classroom = sub.add_parser("classroom", help="report points to GitHub Classroom (in its "
                               "workflow, after `make grade`)")
    classroom.add_argument("--results", type=Path, default=None, metavar="PATH",
                           help="a `grader grade --json` file (default: the last `make grade`)")


def _similarity_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    similar = sub.add_parser("similarity", help="integrity signals: pairs of students whose "
                             "code or artefacts look alike (a reason to look, not proof)")
    similar.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                         help="a folder of student folders (what `grader collect` writes)")
    similar.add_argument("--out", type=Path, default=None, metavar="DIR",
                         help="where similarity.csv and similarity.html go "
                              "(default: SUBMISSIONS)")
    _ids(similar, "--exercises", "exercises to compare")
    similar.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                         help="exercises compared at once (default: one per core)")
    similar.add_argument("--top", type=int, default=30, metavar="N",
                         help="pairs shown in the terminal (default: 30)")
    similar.add_argument("--threshold", type=float, default=None, metavar="SHARE",
                         help="flag code pairs sharing this share of the smaller one's "
                              "fingerprints (default: 0.5)")
    similar.add_argument("--min-shared", type=int, default=None, metavar="N",
                         help="... and at least N fingerprints (default: 15)")


INSTRUCTOR = ("release", "collect", "batch", "gradebook", "manual", "export", "gradescope",
              "worker", "similarity")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0 whenever grading completed, whatever the score."""
    args = _parser().parse_args(argv)
    from grader.engine.course import Course, CourseNotFound

    try:
        course = Course.load(args.course) if args.course else Course.find()
    except CourseNotFound as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    from grader.sandbox.isolation import IsolationError

    try:
        if args.command == "list":
            return _list(course)
        if args.command == "hint":
            return _hint(course, args.id, args.level)
        if args.command == "classroom":
            return _classroom(course, args.results)
        if args.command in INSTRUCTOR:
            from grader.instructor import commands as instructor_cli

            return int(getattr(instructor_cli, args.command)(course, args))
        ids = [args.id] if args.command == "check" else args.ids
        return _grade(course, ids, args.submission, args.seed, args.json,
                      verbose=args.verbose, quiet=getattr(args, "quiet", False),
                      detail_hint=(f"details, every test: make check EX={args.id} V=1"
                                   if args.command == "check" else
                                   "details, every test: make check EX=<id> V=1"))
    except KeyError as exc:
        print(f"grader: {exc.args[0]}", file=sys.stderr)
        return 2
    except IsolationError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2


def _classroom(course: object, results: Path | None) -> int:
    """Report the last results to GitHub Classroom (runs in the learner's repository)."""
    from grader.engine.course import Course
    from grader.learner.progress import last_scores
    from grader.reports.classroom import from_results, report

    assert isinstance(course, Course)
    rows = from_results(results) if results else last_scores(course.root)
    if not rows:
        print("grader: no grading results: run `make grade` first", file=sys.stderr)
        return 1
    report(rows)
    return 0


def _list(course: object) -> int:
    from rich.console import Console
    from rich.table import Table

    from grader.engine.course import Course
    from grader.learner.progress import Progress

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
    if not any(course.solution_dir(ex).is_dir() for ex in course.exercises):
        console.print("This is a student copy: `make grade` checks the public tests' share of "
                      "each exercise's points (the last score shows it, e.g. 3/17 of 35); "
                      "your instructor's hidden tests hold the rest.")
    for problem in course.broken:
        console.print(f"[red]broken manifest:[/red] {problem}")
    return 0


def _hint(course: object, ex_id: str, level: int | None) -> int:
    from grader.engine.course import Course
    from grader.learner.hints import hint, hint_text
    from grader.learner.progress import Progress

    assert isinstance(course, Course)
    ex = course.get(ex_id)
    progress = Progress(course.root)
    try:
        shown, text = hint(ex, progress, level)
    except ValueError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    print(hint_text(ex, shown, text, f"`make hint EX={ex.id}`", progress))
    return 0


def _grade(course: object, ids: list[str], submission: Path | None, seed: int | None,
           json_path: str | None, verbose: bool, quiet: bool, detail_hint: str = "") -> int:
    from grader.engine.course import Course
    from grader.engine.runner import grade
    from grader.learner.progress import Progress
    from grader.reports.json_results import write_json
    from grader.reports.terminal import render

    assert isinstance(course, Course)
    exercises = [course.get(i) for i in ids] if ids else course.exercises
    if submission is None:
        root = course.root / "exercises"
    elif str(submission) in ("solutions", "exercises"):  # the course's own trees, from anywhere
        root = course.root / submission
    else:
        root = submission
    if not root.is_dir():
        print(f"grader: submission folder {root} does not exist", file=sys.stderr)
        return 2
    run = grade(course, exercises, root.resolve(), seed, bounded=True,
                reference_cache=_reference_folder(course.root), jobs=_side_by_side())
    progress = Progress(course.root)
    own_work = root.resolve() == (course.root / "exercises").resolve()
    if own_work:
        progress.record_run(run)
    if json_path:
        write_json(run, json_path)
    if not quiet and json_path != "-":
        status = {ex.id: progress.status(ex.id) for ex in course.exercises} if own_work else {}
        render(run, course, verbose=verbose, course_status=status, detail_hint=detail_hint)
    return 0


def _side_by_side() -> int:
    """Exercises graded at once by ``grader grade``: two on a machine with two cores or more,
    one where something else already shares the cores out (``GRADER_JOBS``, as ``make test``
    and ``grader batch`` set it)."""
    from grader.sandbox.limits import JOBS_VAR

    if os.environ.get(JOBS_VAR):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    return min(2, cores)


def _reference_folder(course_root: Path) -> Path | None:
    """The course's own cache of reference values (``.grader/``, never committed or released)."""
    from grader.engine.reference_cache import configured_folder

    return configured_folder(course_root / ".grader" / "reference-cache")


if __name__ == "__main__":
    sys.exit(main())
