"""Hidden tests: the same checks on landing batches generated from this run's seed."""

import pytest

from grader.testing import expect

NAME = "hidden"


@pytest.fixture(scope="module")
def scn(support, grading_seed):
    return support.scenario(support.hidden_seed(grading_seed))


# fails for: lazy-constants, tuned-to-visible-days
@pytest.mark.task("read")
@pytest.mark.points(1)
def test_read_hidden_batches(submission, support, scn):
    submission.harness.reset("read-hidden")
    submission.harness.put_landing("read-hidden", scn.files)
    for day in scn.days:
        got = submission.read_landing("work/read-hidden/landing", day)
        problem = support.read_problem(got, scn, day, f"read_landing(<hidden>, {day!r})")
        expect(problem is None, (problem or "") + " (hidden batch)")


# fails for: lazy-constants, drops-bad-rows
@pytest.mark.task("validate")
@pytest.mark.points(2)
def test_validate_hidden_batches(submission, support, scn):
    result = support.validated(submission, scn)
    want = support.truth(scn, scn.days)
    got = support.quarantine_ids(result["quarantine"], "validate(raw)")
    problem = support.quarantine_problem(scn, got, want.quarantine,
                                         "validate(raw) on hidden batches")
    expect(problem is None, problem or "")
    problem = support.reason_problem(got, want.quarantine, "validate(raw) on hidden batches")
    expect(problem is None, problem or "")
    problem = support.clean_frame_problem(result["clean"], want,
                                          "validate(raw) on hidden batches")
    expect(problem is None, problem or "")


# fails for: lazy-constants, tuned-to-visible-days, partition-by-landing-day
@pytest.mark.task("storage")
@pytest.mark.points(1)
def test_partitions_hidden(submission, support, scn):
    snap = support.runs(submission, scn, NAME).get("full")
    expect(not snap.problems, snap.problem_text() + " (hidden batches)")
    problem = support.partition_problem(snap, support.truth(scn, scn.days[:-1]),
                                        "after run(landing, out) on hidden batches")
    expect(problem is None, problem or "")


# fails for: lazy-constants, tuned-to-visible-days, drops-bad-rows
@pytest.mark.task("quarantine")
@pytest.mark.points(1)
def test_quarantine_hidden(submission, support, scn):
    snap = support.runs(submission, scn, NAME).get("full")
    got = {(f, n): r for (f, n, r) in snap.quarantine}
    want = support.truth(scn, scn.days[:-1]).quarantine
    problem = support.quarantine_problem(scn, got, want, "out/quarantine on hidden batches")
    expect(problem is None, problem or "")
    problem = support.reason_problem(got, want, "out/quarantine on hidden batches")
    expect(problem is None, problem or "")


# fails for: lazy-constants (gated), drops-bad-rows
@pytest.mark.task("report")
@pytest.mark.points(1)
def test_report_hidden(submission, support, scn):
    snap = support.runs(submission, scn, NAME).get("full")
    gate = support.unwritten_problem(snap, support.truth(scn, scn.days[:-1]), "the report")
    expect(gate is None, (gate or "") + " (hidden batches)")
    problem = support.report_problem(snap.report, support.truth(scn, scn.days[:-1]).rows_in,
                                     snap.total_clean(), snap.reasons(),
                                     "run(landing, out) on hidden batches")
    expect(problem is None, problem or "")


# fails for: lazy-constants (gated), tuned-to-visible-days, appends-on-rerun
@pytest.mark.task("idempotent")
@pytest.mark.points(1)
def test_idempotent_hidden(submission, support, scn):
    runs = support.runs(submission, scn, NAME)
    gate = support.unwritten_problem(runs.get("full"), support.truth(scn, scn.days[:-1]),
                                     "re-running")
    expect(gate is None, (gate or "") + " (hidden batches)")
    expect(runs.get("full").fingerprint() == runs.get("again").fingerprint(),
           "on hidden batches, running run(landing, out) twice changed the outputs")
    expect(runs.get("new").fingerprint() == runs.get("redo").fingerprint(),
           "on hidden batches, re-running one day changed the outputs")


# fails for: lazy-constants, tuned-to-visible-days, drops-bad-rows, appends-on-rerun
@pytest.mark.task("incremental")
@pytest.mark.points(1)
def test_incremental_hidden(submission, support, scn):
    runs = support.runs(submission, scn, NAME)
    before, new = runs.get("again"), runs.get("new")
    last = scn.days[-1]
    problem = support.partition_problem(new, support.truth(scn, scn.days),
                                        f"after run(landing, out, day={last!r}) on hidden "
                                        "batches")
    expect(problem is None, problem or "")
    got = {(f, n): r for (f, n, r) in new.quarantine}
    problem = support.quarantine_problem(scn, got, support.truth(scn, scn.days).quarantine,
                                         "out/quarantine after adding a hidden day")
    expect(problem is None, problem or "")
    problem = support.report_problem(new.report, support.truth(scn, [last]).rows_in,
                                     new.total_clean() - before.total_clean(),
                                     new.reasons() - before.reasons(),
                                     f"run(landing, out, day={last!r}) on hidden batches")
    expect(problem is None, problem or "")
