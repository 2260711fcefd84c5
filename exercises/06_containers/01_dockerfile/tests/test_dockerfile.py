"""Public tests for the dockerfile exercise: hadolint, structure, .dockerignore, and the app served.

The static checks read the Dockerfile as text in the grader's process (hadolint on a private
copy, dockerfile-parse); nothing in it runs there. The functional check lays out the files the
final stage COPYs, starts its CMD inside the worker on a free 127.0.0.1 port and asks /health
and /predict; the answers are compared here with the grader's own predictions.
"""

import pytest

from grader.testing import expect


def _hadolint(rule, task):
    return pytest.param(rule, marks=pytest.mark.task(task), id=rule)


HADOLINT = [
    _hadolint("DL3006", "base-image"),
    _hadolint("DL3007", "base-image"),
    _hadolint("DL3008", "dependencies"),
    _hadolint("DL3013", "dependencies"),
    _hadolint("DL3042", "dependencies"),
    _hadolint("DL3020", "dependencies"),
    _hadolint("DL3002", "non-root"),
    _hadolint("DL3025", "run-command"),
]


@pytest.mark.points(1)
@pytest.mark.parametrize("rule", HADOLINT)
def test_hadolint_rule(submission, support, rule):
    df = support.dockerfile(submission)
    found = support.hadolint_findings(df, rule)
    expect(not found, support.hadolint_message(found, rule))


@pytest.mark.task("base-image")
@pytest.mark.points(1)
def test_base_image_is_a_pinned_slim_python(submission, support):
    found = support.check_base_image(support.dockerfile(submission))
    expect(not found, support.report(found, "FROM python:3.12-slim-bookworm (or another allowed "
                                            "slim tag) in the final stage"))


@pytest.mark.task("dependencies")
@pytest.mark.points(2)
def test_dependencies_installed_before_source_is_copied(submission, support, exercise_dir):
    df = support.dockerfile(submission)
    found = support.check_dependencies_first(df, support.context_files(exercise_dir))
    expect(not found, support.report(found, "COPY requirements.txt on its own, RUN pip install "
                                            "--no-cache-dir -r requirements.txt, and only then "
                                            "COPY app/: Docker reuses the install layer as long "
                                            "as requirements.txt is unchanged"))


@pytest.mark.task("dependencies")
@pytest.mark.points(1)
def test_no_remote_code(submission, support):
    found = support.check_remote_code(support.dockerfile(submission))
    expect(not found, support.report(found, "install Python packages from requirements.txt and "
                                            "COPY local files; the app needs nothing from the "
                                            "network besides PyPI"))


@pytest.mark.task("non-root")
@pytest.mark.points(1)
def test_runs_as_a_non_root_user_that_exists(submission, support):
    found = support.check_user(support.dockerfile(submission))
    expect(not found, support.report(found, "RUN useradd --system --uid 10001 app, then "
                                            "USER 10001 (a numeric id lets Kubernetes verify "
                                            "runAsNonRoot)"))


@pytest.mark.task("run-command")
@pytest.mark.points(1)
def test_command_in_exec_form(submission, support):
    found = support.check_exec_form(support.dockerfile(submission))
    expect(not found, support.report(found, 'CMD ["uvicorn", "app.main:app", "--host", '
                                            '"0.0.0.0", "--port", "8000"]'))


@pytest.mark.task("run-command")
@pytest.mark.points(1)
def test_server_listens_on_all_interfaces(submission, support):
    found = support.check_listen_address(support.dockerfile(submission))
    expect(not found, support.report(found, "pass --host 0.0.0.0 to uvicorn"))


@pytest.mark.task("run-command")
@pytest.mark.points(1)
def test_expose_matches_the_port_the_app_listens_on(submission, support):
    found = support.check_expose(support.dockerfile(submission))
    expect(not found, support.report(found, "EXPOSE the same port you pass to --port"))


@pytest.mark.task("healthcheck")
@pytest.mark.points(1)
def test_healthcheck_asks_the_health_endpoint(submission, support):
    found = support.check_healthcheck(support.dockerfile(submission))
    expect(not found, support.report(found, "HEALTHCHECK CMD [\"python\", \"-c\", \"import "
                                            "urllib.request; urllib.request.urlopen("
                                            "'http://127.0.0.1:8000/health', timeout=2)\"]"))


@pytest.mark.task("final-stage")
@pytest.mark.points(1)
def test_no_build_tools_in_the_final_stage(submission, support):
    found = support.check_build_tools(support.dockerfile(submission))
    expect(not found, support.report(found, "install nothing with apt (FastAPI and uvicorn come "
                                            "as wheels); if you ever must compile, do it in a "
                                            "builder stage and COPY --from the result"))


@pytest.mark.task("final-stage")
@pytest.mark.points(1)
def test_no_secrets_in_env_or_arg(submission, support):
    found = support.check_secrets(support.dockerfile(submission))
    expect(not found, support.report(found, "remove it, rotate the credential, and give it to "
                                            "the container at run time (docker run -e, a "
                                            "Kubernetes Secret) or to one RUN with "
                                            "--mount=type=secret"))


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
    for case in ["git", "data", "virtualenvs", "checkpoints", "keeps-app"]
]


@pytest.mark.points(1)
@pytest.mark.parametrize("case", IGNORE_CASES)
def test_dockerignore(submission, support, case):
    support.dockerignore_text(submission)
    problem = support.check_dockerignore(support.dockerignore_patterns(submission), case)
    expect(problem is None, problem)


@pytest.mark.task("serves")
@pytest.mark.points(1)
def test_health_endpoint_answers(submission, support, exercise_dir, grading_seed):
    run = support.served(submission, exercise_dir, grading_seed)
    problem = support.explain_health(run["answers"]["health"])
    expect(problem is None, problem)


@pytest.mark.task("serves")
@pytest.mark.points(1)
def test_predicts_the_example_request(submission, support, exercise_dir, grading_seed):
    run = support.served(submission, exercise_dir, grading_seed)
    problem = support.explain_predictions(run["answers"]["visible"], run["rows"]["visible"],
                                          run["model"], "data/example_request.json")
    expect(problem is None, problem)


@pytest.mark.task("serves")
@pytest.mark.points(1)
def test_predicts_fresh_penguins(submission, support, exercise_dir, grading_seed):
    run = support.served(submission, exercise_dir, grading_seed)
    problem = support.explain_predictions(run["answers"]["fresh"], run["rows"]["fresh"],
                                          run["model"], "12 penguins the grader made up")
    expect(problem is None, problem)


@pytest.fixture(scope="module")
def image(submission, support, exercise_dir, grading_seed):
    """Build and run the image when a Docker engine answers; otherwise skip (never pass)."""
    why = support.docker_engine()
    if why:
        pytest.skip(f"no Docker engine: {why}, so the image was not built (not counted)")
    df = support.dockerfile(submission)
    remote = support.check_remote_code(df)
    expect(not remote, "the grader does not build a Dockerfile that fetches code at build "
                       "time:\n" + support.report(remote, "see the dependencies task"))
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
        support.docker_host())
    return {"result": result, "rows": rows, "model": support.load_model(exercise_dir)}


@pytest.mark.task("image")
@pytest.mark.points(1)
def test_image_builds(image):
    result = image["result"]
    log = "\n    ".join(result["log"].strip().splitlines()[-15:])
    expect(result["built"], f"docker build failed: {result['error']}\n    {log}")


@pytest.mark.task("image")
@pytest.mark.points(1)
def test_container_answers_health(image, support):
    result = image["result"]
    expect(result["started"], f"the container did not answer on its port: {result['error']}"
                              f"\n    {result['log'][-1500:]}")
    problem = support.explain_health(result["responses"][0])
    expect(problem is None, problem)


@pytest.mark.task("image")
@pytest.mark.points(1)
def test_container_predicts(image, support):
    result = image["result"]
    expect(result["started"], "the container did not answer on its port")
    problem = support.explain_predictions(result["responses"][1], image["rows"], image["model"],
                                          "8 penguins the grader made up")
    expect(problem is None, problem)
