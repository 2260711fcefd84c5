"""The reference cache: course-only values computed once per exercise and seed, kept safely.

Unit tests of :mod:`grader.engine.reference_cache` (hits, misses, invalidation, corrupt and
torn entries, no pickle, atomic writes, caps, the folder's permissions), then gradings of a
copy of the fixture course whose hidden test takes its expected values through the cache and
counts, in a file beside the course, how often it computed them.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import pickle
import shutil
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from grader.engine import reference_cache as rc
from grader.engine.course import Course
from grader.engine.runner import grade

FIXTURE = Path(__file__).parent / "fixtures" / "course"
REL = "01_programming/01_tiny-stats"


def _cache(folder: Path, scope: str = "scope-1", **caps: int) -> rc.ReferenceCache:
    return rc.ReferenceCache(rc.prepare(folder), scope, **caps)


class Counter:
    """A compute function that says how often it ran."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


VALUE = {"embeddings": np.arange(12, dtype=np.float32).reshape(3, 4), "labels": [0, 1, 1],
         "pair": (np.float64(0.25), "text"), "nested": {"n": 3, "none": None}}


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{rc.SUFFIX}"))


def test_a_value_is_computed_once_and_reads_back_the_same(tmp_path: Path) -> None:
    compute = Counter(VALUE)
    cold = _cache(tmp_path / "c").get_or_compute({"seed": 3}, compute)
    warm_cache = _cache(tmp_path / "c")  # another grading: a fresh object, the same folder
    warm = warm_cache.get_or_compute({"seed": 3}, compute)
    assert compute.calls == 1 and warm_cache.stats.hits == 1
    assert _same(cold, warm)
    assert type(cold["pair"][0]) is float  # as it reads back from disk, cold or warm
    assert len(_entries(tmp_path / "c")) == 1


def test_another_key_or_scope_or_file_content_misses(tmp_path: Path) -> None:
    compute = Counter([1, 2])
    data = tmp_path / "shared.csv"
    data.write_text("a\n1\n")
    cache = _cache(tmp_path / "c")
    cache.get_or_compute({"seed": 3}, compute, files=[data])
    cache.get_or_compute({"seed": 3}, compute, files=[data])
    assert compute.calls == 1
    cache.get_or_compute({"seed": 4}, compute, files=[data])  # another seed
    assert compute.calls == 2
    _cache(tmp_path / "c", scope="scope-2").get_or_compute({"seed": 3}, compute, files=[data])
    assert compute.calls == 3  # another course version, engine or environment
    data.write_text("a\n2\n")
    cache.get_or_compute({"seed": 3}, compute, files=[data])
    assert compute.calls == 4  # the shared data changed


def test_a_changed_course_file_changes_the_scope(tmp_path: Path) -> None:
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    course = Course.load(root)
    ex = course.get("tiny-stats")
    before = rc.ReferenceCache.for_exercise(course, ex, tmp_path / "c").scope
    assert rc.ReferenceCache.for_exercise(course, ex, tmp_path / "c").scope == before
    support = root / "exercises" / REL / "tests" / "support.py"
    support.write_text(support.read_text() + "\n# a new comment\n")
    assert rc.ReferenceCache.for_exercise(course, ex, tmp_path / "c").scope != before
    hidden = root / "solutions" / REL / "tests" / "test_hidden.py"
    support.write_text(support.read_text().replace("\n# a new comment\n", ""))
    hidden.write_text(hidden.read_text() + "\n")
    assert rc.ReferenceCache.for_exercise(course, ex, tmp_path / "c").scope != before
    # the learner's own files are not the course's: editing them keeps the cache
    hidden.write_text(hidden.read_text()[:-1])
    (root / "exercises" / REL / "stats.py").write_text("def mean(values):\n    return 0\n")
    assert rc.ReferenceCache.for_exercise(course, ex, tmp_path / "c").scope == before


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "torn-sizes", "other-key",
                                    "bad-array", "deep-json"])
def test_a_damaged_entry_is_recomputed(tmp_path: Path, damage: str) -> None:
    compute = Counter(VALUE)
    _cache(tmp_path / "c").get_or_compute("k", compute)
    (entry,) = _entries(tmp_path / "c")
    data = entry.read_bytes()
    header_end = data.index(b"\n", len(rc.MAGIC))
    header = json.loads(data[len(rc.MAGIC):header_end])
    if damage == "garbage":
        data = os.urandom(len(data))
    elif damage == "empty":
        data = b""
    elif damage == "truncated":
        data = data[:-7]
    elif damage == "torn-sizes":
        header["blobs"][0] += 1
        data = rc.MAGIC + json.dumps(header).encode() + data[header_end:]
    elif damage == "other-key":
        header["key"] = rc.canonical_key({"key": "other", "files": []})
        data = rc.MAGIC + json.dumps(header).encode() + data[header_end:]
    elif damage == "bad-array":
        assert data[header_end + 1:header_end + 7] == b"\x93NUMPY"
        data = data[:header_end + 1] + b"\x93NUMPX" + data[header_end + 7:]
    else:
        data = rc.MAGIC + b"[" * 100_000 + b"\n"
    entry.write_bytes(data)
    again = _cache(tmp_path / "c")
    assert _same(again.get_or_compute("k", compute), _cache(tmp_path / "c").get_or_compute(
        "k", compute))
    assert compute.calls == 2 and again.stats.unreadable >= 1
    assert _same(again.get_or_compute("k", compute), VALUE | {"pair": (0.25, "text")})


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch PWNED",))


def test_an_entry_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry whose array is an object array (a pickle inside .npy), or a pickle outright,
    is not loaded: nothing runs, the value is recomputed."""
    monkeypatch.chdir(tmp_path)
    compute = Counter({"a": np.zeros(3)})
    _cache(tmp_path / "c").get_or_compute("k", compute)
    (entry,) = _entries(tmp_path / "c")
    data = entry.read_bytes()
    header_end = data.index(b"\n", len(rc.MAGIC))
    header = json.loads(data[len(rc.MAGIC):header_end])
    sneaky = io.BytesIO()
    np.save(sneaky, np.array([_Payload()], dtype=object), allow_pickle=True)
    header["blobs"] = [len(sneaky.getvalue())]
    entry.write_bytes(rc.MAGIC + json.dumps(header).encode() + b"\n" + sneaky.getvalue())
    again = _cache(tmp_path / "c")
    again.get_or_compute("k", compute)
    entry.write_bytes(pickle.dumps(_Payload()))
    again.get_or_compute("k", compute)
    assert compute.calls == 3 and again.stats.unreadable >= 2
    assert not (tmp_path / "PWNED").exists()


def test_values_and_keys_must_be_plain(tmp_path: Path) -> None:
    cache = _cache(tmp_path / "c")
    with pytest.raises(TypeError, match="plain data"):
        cache.get_or_compute("k", lambda: object())
    with pytest.raises(TypeError, match="JSON"):
        cache.get_or_compute({"model": object()}, lambda: 1)
    assert not _entries(tmp_path / "c")


def test_a_failed_write_leaves_no_entry_and_no_temporary(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _cache(tmp_path / "c")

    def refuse(src: str, dst: str) -> None:
        assert Path(src).read_bytes().startswith(rc.MAGIC)  # written whole before the rename
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    assert cache.get_or_compute("k", lambda: [1, 2]) == [1, 2]
    assert not _entries(tmp_path / "c") and not list((tmp_path / "c").glob(".tmp-*"))


def test_temporaries_of_a_killed_judge_are_swept(tmp_path: Path) -> None:
    folder = rc.prepare(tmp_path / "c")
    old, new = folder / ".tmp-old.ref", folder / ".tmp-new.ref"
    old.write_bytes(b"half")
    new.write_bytes(b"being written")
    past = time.time() - 2 * rc.STALE_TEMP_SECONDS
    os.utime(old, (past, past))
    rc.prepare(folder)
    assert not old.exists() and new.exists()


def test_caps_per_entry_and_per_folder(tmp_path: Path) -> None:
    cache = _cache(tmp_path / "c", max_entry_bytes=4096, max_folder_bytes=7000)
    big = np.zeros(2048, dtype=np.float64)  # 16 KB
    assert np.array_equal(cache.get_or_compute("big", lambda: big), big)
    assert cache.stats.too_large == 1 and not _entries(tmp_path / "c")
    seen: set[Path] = set()
    for i in range(5):  # about 1.8 KB each: the least recently used go past 7,000 bytes
        cache.get_or_compute(i, lambda: np.zeros(200))
        for path in set(_entries(tmp_path / "c")) - seen:
            past = time.time() - 100 + i  # older than any entry written later
            os.utime(path, (past, past))
            seen.add(path)
    assert sum(p.stat().st_size for p in _entries(tmp_path / "c")) <= 7000
    compute = Counter(np.zeros(200))
    cache.get_or_compute(4, compute)  # the newest stayed
    cache.get_or_compute(0, compute)  # the oldest went
    assert compute.calls == 1
    (tmp_path / "c" / "huge.ref").write_bytes(b"x" * 5000)  # over the cap: never read
    assert cache._load(tmp_path / "c" / "huge.ref", "k") is None


def test_the_folder_is_the_graders_alone(tmp_path: Path) -> None:
    folder = rc.prepare(tmp_path / "class" / ".reference-cache")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    os.chmod(folder, 0o777)
    rc.prepare(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    _cache(folder).get_or_compute("k", lambda: 1)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(rc.CacheUnusable, match="link"):
        rc.prepare(link)
    course = Course.load(FIXTURE)
    refused = rc.ReferenceCache.for_exercise(course, course.get("tiny-stats"), link)
    assert refused.folder is None and "link" in refused.problem
    assert refused.get_or_compute("k", lambda: 5) == 5  # computes, keeps nothing


def test_off_and_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(rc.CACHE_VAR, raising=False)
    assert rc.configured_folder(tmp_path) == tmp_path
    monkeypatch.setenv(rc.CACHE_VAR, "off")
    assert rc.configured_folder(tmp_path) is None
    monkeypatch.setenv(rc.CACHE_VAR, str(tmp_path / "elsewhere"))
    assert rc.configured_folder(tmp_path) == tmp_path / "elsewhere"


def test_outside_grading_every_call_computes() -> None:
    compute = Counter((np.int64(4), [1]))
    assert rc.cached_reference("k", compute) == (4, [1])
    assert type(rc.cached_reference("k", compute)[0]) is int
    assert compute.calls == 2


def _compute_with_lock(folder: str, log: str) -> None:
    def slow() -> list[int]:
        with open(log, "a") as fh:
            fh.write("computed\n")
        time.sleep(0.5)
        return [1, 2, 3]

    assert rc.ReferenceCache(Path(folder), "s").get_or_compute("k", slow) == [1, 2, 3]


def test_judges_side_by_side_compute_an_entry_once(tmp_path: Path) -> None:
    folder = rc.prepare(tmp_path / "c")
    log = tmp_path / "log"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_compute_with_lock, args=(str(folder), str(log)))
             for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert log.read_text().count("computed") == 1


# -- gradings ---------------------------------------------------------------------------------

CACHED_SUPPORT = '''

def hidden_case(seed):
    """Values and their mean, through the reference cache; each computation is logged."""
    from pathlib import Path

    import numpy as np

    from grader.testing import cached_reference

    def compute():
        log = Path(__file__).resolve().parents[4] / "computed.log"
        with log.open("a") as fh:
            fh.write(f"{seed}\\n")
        chosen = values(seed, n=9)
        return {"values": chosen, "mean": np.float64(np.mean(chosen)),
                "array": np.array(chosen)}

    return cached_reference({"hidden-case": seed}, compute)
'''

CACHED_TEST = '''
import math

import pytest

from grader.testing import expect


@pytest.mark.task("mean")
@pytest.mark.points(1)
def test_mean_of_cached_hidden_values(submission, support, grading_seed, reference_cache):
    case = support.hidden_case(grading_seed)
    if reference_cache.folder is not None:  # the fixture finds what the helper stored
        again = reference_cache.get_or_compute({"hidden-case": grading_seed}, lambda: None)
        expect(again["values"] == case["values"], "the fixture and the helper differ")
    got = submission.mean(case["values"])
    expect(type(got) in (int, float) and math.isclose(got, case["mean"]),
           "mean() was wrong on a hidden list of 9 values")
'''


@pytest.fixture
def cached_course(tmp_path: Path) -> Course:
    """The fixture course with a hidden test whose expected values go through the cache."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("__pycache__"))
    support = root / "exercises" / REL / "tests" / "support.py"
    support.write_text(support.read_text() + CACHED_SUPPORT)
    (root / "solutions" / REL / "tests" / "test_cached.py").write_text(CACHED_TEST)
    manifest = root / "exercises" / REL / "exercise.toml"
    manifest.write_text(manifest.read_text().replace("points = 6", "points = 7"))
    return Course.load(root)


def _computed(course: Course) -> list[str]:
    log = course.root / "computed.log"
    return log.read_text().split() if log.exists() else []


def _grade(course: Course, seed: int, folder: Path | None) -> tuple[float, list[object]]:
    run = grade(course, [course.get("tiny-stats")], course.root / "solutions", seed,
                bounded=True, reference_cache=folder)
    (result,) = run.exercises
    return result.score, [(t.name, t.status, t.score, t.message) for t in result.tests]


def test_two_gradings_compute_the_reference_once(cached_course: Course, tmp_path: Path) -> None:
    folder = tmp_path / "class" / ".reference-cache"
    first = _grade(cached_course, 5, folder)
    second = _grade(cached_course, 5, folder)
    assert first == second and first[0] == 7  # full marks, the same grade cold and warm
    assert _computed(cached_course) == ["5"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    _grade(cached_course, 6, folder)  # another class seed misses
    assert _computed(cached_course) == ["5", "6"]
    support = cached_course.root / "exercises" / REL / "tests" / "support.py"
    support.write_text(support.read_text() + "\n# the course changed\n")
    assert _grade(cached_course, 5, folder) == first
    assert _computed(cached_course) == ["5", "6", "5"]  # a changed course file misses


def test_without_a_folder_every_grading_computes(cached_course: Course) -> None:
    assert _grade(cached_course, 5, None) == _grade(cached_course, 5, None)
    assert _computed(cached_course) == ["5", "5"]


def test_batch_keeps_the_cache_beside_the_gradebook(cached_course: Course, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.instructor import batch

    monkeypatch.delenv(rc.CACHE_VAR, raising=False)
    subs = tmp_path / "class"
    for student in ("ada", "bob", "cy"):
        (subs / student / REL).mkdir(parents=True)
        shutil.copy(cached_course.root / "solutions" / REL / "stats.py",
                    subs / student / REL / "stats.py")
    summary = batch.run(cached_course, subs, jobs=2, seed=9, quiet=True, say=lambda _: None)
    assert summary.graded == 3 and not summary.failed
    assert _computed(cached_course) == ["9"]  # once for the class, not per student
    folder = subs / batch.REFERENCE_CACHE
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and _entries(folder)
    assert batch.discover_students(subs) == ["ada", "bob", "cy"]  # never taken for a student
    monkeypatch.setenv(rc.CACHE_VAR, "off")
    batch.run(cached_course, subs, jobs=1, seed=9, regrade=True, quiet=True,
              say=lambda _: None)
    assert _computed(cached_course) == ["9"] * 4


def test_learner_gradings_keep_it_in_the_courses_grader_folder(
        cached_course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader import cli

    monkeypatch.delenv(rc.CACHE_VAR, raising=False)
    args = ["--course", str(cached_course.root), "grade", "--submission", "solutions",
            "--seed", "4", "--quiet", "tiny-stats"]
    assert cli.main(args) == 0 and cli.main(args) == 0
    assert _computed(cached_course) == ["4"]
    folder = cached_course.root / ".grader" / "reference-cache"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and _entries(folder)


POISON = '''
import os

CACHE = {cache!r}


def mean(values):
    """Overwrite every cache entry, plant a new one, then answer correctly."""
    for name in os.listdir(CACHE):
        with open(os.path.join(CACHE, name), "wb") as fh:
            fh.write(b"poison")
    with open(os.path.join(CACHE, "planted.ref"), "wb") as fh:
        fh.write(b"poison")
    return 1000.0


def median(values):
    return 0.0
'''


def test_a_worker_cannot_reach_the_cache(cached_course: Course, tmp_path: Path,
                                        tier: object, worker_tmp: Path) -> None:
    """A submission that knows the cache's path tries to poison it for the next student: tiers
    A and B keep it out; in tier C (trusted submissions only) it gets there."""
    from grader.engine.runner import grade_exercise
    from grader.sandbox.isolation import Tier

    assert isinstance(tier, Tier)
    folder = rc.prepare(tmp_path / "class" / ".reference-cache")
    ex = cached_course.get("tiny-stats")
    honest = grade_exercise(cached_course, ex, cached_course.root / "solutions", 5, folder)
    entries = {p: p.read_bytes() for p in _entries(folder)}
    attacker = tmp_path / "attacker"
    (attacker / REL).mkdir(parents=True)
    (attacker / REL / "stats.py").write_text(POISON.format(cache=str(folder)))
    grade_exercise(cached_course, ex, attacker, 5, folder)
    reached = (folder / "planted.ref").exists()
    assert reached == (tier.name == "C")
    assert ({p: p.read_bytes() for p in _entries(folder)} == entries) == (not reached)
    again = grade_exercise(cached_course, ex, cached_course.root / "solutions", 5, folder)
    assert again.score == honest.score == 7
    # tier C: this crude poison does not read back, so the attacker's own hidden test and the
    # next student recompute it; a forged entry would be believed, which is why tier C is for
    # trusted submissions only
    assert _computed(cached_course) == (["5"] * 3 if reached else ["5"])


def test_a_cluster_worker_keeps_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.instructor import cluster

    monkeypatch.delenv(rc.CACHE_VAR, raising=False)
    cluster._worker_references.cache_clear()
    try:
        folder = cluster._worker_references()
        assert folder is not None and stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert cluster._worker_references() == folder  # one per worker process
        monkeypatch.setenv(rc.CACHE_VAR, "off")
        cluster._worker_references.cache_clear()
        assert cluster._worker_references() is None
    finally:
        cluster._worker_references.cache_clear()
