"""Public tests: the pipeline on the visible landing batches (data/landing/, seed 0)."""

import pytest

from grader.testing import expect

NAME = "visible"


@pytest.fixture(scope="module")
def scn(support, exercise_dir, exercise):
    if (exercise_dir.parents[2] / "solutions" / exercise.rel).is_dir():
        support.check_visible_files()  # maintainers: the committed files match the generator
    return support.scenario(0)


# fails for: lazy-constants
@pytest.mark.task("read")
@pytest.mark.points(2)
def test_read_landing(submission, support, scn):
    submission.harness.reset("read")
    submission.harness.put_landing("read", scn.files)
    for day in scn.days:
        call = f"read_landing('work/read/landing', {day!r})"
        got = submission.read_landing("work/read/landing", day)
        problem = support.read_problem(got, scn, day, call)
        expect(problem is None, problem or "")


# fails for: lazy-constants, drops-bad-rows
@pytest.mark.task("validate")
@pytest.mark.points(2)
def test_validate_quarantines_bad_rows(submission, support, scn):
    result = support.validated(submission, scn)
    got = support.quarantine_ids(result["quarantine"], "validate(raw)")
    want = support.truth(scn, scn.days).quarantine
    problem = support.quarantine_problem(scn, got, want, "validate(raw) on every visible day")
    expect(problem is None, problem or "")
    problem = support.reason_problem(got, want, "validate(raw)")
    expect(problem is None, problem or "")


# fails for: lazy-constants
@pytest.mark.task("validate")
@pytest.mark.points(1)
def test_validate_clean_schema_and_rows(submission, support, scn):
    result = support.validated(submission, scn)
    problem = support.clean_frame_problem(result["clean"], support.truth(scn, scn.days),
                                          "validate(raw)")
    expect(problem is None, problem or "")


# fails for: lazy-constants, partition-by-landing-day
@pytest.mark.task("storage")
@pytest.mark.points(2)
def test_partitioned_parquet(submission, support, scn):
    snap = support.runs(submission, scn, NAME).get("full")
    expect(not snap.problems, snap.problem_text())
    problem = support.partition_problem(snap, support.truth(scn, scn.days[:-1]),
                                        "after run(landing, out)")
    expect(problem is None, problem or "")


# fails for: lazy-constants, drops-bad-rows
@pytest.mark.task("quarantine")
@pytest.mark.points(2)
def test_quarantine_parquet(submission, support, scn):
    snap = support.runs(submission, scn, NAME).get("full")
    got = {(f, n): r for (f, n, r) in snap.quarantine}
    expect(got or not snap.problems, snap.problem_text())
    want = support.truth(scn, scn.days[:-1]).quarantine
    problem = support.quarantine_problem(scn, got, want, "out/quarantine after a full run")
    expect(problem is None, problem or "")
    problem = support.reason_problem(got, want, "out/quarantine")
    expect(problem is None, problem or "")


# fails for: lazy-constants (gated: writes nothing), drops-bad-rows
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_matches_outputs(submission, support, scn):
    snap = support.runs(submission, scn, NAME).get("full")
    gate = support.unwritten_problem(snap, support.truth(scn, scn.days[:-1]), "the report")
    expect(gate is None, gate or "")
    rows_in = support.truth(scn, scn.days[:-1]).rows_in
    problem = support.report_problem(snap.report, rows_in, snap.total_clean(), snap.reasons(),
                                     support.call_name(None))
    expect(problem is None, problem or "")


# fails for: lazy-constants (gated: nothing written twice is still nothing), appends-on-rerun
@pytest.mark.task("idempotent")
@pytest.mark.points(2)
def test_reruns_change_nothing(submission, support, scn):
    runs = support.runs(submission, scn, NAME)
    full, again = runs.get("full"), runs.get("again")
    gate = support.unwritten_problem(full, support.truth(scn, scn.days[:-1]), "re-running")
    expect(gate is None, gate or "")
    expect(full.fingerprint() == again.fingerprint(),
           support.partition_problem(again, support.truth(scn, scn.days[:-1]),
                                     "after running run(landing, out) twice")
           or "running run(landing, out) twice changed the outputs (out/quarantine?): a "
              "full run must rebuild, not add")
    new, redo = runs.get("new"), runs.get("redo")
    before = scn.days[-2]
    expect(new.fingerprint() == redo.fingerprint(),
           f"re-running a day already processed, run(landing, out, day={before!r}), changed "
           "the outputs: replace only what that day's batch wrote before (not add to it), and "
           "judge duplicates against earlier batches only")


# fails for: lazy-constants, drops-bad-rows, appends-on-rerun, partition-by-landing-day
@pytest.mark.task("incremental")
@pytest.mark.points(2)
def test_new_day_appends_and_late_rows_land_in_their_day(submission, support, scn):
    runs = support.runs(submission, scn, NAME)
    before, new = runs.get("again"), runs.get("new")
    last = scn.days[-1]
    call = support.call_name(last)
    expect(not new.problems, new.problem_text())
    problem = support.partition_problem(new, support.truth(scn, scn.days), f"after {call}")
    expect(problem is None, (problem or "") + ". A new day adds its rows; its late records "
           "belong to their own (earlier) date partitions, next to what is already there")
    got = {(f, n): r for (f, n, r) in new.quarantine}
    problem = support.quarantine_problem(scn, got, support.truth(scn, scn.days).quarantine,
                                         f"out/quarantine after {call}")
    expect(problem is None, (problem or "") + ". Rows an earlier day already delivered are "
           "duplicates")
    batch = support.truth(scn, [last])
    problem = support.report_problem(new.report, batch.rows_in,
                                     new.total_clean() - before.total_clean(),
                                     new.reasons() - before.reasons(), call)
    expect(problem is None, (problem or "") + " (the report covers this run's day only)")
