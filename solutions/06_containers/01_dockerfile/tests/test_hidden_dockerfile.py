"""Hidden tests for the dockerfile exercise: more made-up penguins, a bad request, the
HEALTHCHECK actually run against the app, and stages that agree on their Python.

The requests go out in the same run of the image's command as the public ones
(``support.served``): starting the app once per grading keeps grading fast.
"""

import re

import pytest

from grader.testing import expect

PARSES = "test_dockerfile_parses"
LISTENS = "test_server_listens_on_all_interfaces"


# fails for: python-c-cmd, loopback-only
@pytest.mark.requires(PARSES, LISTENS)
@pytest.mark.task("serves")
@pytest.mark.points(1)
@pytest.mark.parametrize("batch", ["hidden-40", "hidden-1"])
def test_predicts_hidden_penguins(submission, support, exercise_dir, grading_seed, batch):
    run = support.served(submission, exercise_dir, grading_seed)
    rows = run["rows"][batch]
    problem = support.explain_predictions(run["answers"][batch], rows, run["model"],
                                          f"{len(rows)} hidden penguin(s)")
    expect(problem is None, problem)


# fails for: python-c-cmd, loopback-only
@pytest.mark.requires(PARSES, LISTENS)
@pytest.mark.task("serves")
@pytest.mark.points(1)
def test_rejects_a_request_missing_a_measurement(submission, support, exercise_dir,
                                                 grading_seed):
    answer = support.served(submission, exercise_dir, grading_seed)["answers"]["invalid"]
    expect(answer["status"] == 422,
           f"POST /predict with a penguin that lacks body_mass_g answered HTTP "
           f"{answer['status'] or 'nothing'}, not 422: the image must serve the course's app "
           "unchanged (its validation answers 422)")


# fails for: healthcheck-wrong-port
@pytest.mark.requires(PARSES, LISTENS)
@pytest.mark.task("healthcheck")
@pytest.mark.points(1)
def test_healthcheck_command_succeeds_against_the_app(submission, support, exercise_dir,
                                                      grading_seed):
    found = support.check_healthcheck(support.dockerfile(submission))
    expect(not found, "the HEALTHCHECK has to pass its own checks first:\n" +
           support.report(found, ""))
    run = support.served(submission, exercise_dir, grading_seed)
    probe = run["probe"]
    if run["plan"].probe is None:
        pytest.skip("the HEALTHCHECK command is not one the grader runs (python, curl or wget)")
    if probe and probe.get("missing"):
        pytest.skip(f"{probe['missing']} is not installed on this machine, so the HEALTHCHECK "
                    "command was not run (not counted)")
    expect(probe is not None and probe["exit_code"] == 0,
           "[CKV_DOCKER_2] the HEALTHCHECK command, run while the app answered, "
           f"{'exited with ' + str(probe['exit_code']) if probe else 'did not run'}: Docker "
           "would mark a healthy container unhealthy. Its output ends with: "
           f"{(probe or {}).get('output', '')[-400:]!r}")


PY_MINOR = re.compile(r"python:(3\.\d+)")


# fails for: stages-differ
@pytest.mark.requires(PARSES)
@pytest.mark.task("base-image")
@pytest.mark.points(1)
def test_stages_share_the_python_version(submission, support):
    df = support.dockerfile(submission)
    final = PY_MINOR.search(df.final.root_base()[0])
    problems = []
    for inst in df.final.chain():
        if inst.keyword != "COPY":
            continue
        flags = inst.split()[0]
        source = df.stage(flags["from"]) if "from" in flags else None
        if source is None or final is None:
            continue
        theirs = PY_MINOR.search(source.root_base()[0])
        if theirs and theirs.group(1) != final.group(1):
            problems.append(f"line {inst.line} copies from stage {flags['from']!r} (Python "
                            f"{theirs.group(1)}) into a Python {final.group(1)} stage: a "
                            "virtualenv or site-packages built for one Python does not load "
                            "in another")
    expect(not problems, "[stage-python-mismatch] " + "; ".join(problems) +
           ". Use the same python:X.Y base in every stage")
