"""Hostile files for the exercises' own checks, graded whole, in every isolation tier.

``tests/test_container_parsers.py``, ``test_communication_parsers.py`` and ``test_cloud_fetch.py``
pin each parser's semantics and caps function by function. Here each hostile file is handed in
as part of an otherwise honest submission and graded the way `grader batch` and `grader grade`
grade it: one judge process per unit, bounded from outside. Each run must show that the hostile
part earns nothing (the score stays at or under what the honest rest earns, and every test of the
attacked task scores 0 with a message), that the unit ended within its bound (the exercise's
``exercise_seconds`` plus ``judge.MARGIN_SECONDS``: the bound, never a tight time), that the
judge's peak resident memory stayed under 2 GB, that the reference, graded next, gets full marks,
and that no process of either unit is left.

Every attack runs in every tier this machine gives (a tier it lacks is skipped, with why).
``scripts/bench_parser_attacks.py`` prints the wall time and the judge's peak RSS of every attack
in every tier.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import POOL_HELPERS, TIERS, cmdline, descendants, probed, processes_mentioning
from fixture_submissions import PATCH, materialise

from grader.engine import judge
from grader.engine.course import Course
from grader.engine.manifest import Exercise
from grader.engine.results import ExerciseResult
from grader.engine.runner import missing_requirements
from grader.sandbox import isolation

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.load(ROOT)
KNOWN_BAD = Path(__file__).parent / "fixtures" / "submissions"
HERE = Path(__file__).parent / "attacks" / "exercises"
SEED = 7
JUDGE_PEAK_KB = 2 * 1024 * 1024  # the judge's resident memory stays under 2 GB
CARD = "MODEL_CARD.md"


def _blank_lines_under_the_summary(count: int) -> Callable[[Path], None]:
    """An edit that puts ``count`` blank lines under the model card's Summary heading."""
    def edit(folder: Path) -> None:
        card = folder / CARD
        text = card.read_text()
        assert "## Summary\n" in text
        card.write_text(text.replace("## Summary\n", "## Summary\n" + "\n" * count, 1))
    return edit


def _to_the_cap(folder: Path) -> None:
    """As many blank lines under the Summary as the 64 KB card cap leaves room for."""
    room = 64 * 1024 - len((folder / CARD).read_bytes()) - 16
    _blank_lines_under_the_summary(room)(folder)


def _quarter_million_digit_cpu_limit(folder: Path) -> None:
    """The container's cpu limit becomes a quoted number of 250,000 digits."""
    manifest = folder / "manifests" / "deployment.yaml"
    text = manifest.read_text()
    assert text.count("cpu: 500m") == 1
    manifest.write_text(text.replace("cpu: 500m", f'cpu: "{"9" * 250_000}"'))


@dataclass(frozen=True)
class ParserAttack:
    """One hostile file in an otherwise honest submission of one exercise."""

    exercise: str
    source: Path  # a folder with a reference.patch (or none: ``edit`` does all of it)
    honest: float  # the most it may score: what its honest parts earn
    hostile: tuple[str, ...]  # the tests it aims at (every case): each must score 0
    tries: str  # what the hostile part does (the bench and README say the same)
    edit: Callable[[Path], None] | None = None  # applied to the exercise folder after the patch
    says: str = ""  # a text at least one hostile test's message must contain ...
    # ... or this one, where the tier stops the attack before the parser sees it (tier B's
    # Landlock lets a "services" worker connect to its emulator but bind no port to serve from)
    or_blocked: str = ""


PRESIGN = ("test_presigned_link_downloads_the_artifact", "test_presigned_link_is_sigv4_and_expires")
ATTACKS: dict[str, ParserAttack] = {
    "dockerignore-backtracking": ParserAttack(
        "dockerfile", KNOWN_BAD / "dockerfile" / "dockerignore-backtracking", 33,
        ("test_dockerignore[checkpoints]",),
        "a .dockerignore line of ** x14 then !: hours of backtracking"),
    "env-doubling": ParserAttack(
        "dockerfile", KNOWN_BAD / "dockerfile" / "env-bomb", 5, ("test_dockerfile_parses",),
        "41 Dockerfile ENV lines that each double a variable", says="variable-size"),
    "quarter-million-digit-quantity": ParserAttack(
        "kubernetes", HERE / "kubernetes" / "quarter-million-digit-quantity", 12,
        ("test_schema[deployment]",), "a cpu: limit of 250,000 digits: ~85 min per quantity check",
        edit=_quarter_million_digit_cpu_limit, says="up to 4096"),
    "configmap-alias-bomb": ParserAttack(
        "kubernetes", KNOWN_BAD / "kubernetes" / "yaml-bomb", 32,
        ("test_configmap_optional_but_valid_and_used",),
        "a ConfigMap with YAML aliases that expand to 10**9 strings", says="aliases"),
    "card-blank-line-flood": ParserAttack(
        "model-card", HERE / "model-card" / "card-blank-line-flood", 0,
        ("test_required_headings_present", "test_overall_metrics_reported",
         "test_quoted_metrics_match_evaluation", "test_worst_slice_named_under_limitations",
         "test_summary_length"),
        "255,000 blank lines under the card's Summary heading: minutes per code-fence regex",
        edit=_blank_lines_under_the_summary(255_000), says="at most 64 KB"),
    "card-blank-lines-at-the-cap": ParserAttack(
        "model-card", HERE / "model-card" / "card-blank-lines-at-the-cap", 12, (),
        "as many blank lines under the Summary as the 64 KB cap allows (parsed, not refused)",
        edit=_to_the_cap),
    "diagnosis-alias-bomb": ParserAttack(
        "debug-the-pipeline", HERE / "debug-the-pipeline" / "diagnosis-alias-bomb", 15,
        ("test_diagnosis_well_formed", "test_diagnosis_names_the_bug"),
        "every evidence in diagnosis.yaml a YAML alias bomb of 10**9 strings",
        says="evidence has 0 words"),
    "presign-slow-drip": ParserAttack(
        "s3-model-registry", KNOWN_BAD / "s3-model-registry" / "link-to-own-server", 36, PRESIGN,
        "a presigned link to a server in the worker that drips a byte every 3 s",
        says="not at the emulator", or_blocked="PermissionError"),
    "presign-file-url": ParserAttack(
        "s3-model-registry", HERE / "s3-model-registry" / "presign-file-url", 36, PRESIGN,
        "a file:// link to a copy of the artifact", says="'file:'"),
    "presign-other-port": ParserAttack(
        "s3-model-registry", HERE / "s3-model-registry" / "presign-other-port", 36, PRESIGN,
        "a link to the right bytes, served by the worker on another port",
        says="not at the emulator", or_blocked="PermissionError"),
    "presign-redirect": ParserAttack(
        "s3-model-registry", HERE / "s3-model-registry" / "presign-redirect", 36, PRESIGN,
        "a link to a server in the worker that redirects to the real presigned link",
        says="not at the emulator", or_blocked="PermissionError"),
    "moto-admin-api": ParserAttack(
        "deploy-and-monitor", KNOWN_BAD / "deploy-and-monitor" / "admin-api-cover-up", 25,
        ("test_deploy_model_refuses_a_bad_request", "test_deploy_model_refuses_more_bad_requests"),
        "reset and read the emulator through moto's /moto-api/ to hide a bad "
        "deploy", says="created resources before refusing"),
}
def cases() -> list[tuple[str, str]]:
    """(attack, tier): every attack in every tier."""
    return [(name, tier) for tier in TIERS for name in ATTACKS]


def submission(name: str, scratch: Path) -> tuple[Exercise, Path]:
    """The attack's exercise and the submission root that holds the hostile file."""
    attack = ATTACKS[name]
    ex = COURSE.get(attack.exercise)
    if (attack.source / PATCH).is_file():
        root = materialise(COURSE, ex, attack.source, scratch)
    else:
        root = scratch / name
        (root / ex.rel).mkdir(parents=True)
        for rel in ex.files:
            source = COURSE.solution_dir(ex) / rel
            if source.is_file():
                (root / ex.rel / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, root / ex.rel / rel)
    if attack.edit is not None:
        attack.edit(root / ex.rel)
    return ex, root


def judge_context() -> multiprocessing.context.BaseContext:
    """How the judges here start: ``fork`` (they inherit the tier this test chose), else
    ``spawn`` (a fresh process reads the tier from ``GRADER_ISOLATION``); never a fork server,
    which would keep the tier of whichever test started it."""
    ctx = judge.context()
    return ctx if ctx.get_start_method() == "fork" else multiprocessing.get_context("spawn")


@dataclass
class Graded:
    """One unit graded in its own judge: the result, the wall time seen from outside, the peak."""

    result: ExerciseResult
    wall: float
    peak_rss_kb: int


def grade_in_a_judge(ex: Exercise, root: Path) -> Graded:
    """Grade one unit the way `grader batch` does: a judge process bounded from outside."""
    start = time.monotonic()
    outcome = judge.Judge(judge_context(), COURSE.root, ex, root, SEED).wait()
    wall = time.monotonic() - start
    assert outcome.result is not None, f"the engine failed: {outcome.error}"
    return Graded(outcome.result, wall, outcome.peak_rss_kb)


def leftovers(scratch: Path, grace: float = 5.0) -> list[int]:
    """Processes a unit left: below this one (but the multiprocessing helpers kept for reuse),
    or naming the scratch folder (worker folders, the emulator's home) anywhere on the machine.
    A process killed a moment ago gets ``grace`` seconds to finish exiting."""
    stop = time.monotonic() + grace
    while True:
        below = [p for p in descendants(os.getpid())
                 if not any(helper in cmdline(p) for helper in POOL_HELPERS)]
        found = sorted(set(below) | set(processes_mentioning(f"{scratch}{os.sep}")))
        if not found or time.monotonic() > stop:
            return found
        time.sleep(0.1)


def summary(result: ExerciseResult) -> list[tuple[str, str, float, str]]:
    return [(t.name, t.status, t.score, t.message[:160]) for t in result.tests]


def _aims(test: str, hostile: tuple[str, ...]) -> bool:
    """Whether ``test`` (``name[case]``) is one the attack aims at: its name, or that case."""
    return test in hostile or test.split("[")[0] in hostile


def check_attack(name: str, graded: Graded, ex: Exercise) -> None:
    """Everything an attack's unit must show, whatever the tier."""
    attack, result = ATTACKS[name], graded.result
    lost = summary(result)
    assert not any(t.name == judge.STOPPED for t in result.tests), lost
    assert graded.wall < judge.deadline(ex), f"{name} took {graded.wall:.1f} s"
    assert graded.peak_rss_kb < JUDGE_PEAK_KB, f"the judge peaked at {graded.peak_rss_kb} KB"
    assert result.score <= attack.honest, (result.score, lost)
    aimed = [t for t in result.tests if _aims(t.name, attack.hostile)]
    for test in attack.hostile:
        assert any(_aims(t.name, (test,)) for t in aimed), f"{test} did not run: {lost}"
    assert all(t.score == 0 and t.message for t in aimed), lost
    if attack.says:
        said = [attack.says, attack.or_blocked] if attack.or_blocked else [attack.says]
        assert any(text in t.message for t in aimed for text in said), lost


@pytest.fixture
def in_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Switch this test (and the judges it starts) to the tier in its id; skip a missing one."""
    name = request.node.callspec.params["tier"]
    found = probed(name)
    if isinstance(found, str):
        pytest.skip(found)
    monkeypatch.setattr(isolation, "_current", found)
    monkeypatch.setenv(isolation.ENV_VAR, found.name)
    return str(name)


@pytest.mark.parametrize(("name", "tier"), cases(), ids=[f"{t}-{n}" for n, t in cases()])
def test_parser_attack_is_bounded_in_every_tier(name: str, tier: str, in_tier: str,
                                                tmp_path: Path, worker_tmp: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert isolation.current().name == tier  # what the judges, forked from here, will use
    monkeypatch.setenv("TMPDIR", str(worker_tmp))  # and a spawned judge's workers
    ex, root = submission(name, tmp_path)
    missing = missing_requirements(ex)
    if missing:
        pytest.skip(f"{ex.id} needs {', '.join(missing)}, which this machine lacks")
    try:
        check_attack(name, grade_in_a_judge(ex, root), ex)
        healthy = grade_in_a_judge(ex, COURSE.root / "solutions")
        assert healthy.result.score == healthy.result.max_score == ex.points, \
            summary(healthy.result)
    finally:
        left = leftovers(tmp_path)
    assert not left, [cmdline(p) for p in left]


def test_every_attack_has_a_fixture_and_a_tier() -> None:
    """Each attack's source exists, and each runs in at least the default tier."""
    for name, attack in ATTACKS.items():
        assert (attack.source / PATCH).is_file() or attack.edit is not None, name
        assert attack.hostile or attack.honest == COURSE.get(attack.exercise).points, name
    for tier in TIERS:
        assert {n for n, t in cases() if t == tier} == set(ATTACKS)
