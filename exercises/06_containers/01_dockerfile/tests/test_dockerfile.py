"""Public tests for the dockerfile exercise: hadolint, structure, .dockerignore, and the app served.

The static checks read the Dockerfile as text in the grader's process (hadolint on a private
copy, dockerfile-parse); nothing in it runs there. The functional check lays out the files the
final stage COPYs, starts the app its CMD names inside the worker on the declared port (a free
one if that is taken) and asks /health and /predict; the answers are compared here with the
grader's own predictions.

Severity (the README's "What is graded"): a Dockerfile Docker cannot parse gets nothing for any
Dockerfile check (they require test_dockerfile_parses); a command that cannot serve the app
from outside its container gets nothing for serving (those require
test_server_listens_on_all_interfaces); and the checks that only look for something bad
(latest tags, caches, secrets, build tools, remote code) count once the image serves
(test_health_endpoint_answers): an image that serves nothing is not clean, only empty.
"""

import pytest

from grader.testing import expect

PARSES = "test_dockerfile_parses"
LISTENS = "test_server_listens_on_all_interfaces"
SERVES = "test_health_endpoint_answers"


# fails for: bare-onbuild, env-bomb, huge-instruction
@pytest.mark.task("parses")
@pytest.mark.points(1)
def test_dockerfile_parses(submission, support):
    found = support.check_parses(support.dockerfile(submission))
    expect(not found, support.report(found, "Docker refuses to build a Dockerfile it cannot "
                                            "parse, so no other check of it is graded: give "
                                            "every instruction its arguments (ONBUILD needs an "
                                            "instruction after it), then run hadolint again"))


# fails for: latest-tag, lazy
@pytest.mark.requires(PARSES)
@pytest.mark.task("base-image")
@pytest.mark.points(1)
def test_base_image_is_a_pinned_slim_python(submission, support):
    found = support.check_base_image(support.dockerfile(submission))
    expect(not found, support.report(found, "FROM python:3.12-slim-bookworm (or another allowed "
                                            "slim tag) in the final stage"))


# fails for: source-before-requirements, lazy
@pytest.mark.requires(PARSES)
@pytest.mark.task("dependencies")
@pytest.mark.points(2)
def test_dependencies_installed_before_source_is_copied(submission, support, exercise_dir):
    df = support.dockerfile(submission)
    found = support.check_dependencies_first(df, support.context_files(exercise_dir))
    expect(not found, support.report(found, "COPY requirements.txt on its own, RUN pip install "
                                            "--no-cache-dir -r requirements.txt, and only then "
                                            "COPY app/: Docker reuses the install layer as long "
                                            "as requirements.txt is unchanged"))


# fails for: root-user, no-user-line, lazy
@pytest.mark.requires(PARSES)
@pytest.mark.task("non-root")
@pytest.mark.points(3)
def test_runs_as_a_non_root_user_that_exists(submission, support):
    found = support.check_user(support.dockerfile(submission))
    expect(not found, support.report(found, "RUN useradd --system --uid 10001 app, then "
                                            "USER 10001 (a numeric id lets Kubernetes verify "
                                            "runAsNonRoot). hadolint's DL3002 only sees an "
                                            "explicit USER root; the grader judges the user the "
                                            "container really runs as"))


# fails for: shell-form-cmd, lazy
@pytest.mark.requires(PARSES)
@pytest.mark.task("run-command")
@pytest.mark.points(1)
def test_command_in_exec_form(submission, support):
    found = support.check_exec_form(support.dockerfile(submission))
    expect(not found, support.report(found, 'CMD ["uvicorn", "app.main:app", "--host", '
                                            '"0.0.0.0", "--port", "8000"]'))


# fails for: loopback-only, python-c-cmd, lazy
@pytest.mark.requires(PARSES)
@pytest.mark.task("run-command")
@pytest.mark.points(1)
def test_server_listens_on_all_interfaces(submission, support):
    found = support.check_listen_address(support.dockerfile(submission))
    expect(not found, support.report(found, "pass --host 0.0.0.0 to uvicorn"))


# fails for: python-c-cmd, lazy
@pytest.mark.requires(PARSES)
@pytest.mark.task("run-command")
@pytest.mark.points(1)
def test_expose_matches_the_port_the_app_listens_on(submission, support):
    found = support.check_expose(support.dockerfile(submission))
    expect(not found, support.report(found, "EXPOSE the same port you pass to --port"))


# fails for: healthcheck-wrong-port, lazy
@pytest.mark.requires(PARSES)
@pytest.mark.task("healthcheck")
@pytest.mark.points(1)
def test_healthcheck_asks_the_health_endpoint(submission, support):
    found = support.check_healthcheck(support.dockerfile(submission))
    expect(not found, support.report(found, "HEALTHCHECK CMD [\"python\", \"-c\", \"import "
                                            "urllib.request; urllib.request.urlopen("
                                            "'http://127.0.0.1:8000/health', timeout=2)\"]"))


# fails for: no-requirements-installed, user-not-created
@pytest.mark.requires(PARSES, LISTENS)
@pytest.mark.task("serves")
@pytest.mark.points(1)
def test_health_endpoint_answers(submission, support, exercise_dir, grading_seed):
    run = support.served(submission, exercise_dir, grading_seed)
    problem = support.explain_health(run["answers"]["health"])
    expect(problem is None, problem)


# fails for: no-requirements-installed, user-not-created
@pytest.mark.requires(PARSES, LISTENS)
@pytest.mark.task("serves")
@pytest.mark.points(1)
def test_predicts_the_example_request(submission, support, exercise_dir, grading_seed):
    run = support.served(submission, exercise_dir, grading_seed)
    problem = support.explain_predictions(run["answers"]["visible"], run["rows"]["visible"],
                                          run["model"], "data/example_request.json")
    expect(problem is None, problem)


# fails for: no-requirements-installed, user-not-created
@pytest.mark.requires(PARSES, LISTENS)
@pytest.mark.task("serves")
@pytest.mark.points(1)
def test_predicts_fresh_penguins(submission, support, exercise_dir, grading_seed):
    run = support.served(submission, exercise_dir, grading_seed)
    problem = support.explain_predictions(run["answers"]["fresh"], run["rows"]["fresh"],
                                          run["model"], "12 penguins the grader made up")
    expect(problem is None, problem)


def _hadolint(rule, task, *needs):
    marks = [pytest.mark.task(task)] + ([pytest.mark.requires(*needs)] if needs else [])
    return pytest.param(rule, marks=marks, id=rule)


# Rules that fire on a bad form stand alone; rules that only look for something bad count once
# the image serves (an empty Dockerfile has no latest tag and no pip cache either).
HADOLINT = [
    _hadolint("DL3006", "base-image"),
    _hadolint("DL3025", "run-command"),
    _hadolint("DL3007", "base-image", SERVES),
    _hadolint("DL3008", "dependencies", SERVES),
    _hadolint("DL3013", "dependencies", SERVES),
    _hadolint("DL3042", "dependencies", SERVES),
    _hadolint("DL3020", "dependencies", SERVES),
]


# DL3006: lazy; DL3025: shell-form-cmd; DL3007: latest-tag; DL3008: build-tools;
# DL3013 and DL3042: pip-cache-unpinned; DL3020: add-not-copy.
# fails for: lazy, shell-form-cmd, latest-tag, build-tools, pip-cache-unpinned, add-not-copy
@pytest.mark.requires(PARSES)
@pytest.mark.points(1)
@pytest.mark.parametrize("rule", HADOLINT)
def test_hadolint_rule(submission, support, rule):
    df = support.dockerfile(submission)
    found = support.hadolint_findings(df, rule)
    expect(not found, support.hadolint_message(found, rule))


# fails for: remote-fetch
@pytest.mark.requires(PARSES, SERVES)
@pytest.mark.task("dependencies")
@pytest.mark.points(1)
def test_no_remote_code(submission, support):
    found = support.check_remote_code(support.dockerfile(submission))
    expect(not found, support.report(found, "install Python packages from requirements.txt and "
                                            "COPY local files; the app needs nothing from the "
                                            "network besides PyPI"))


# fails for: build-tools
@pytest.mark.requires(PARSES, SERVES)
@pytest.mark.task("final-stage")
@pytest.mark.points(1)
def test_no_build_tools_in_the_final_stage(submission, support):
    found = support.check_build_tools(support.dockerfile(submission))
    expect(not found, support.report(found, "install nothing with apt (FastAPI and uvicorn come "
                                            "as wheels); if you ever must compile, do it in a "
                                            "builder stage and COPY --from the result"))


# fails for: baked-secret
@pytest.mark.requires(PARSES, SERVES)
@pytest.mark.task("final-stage")
@pytest.mark.points(1)
def test_no_secrets_in_env_or_arg(submission, support):
    found = support.check_secrets(support.dockerfile(submission))
    expect(not found, support.report(found, "remove it, rotate the credential, and give it to "
                                            "the container at run time (docker run -e, a "
                                            "Kubernetes Secret) or to one RUN with "
                                            "--mount=type=secret"))


# fails for: remote-fetch
@pytest.mark.requires(PARSES, SERVES)
@pytest.mark.task("final-stage")
@pytest.mark.points(1)
def test_hadolint_finds_no_other_warning(submission, support):
    df = support.dockerfile(submission)
    found = [f for f in support.hadolint_findings(df, levels=("error", "warning"))
             if f.rule not in support.HADOLINT_RULES]
    expect(not found, support.report(found, "fix what hadolint reports; each rule ID is "
                                            f"explained at {support.HADOLINT_WIKI}<rule ID>"))


IGNORE_CASES = [
    pytest.param(case, marks=pytest.mark.task("dockerignore"), id=case)
    for case in ["git", "data", "virtualenvs", "checkpoints"]
]


# fails for: lazy, dockerignore-backtracking
@pytest.mark.points(1)
@pytest.mark.parametrize("case", IGNORE_CASES)
def test_dockerignore(submission, support, case):
    support.dockerignore_text(submission)
    problem = support.check_dockerignore(support.dockerignore_patterns(submission), case)
    expect(problem is None, problem)


# Leaving everything in keeps the app too: this counts once the four cases above pass.
# fails for: ignores-the-app
@pytest.mark.requires("test_dockerignore")
@pytest.mark.task("dockerignore")
@pytest.mark.points(1)
def test_dockerignore_keeps_what_the_image_needs(submission, support):
    support.dockerignore_text(submission)
    problem = support.check_dockerignore(support.dockerignore_patterns(submission), "keeps-app")
    expect(problem is None, problem)


@pytest.fixture(scope="module")
def image(submission, support, exercise_dir, grading_seed):
    """Build and run the image when a Docker engine answers; otherwise skip (never pass).

    The build runs from the grader's process with the network off and only allow-listed base
    images that are already on the machine, so no RUN step fetches or runs remote code.
    """
    why = support.docker_engine()
    if why:
        pytest.skip(f"no Docker engine: {why}, so the image was not built (not counted)")
    df = support.dockerfile(submission)
    refused = support.check_parses(df) + support.check_remote_code(df) + \
        support.check_build_bases(df)
    expect(not refused, "the grader does not build this Dockerfile:\n" +
           support.report(refused, "fix the findings above first"))
    cmd = support.command(df)
    expect(cmd is not None and cmd.port, "cannot tell which port the image listens on: give "
                                         "uvicorn an explicit --port")
    context = {rel: data for rel, data in support.context_files(exercise_dir).items()
               if rel not in (support.DOCKERFILE, support.DOCKERIGNORE)}
    for name in (support.DOCKERFILE, support.DOCKERIGNORE):
        data = support.learner_files(submission)[name]
        if data is not None:
            context[name] = data
    rows = support.fresh_penguins(grading_seed + 2, 8)
    result = support.docker_image(
        exercise_dir, context, cmd.port, [support.HEALTH_REQUEST, support.predict_request(rows)],
        support.docker_host(), support.base_images(df))
    if result.get("environment"):
        pytest.skip(f"the image was not built: {result['environment']} (not counted)")
    return {"result": result, "rows": rows, "model": support.load_model(exercise_dir)}


# The three image checks are optional: worth 0 points, reported where an engine answers, so a
# machine with Docker grades out of the same points as one without (exercise.toml's points).
# Serving is graded by the served-app checks above, on every machine. No fixture fails these
# without an engine; the offline build's command line is tested in
# tests/test_container_parsers.py.
@pytest.mark.task("image")
@pytest.mark.points(0)
def test_image_builds(image):
    result = image["result"]
    log = "\n    ".join(result["log"].strip().splitlines()[-15:])
    expect(result["built"], f"docker build failed: {result['error']}\n    {log}")


@pytest.mark.task("image")
@pytest.mark.points(0)
def test_container_answers_health(image, support):
    result = image["result"]
    expect(result["started"], f"the container did not answer on its port: {result['error']}"
                              f"\n    {result['log'][-1500:]}")
    problem = support.explain_health(result["responses"][0])
    expect(problem is None, problem)


@pytest.mark.task("image")
@pytest.mark.points(0)
def test_container_predicts(image, support):
    result = image["result"]
    expect(result["started"], "the container did not answer on its port")
    problem = support.explain_predictions(result["responses"][1], image["rows"], image["model"],
                                          "8 penguins the grader made up")
    expect(problem is None, problem)
