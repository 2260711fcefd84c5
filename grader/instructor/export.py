"""Write what an instructor hands out from a gradebook: LMS CSV, Gradescope JSON, feedback pages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.engine.course import Course
from grader.instructor.gradebook import Gradebook


@dataclass
class ExportReport:
    """What an export wrote, and what the instructor should check."""

    written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def columns(course: Course, gb: Gradebook) -> list[tuple[str, float]]:
    """Exercise ids with their maximum points, in course order, then any no longer in it."""
    known = {ex.id: ex for ex in course.exercises}
    graded = gb.exercises()
    tops: dict[str, float] = {}
    for g in gb.grades():
        tops[g.exercise] = max(tops.get(g.exercise, 0.0), g.max_score)
    ordered = [ex.id for ex in course.exercises if ex.id in graded]
    ordered += [e for e in graded if e not in known]
    return [(e, tops.get(e) or float(known[e].points if e in known else 0)) for e in ordered]


def collected_info(gb: Gradebook) -> dict[str, dict[str, str]]:
    """Each student's ``info`` from the report collect left beside the submissions."""
    from grader.instructor.collect import REPORT

    folder = gb.meta("submissions")
    candidates = [Path(folder) / REPORT] if folder else []
    candidates.append(gb.path.parent / REPORT)
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        students = data.get("students") if isinstance(data, dict) else None
        found = {}
        for student, entry in (students if isinstance(students, dict) else {}).items():
            info = entry.get("info") if isinstance(entry, dict) else None
            if isinstance(info, dict):
                found[str(student)] = {str(k): v for k, v in info.items() if isinstance(v, str)}
        return found
    return {}


def lms_ids(gb: Gradebook) -> dict[str, str]:
    """Student id -> Canvas user id, from the report collect left beside the submissions."""
    return {student: info["canvas_user_id"] for student, info in collected_info(gb).items()
            if info.get("canvas_user_id")}


def late_students(gb: Gradebook) -> frozenset[str]:
    """Students whose LMS marked the submission late (Canvas's ``_LATE``), as collect kept it."""
    return frozenset(s for s, info in collected_info(gb).items() if info.get("late") == "yes")


def submission_times(gb: Gradebook, assignment: str) -> dict[str, str]:
    """Each student's nbgrader ``timestamp.txt``, as ``grader collect`` recorded it."""
    key = f"submitted_at:{assignment}"
    return {student: info[key][:64] for student, info in collected_info(gb).items()
            if info.get(key)}


def export(course: Course, gb: Gradebook, csv_path: Path | None = None,
           roster: Path | None = None, gradescope_dir: Path | None = None,
           feedback_dir: Path | None = None, nbgrader_dir: Path | None = None,
           assignment: str = "ml-engineer-lab",
           dashboard_dir: Path | None = None) -> ExportReport:
    """Write each requested output; grades that are stale now are counted in the warnings."""
    report = ExportReport()
    cols = columns(course, gb)
    order = [e for e, _ in cols]
    grades = gb.grades()
    if not grades:
        report.warnings.append("the gradebook is empty: run `grader batch` first")
        return report
    from grader.instructor.batch import status

    stale = sum(1 for _, reasons in status(course, gb) if reasons)
    if stale:
        report.warnings.append(f"{stale} grades are stale (`grader gradebook` lists them; "
                               "`grader batch` refreshes them)")
    if csv_path is not None:
        from grader.instructor.gradebook_csv import gradebook_csv, read_roster

        text, warnings = gradebook_csv(grades, cols, read_roster(roster) if roster else (),
                                       lms_ids=lms_ids(gb), late=late_students(gb))
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        csv_path.write_text(text, encoding="utf-8")
        report.written.append(str(csv_path))
        report.warnings += warnings
    from grader.instructor.feedback import page_names

    names = page_names(gb.students())  # safe, distinct file names even for hostile ids
    report.warnings += [f"{s!r} is not a safe file name: its files are named {n!r}"
                        for s, n in names.items() if n != s and (gradescope_dir or feedback_dir)]
    if gradescope_dir is not None:
        from grader.reports.gradescope_results import write_gradescope

        for student in gb.students():
            path = gradescope_dir / names[student] / "results.json"
            write_gradescope(gb.run_result(student, order), path)
        report.written.append(f"{gradescope_dir}/<student>/results.json")
    if feedback_dir is not None:
        from grader.instructor.feedback import index_page, student_page, write_pages

        manifests = {ex.id: ex for ex in course.exercises}
        pages = {}
        rows = []
        for student in gb.students():
            run = gb.run_result(student, order)
            pages[f"{names[student]}.html"] = student_page(student, run, manifests)
            rows.append((student, run.score, run.max_score))
        pages["index.html"] = index_page(rows, names=names)
        write_pages(feedback_dir, pages)
        report.written.append(f"{feedback_dir}/<student>.html and index.html")
    if nbgrader_dir is not None:
        from grader.instructor.nbgrader import db_url, sync

        count = sync(grades, dict(cols), nbgrader_dir, assignment,
                     submitted_at=submission_times(gb, assignment))
        report.written.append(f"{count} scores into {db_url(nbgrader_dir)} "
                              f"(assignment {assignment})")
    if dashboard_dir is not None:
        from grader.instructor.dashboard import write_dashboard

        report.written.append(str(write_dashboard(course, gb, dashboard_dir)))
    return report
