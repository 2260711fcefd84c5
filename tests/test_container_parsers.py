"""The containers exercises' judges on hostile input: bounded, linear, and still Docker's rules.

Each hostile input runs in a child process with a generous hard timeout (a hang fails the
test instead of stalling the suite); nothing here measures time. The semantic tables pin the
judges to what Docker and Kubernetes do: moby's patternmatcher for .dockerignore, the API
server's grammar and the official client's arithmetic for quantities.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE_DIR = ROOT / "exercises" / "06_containers" / "01_dockerfile"
KUBERNETES_DIR = ROOT / "exercises" / "06_containers" / "02_kubernetes"
REFERENCE_DOCKERFILE = ROOT / "solutions" / "06_containers" / "01_dockerfile" / "Dockerfile"
HARD_TIMEOUT = 120  # seconds: far above what a bounded judge needs, far below "hours"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def docker() -> Any:
    return _load(DOCKERFILE_DIR / "tests" / "support.py", "containers_dockerfile_support")


@pytest.fixture(scope="module")
def harness() -> Any:
    return _load(DOCKERFILE_DIR / "tests" / "harness.py", "containers_dockerfile_harness")


@pytest.fixture(scope="module")
def kube() -> Any:
    return _load(KUBERNETES_DIR / "tests" / "support.py", "containers_kubernetes_support")


def _run_bounded(which: str, body: str) -> dict[str, Any]:
    """Run ``body`` against one support module in a child process; its JSON result."""
    folder = {"docker": DOCKERFILE_DIR, "kube": KUBERNETES_DIR}[which]
    script = textwrap.dedent(f"""
        import importlib.util, json, sys
        sys.path.insert(0, {str(ROOT)!r})
        spec = importlib.util.spec_from_file_location("s", {str(folder / "tests" / "support.py")!r})
        s = importlib.util.module_from_spec(spec)
        sys.modules["s"] = s
        spec.loader.exec_module(s)
        out = {{}}
    """) + textwrap.dedent(body) + "\nprint(json.dumps(out))\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=HARD_TIMEOUT, check=False,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- hostile inputs, each graded within the hard timeout --------------------------------------

def test_backtracking_dockerignore_pattern_is_matched_in_bounded_time() -> None:
    out = _run_bounded("docker", """
        from pathlib import Path
        pattern = "**" * 14 + "!"
        patterns = s.parse_dockerignore(pattern + "\\n!" + pattern + "\\n")
        paths = ["a/" * 60 + "x", "app/main.py", ".git/objects/pack/pack-1.pack", "b" * 200]
        out["ignored"] = [s.ignored(p, patterns) for p in paths]
        out["cases"] = {c: s.check_dockerignore(patterns, c) for c in s.IGNORE_CASES}
    """)
    assert out["ignored"] == [False, False, False, False]  # nothing ends in "!"
    assert out["cases"]["keeps-app"] is None
    assert "does not leave out" in out["cases"]["git"]


def test_largest_dockerignore_within_the_caps_is_matched_in_bounded_time() -> None:
    out = _run_bounded("docker", """
        from pathlib import Path
        line = ("*a" * 200)[: s.MAX_PATTERN_CHARS - 1] + "!"
        text = "\\n".join(line for _ in range(s.MAX_IGNORE_PATTERNS))
        assert len(text.encode()) <= 64 * 1024
        patterns = s.parse_dockerignore(text)
        context = s.context_files(Path({dir!r}))
        out["kept"] = sorted(r for r in context if not s.ignored(r, patterns))
        out["cases"] = [s.check_dockerignore(patterns, c) for c in s.IGNORE_CASES]
    """.replace("{dir!r}", repr(str(DOCKERFILE_DIR))))
    assert "app/main.py" in out["kept"]


def test_too_many_or_too_long_dockerignore_patterns_get_a_message(docker: Any) -> None:
    with pytest.raises(docker.Feedback, match="dockerignore-size"):
        docker.parse_dockerignore("x\n" * (docker.MAX_IGNORE_PATTERNS + 1))
    with pytest.raises(docker.Feedback, match="dockerignore-size"):
        docker.parse_dockerignore("a" * (docker.MAX_PATTERN_CHARS + 1))


def test_env_line_that_doubles_a_variable_stops_at_the_cap() -> None:
    out = _run_bounded("docker", """
        text = "FROM python:3.12-slim\\nENV A=0123456789abcdef\\n" + "ENV A=$A$A\\n" * 60
        try:
            s.parse(text)
            out["message"] = None
        except s.Feedback as exc:
            out["message"] = str(exc)
    """)
    assert out["message"] is not None and "[variable-size]" in out["message"]


def test_nested_unclosed_expansions_are_read_once() -> None:
    out = _run_bounded("docker", """
        text = "${a:-" * 600
        out["value"] = s.expand(text, {})
    """)
    assert out["value"].startswith("${a:-")


def test_largest_dockerfile_within_the_caps_is_checked_in_bounded_time() -> None:
    out = _run_bounded("docker", """
        bait = ("curl apt-get -y -y -y " * 400)[: s.MAX_INSTRUCTION_CHARS - 10]
        body = "".join("RUN " + bait + "\\n" for _ in range(14))
        text = "FROM python:3.12-slim-bookworm\\n" + body + 'CMD ["uvicorn", "app.main:app"]\\n'
        assert len(text.encode()) <= s.MAX_BYTES[s.DOCKERFILE]
        df = s.parse(text)
        found = (s.check_remote_code(df) + s.check_build_tools(df) + s.check_secrets(df)
                 + s.check_user(df) + s.check_listen_address(df) + s.check_expose(df)
                 + s.check_healthcheck(df) + s.check_dependencies_first(df, {}))
        out["rules"] = sorted({f.rule for f in found})
    """)
    assert "bind-all-interfaces" in out["rules"]


def test_an_instruction_over_the_cap_is_refused_with_a_message(docker: Any) -> None:
    text = "FROM python:3.12-slim\nRUN echo " + "x" * docker.MAX_INSTRUCTION_CHARS + "\n"
    with pytest.raises(docker.Feedback, match=r"\[file-size\] line 2"):
        docker.parse(text)


def test_a_quarter_million_digit_quantity_is_refused_at_once() -> None:
    out = _run_bounded("kube", """
        digits = "9" * 250_000
        out["plain"] = str(s.quantity(digits))
        out["suffixed"] = str(s.quantity(digits + "m"))
        out["bad"] = str(s.quantity(digits + "x"))
        out["problem"] = s.quantity_problem(digits)
        manifest = ("apiVersion: apps/v1\\nkind: Deployment\\nmetadata: {name: a}\\nspec:\\n"
                    "  template:\\n    spec:\\n      containers:\\n        - name: a\\n"
                    "          resources: {limits: {cpu: " + digits + "}}\\n")
        found = s.parse_manifest("manifests/deployment.yaml", manifest)
        out["docs"] = len(found.docs)
        out["manifest"] = [str(p) for p in found.problems]
    """)
    assert out["plain"] == out["suffixed"] == out["bad"] == "None"
    assert "250000-character value" in out["problem"]
    assert out["docs"] == 0 and "4096" in out["manifest"][0]


# -- the judges keep Docker's and Kubernetes' semantics ---------------------------------------

# (pattern lines, path, ignored?) as moby/patternmatcher's MatchesOrParentMatches decides.
DOCKERIGNORE_CASES = [
    ([".git"], ".git/HEAD", True),
    ([".git"], "sub/.git/HEAD", False),
    (["**/.git"], "sub/.git/HEAD", True),
    (["**/.git"], ".git/HEAD", True),
    (["*.md"], "README.md", True),
    (["*.md"], "docs/README.md", False),
    (["**/*.md"], "docs/README.md", True),
    (["data/"], "data/raw/x.csv", True),
    (["/data"], "data/x.csv", True),
    (["data/**"], "data/x.csv", True),
    (["a/**/b"], "a/b", True),
    (["a/**/b"], "a/x/y/b", True),
    (["a**b"], "axb", False),  # ** not followed by / still means "any folders"
    (["a**b"], "a/x/b", True),
    (["**foo"], "xfoo", True),  # moby's suffix match
    (["d?ta"], "data/x", True),
    (["[a-c]pp"], "app/main.py", True),
    (["[^a-c]pp"], "app/main.py", False),
    (["app\\*"], "app*", True),
    (["*", "!app"], "app/main.py", False),
    (["*", "!app", "app/main.py"], "app/main.py", True),
    (["*", "!app", "**/.ipynb_checkpoints"], "app/.ipynb_checkpoints/x", True),
    (["# a comment"], "# a comment", False),
    ([" # not a comment"], "# not a comment", True),
    (["./venv/../.venv"], ".venv/bin/python", True),
    (["[z-a]"], "b", False),  # Docker refuses the pattern; it ignores nothing here
]


@pytest.mark.parametrize(("lines", "path", "expected"), DOCKERIGNORE_CASES,
                         ids=[f"{'|'.join(c[0])}->{c[1]}" for c in DOCKERIGNORE_CASES])
def test_dockerignore_follows_mobys_patternmatcher(docker: Any, lines: list[str], path: str,
                                                   expected: bool) -> None:
    patterns = docker.parse_dockerignore("\n".join(lines))
    assert docker.ignored(path, patterns) is expected


# value -> what kubernetes.utils.quantity.parse_quantity returns (None: the API server refuses)
QUANTITIES = [
    ("100m", Decimal("0.1")), ("0.5", Decimal("0.5")), ("256Mi", Decimal(256 * 2**20)),
    ("1Gi", Decimal(2**30)), ("2k", Decimal(2000)), ("1e3", Decimal(1000)),
    ("1.5E-2", Decimal("0.015")), ("+.5", Decimal("0.5")), (2, Decimal(2)),
    (0.25, Decimal("0.25")), ("1K", None), ("1ki", None), ("Infinity", None), ("NaN", None),
    ("", None), ("1 ", None), (True, None), (None, None), (float("inf"), None),
]


@pytest.mark.parametrize(("value", "expected"), QUANTITIES, ids=[repr(q[0]) for q in QUANTITIES])
def test_quantities_parse_like_the_official_client(kube: Any, value: Any,
                                                   expected: Decimal | None) -> None:
    assert kube.quantity(value) == expected


def test_a_warm_up_replaced_by_another_object_fails(kube: Any) -> None:
    swapped = kube.parse_manifest("warmup/03-selector.yaml",
                                  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    findings = kube.check_warmup(swapped, "warmup-selector")
    assert [f.rule for f in findings] == ["warmup-same-object"]


# -- the command the image runs, and how a real image would be built -----------------------------

PROGRAMS = [
    (["uvicorn", "app.main:app"], "uvicorn"),
    (["python", "-m", "uvicorn", "app.main:app"], "uvicorn"),
    (["python3.12", "-u", "-m", "uvicorn", "app.main:app"], "uvicorn"),
    (["/opt/venv/bin/gunicorn", "app.main:app"], "gunicorn"),
    (["python", "app/main.py"], "python-app"),
    (["python", "-m", "app.main"], "python-app"),
    (["python", "-c", "import uvicorn; uvicorn.run('app.main:app')"], "python-inline"),
    (["python", "-cimport os"], "python-inline"),
    (["python", "-m", "http.server"], "python-other"),
    (["python", "serve.py"], "python-other"),
    (["sh", "-c", "uvicorn app.main:app"], "sh"),
]


@pytest.mark.parametrize(("argv", "program"), PROGRAMS, ids=[" ".join(p[0]) for p in PROGRAMS])
def test_the_program_a_command_starts(docker: Any, argv: list[str], program: str) -> None:
    assert docker.program_of(argv)[0] == program


def test_inline_python_is_neither_bound_nor_exposed_nor_served(docker: Any) -> None:
    text = REFERENCE_DOCKERFILE.read_text().replace(
        'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]',
        'CMD ["python", "-c", "import uvicorn; uvicorn.run(\'app.main:app\', port=8000)"]')
    df = docker.parse(text)
    assert docker.check_listen_address(df) and docker.check_expose(df)
    plan = docker.run_plan(df, docker.context_files(DOCKERFILE_DIR), [])
    assert [p.rule for p in plan.problems] == ["run-command"] and not plan.argv


def test_no_user_line_runs_as_root(docker: Any) -> None:
    df = docker.parse(REFERENCE_DOCKERFILE.read_text().replace("USER 10001:10001\n", ""))
    assert docker.effective_user(df) == ("root", 0)
    assert [f.rule for f in docker.check_user(df)] == ["CKV_DOCKER_3"]


def test_a_parse_error_is_a_failed_lint(docker: Any) -> None:
    df = docker.parse(REFERENCE_DOCKERFILE.read_text() + "ONBUILD\n")
    assert {f.rule for f in docker.check_parses(df)} == {"DL1000"}


def test_build_command_has_no_network_and_never_pulls(harness: Any) -> None:
    argv = harness.docker_build_argv("/usr/bin/docker", "lab:1", "/tmp/ctx")
    assert argv[:2] == ["/usr/bin/docker", "build"]
    assert "--network=none" in argv and "--pull=false" in argv
    assert argv[-1] == "/tmp/ctx" and "lab:1" in argv
    run = harness.docker_run_argv("/usr/bin/docker", "lab-1", "lab:1", 40000, 8000)
    assert "127.0.0.1:40000:8000" in run and "ALL" in run


FAKE_DOCKER = """#!/bin/sh
echo "$@" >> "{log}"
case "$1 $2" in
  "image inspect") [ "$5" = "python:3.12-slim-bookworm" ] && exit 0; exit 1 ;;
  "build "*) echo "{build_says}" >&2; exit 1 ;;
esac
exit 0
"""


def _fake_docker(tmp_path: Path, build_says: str = "unknown instruction: FORM") -> tuple[Path,
                                                                                          Path]:
    """A ``docker`` that logs its arguments, knows one image and fails every build."""
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "docker"
    exe.write_text(FAKE_DOCKER.format(log=log, build_says=build_says))
    exe.chmod(0o755)
    return bin_dir, log


def test_a_base_image_not_on_the_machine_is_never_pulled(harness: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, log = _fake_docker(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = harness.docker_image({"Dockerfile": "FROM python:3.11-slim\n"}, 8000, [], None,
                                  ["python:3.11-slim"])
    calls = log.read_text().splitlines()
    assert not result["built"] and "never pulls" in result["environment"]
    assert not any(c.startswith(("build", "pull")) for c in calls), calls


def test_an_allowed_present_base_is_built_offline(harness: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, log = _fake_docker(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = harness.docker_image({"Dockerfile": "FROM python:3.12-slim-bookworm\n"}, 8000, [],
                                  None, ["python:3.12-slim-bookworm"])
    builds = [c for c in log.read_text().splitlines() if c.startswith("build")]
    assert len(builds) == 1 and "--network=none --pull=false" in builds[0]
    assert not result["built"] and "exited with 1" in result["error"]
    assert not result.get("environment")  # the Dockerfile's own fault: reported, not skipped


def test_a_build_that_needed_the_network_is_the_machines_fault(
        harness: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, _ = _fake_docker(tmp_path, "ERROR: No matching distribution found for fastapi")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = harness.docker_image({"Dockerfile": "FROM python:3.12-slim-bookworm\n"}, 8000, [],
                                  None, ["python:3.12-slim-bookworm"])
    assert not result["built"] and "needed the network" in result["environment"]


class _BigFiles:
    """A submission proxy whose files are all over the grader's cap (as the sandbox says)."""

    class harness:  # the proxy's ``harness`` attribute
        @staticmethod
        def ready() -> bool:
            return True

    def __init__(self, crashed: type[Exception]) -> None:
        self.crashed = crashed

    def read_file(self, rel: str, max_bytes: int) -> bytes:
        raise self.crashed(f"{rel} is larger than {max_bytes} bytes")


def test_an_oversized_dockerfile_is_never_read(docker: Any) -> None:
    docker._FILES.clear()
    try:
        submission = _BigFiles(docker.SubmissionCrashed)
        with pytest.raises(docker.Feedback, match=r"\[file-size\] Dockerfile is larger than 64"):
            docker.dockerfile(submission)
        with pytest.raises(docker.Feedback, match=r"\[file-size\] \.dockerignore is larger"):
            docker.dockerignore_patterns(submission)
    finally:
        docker._FILES.clear()


def test_an_oversized_manifest_is_never_read(kube: Any) -> None:
    kube._FILES.clear()
    try:
        with pytest.raises(kube.Feedback, match=r"\[file-size\] manifests/deployment.yaml"):
            kube.manifest(_BigFiles(kube.SubmissionCrashed), "manifests/deployment.yaml")
    finally:
        kube._FILES.clear()
