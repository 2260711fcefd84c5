"""Reference values computed once per exercise and seed, kept on disk between gradings.

A course test often computes something that depends only on the exercise's own trusted files
and the seed: hidden data, reference embeddings, a reference model's outputs. ``grader batch``
grades every student in a judge process of its own, so an in-memory cache is gone by the next
student; this one keeps such values in a folder the grader owns. An entry is found again only
under the same exercise, course files, engine, installed packages and the caller's key (the
seed, the texts...), so a changed course or environment never reuses an old value.

Entries hold plain data only (JSON plus ``.npy`` arrays through :mod:`grader.engine.plaindata`,
never pickle): loading one cannot run code. An entry that does not read back exactly (torn,
corrupt, too large, written for another key) is recomputed. Writes go to a temporary file that
is renamed into place, so a reader sees a whole entry or none.

Only the grader writes the folder: a worker never sees it in isolation tiers A (not mounted)
and B (Landlock lets a worker write its own folder only); in tier C a worker runs as the
grader's user and could, which is why tier C is for trusted submissions only (docs/authoring.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from grader.engine import plaindata
from grader.engine.course import Course
from grader.engine.manifest import Exercise

CACHE_VAR = "GRADER_REFERENCE_CACHE"  # overrides where gradings keep it; "off": nowhere
OFF = ("", "off", "none", "0")
MAGIC = b"grader-reference-cache/1\n"
SUFFIX = ".ref"
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # one entry (a tiny BERT's weights are about 8 MB)
MAX_FOLDER_BYTES = 512 * 1024 * 1024  # all entries; the least recently used go first
WAIT_SECONDS = 60.0  # for another judge computing the same entry, then compute anyway
STALE_TEMP_SECONDS = 3600.0  # a temporary file this old was left by a killed judge


class CacheUnusable(RuntimeError):
    """A cache folder the grader will not use (a link, another user's, not a folder)."""


@dataclass
class Stats:
    """What one cache did in this process."""

    hits: int = 0
    misses: int = 0
    stored: int = 0
    unreadable: int = 0  # entries that did not read back and were recomputed
    too_large: int = 0  # values above the per-entry cap: computed, not kept


def configured_folder(default: Path | None) -> Path | None:
    """The folder ``GRADER_REFERENCE_CACHE`` names (None for ``off``), else ``default``."""
    value = os.environ.get(CACHE_VAR)
    if value is None:
        return default
    return None if value.strip().lower() in OFF else Path(value.strip())


def prepare(folder: Path) -> Path:
    """Create ``folder`` for the grader alone (0700) and return it; refuse one it cannot trust."""
    folder = Path(os.path.abspath(folder))
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise CacheUnusable(f"{folder} is not a folder (or is a link): not used as a cache")
    if info.st_uid != os.geteuid():
        raise CacheUnusable(f"{folder} belongs to another user: not used as a cache")
    if info.st_mode & 0o077:
        os.chmod(folder, 0o700)
    _sweep_temporary(folder)
    return folder


def _sweep_temporary(folder: Path) -> None:
    """Remove temporary files that a judge killed mid-write left behind."""
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_SECONDS:
                        os.unlink(entry.path)


@cache
def _packages() -> str:
    """A digest of the installed distributions' names and versions (their metadata folders):
    an upgraded library may compute a reference differently."""
    names: set[str] = set()
    for entry in sys.path:
        with contextlib.suppress(OSError), os.scandir(entry or ".") as found:
            names.update(e.name for e in found if e.name.endswith((".dist-info", ".egg-info")))
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:16]


def canonical_key(key: object) -> str:
    """The caller's key as canonical JSON (strings, numbers, booleans, None, lists, dicts)."""
    try:
        return json.dumps(key, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"a reference cache key must be JSON data (strings, numbers, lists, "
                        f"dicts with string keys): {exc}") from None


def file_digest(path: Path) -> str:
    """The SHA-256 of a trusted course file, to put its content into a key."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def texts_digest(texts: Iterable[str]) -> str:
    """A digest of a sequence of strings (order counts), for a key."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


@dataclass
class ReferenceCache:
    """Values that depend only on an exercise's trusted files and a key, computed once.

    ``folder`` None: nothing is kept, every call computes (a learner's laptop without a cache,
    ``grader gradescope``). ``scope`` names everything the values depend on besides the key.
    """

    folder: Path | None
    scope: str = ""
    max_entry_bytes: int = MAX_ENTRY_BYTES
    max_folder_bytes: int = MAX_FOLDER_BYTES
    problem: str = ""  # why a configured folder is not used
    stats: Stats = field(default_factory=Stats)
    ready: bool = True  # False: the folder is made (and checked) when a value is first stored

    @classmethod
    def for_exercise(cls, course: Course, ex: Exercise, folder: Path | None) -> ReferenceCache:
        """The cache of one exercise: its id, course files, engine and packages in the scope.

        Call it before any submission code runs: the course files are hashed now.
        """
        if folder is None:
            return cls(None)
        from grader.engine import fingerprint

        # A folder that does not exist yet is made only when a value is stored: grading an
        # exercise with nothing to cache leaves no folder behind in a learner's course.
        ready = os.path.lexists(folder)
        try:
            folder = prepare(folder) if ready else Path(os.path.abspath(folder))
        except (OSError, CacheUnusable) as exc:
            return cls(None, problem=str(exc))
        parts = {"exercise": ex.id, "course": fingerprint.course_hash(course, ex),
                 "engine": fingerprint.engine_version(), "python": sys.version,
                 "machine": platform.machine(), "packages": _packages()}
        scope = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        return cls(folder, scope, ready=ready)

    def get_or_compute(self, key: object, compute: Callable[[], Any], *,
                       files: Iterable[Path] = ()) -> Any:
        """The value stored under ``key``, or ``compute()``'s, stored for the next grading.

        ``compute`` must depend only on trusted course files, installed packages and what the
        key names (a seed, the texts): never on the submission. ``files``: course files outside
        the exercise's folders (shared data) whose content joins the key. The value must be
        plain data; it comes back as it would from disk (numpy scalars become Python ones), so
        a cold and a warm grading see the same thing. Treat it as read-only.
        """
        text = canonical_key({"key": key, "files": [file_digest(Path(p)) for p in files]})
        if self.folder is None:
            return _fresh(compute)[0]
        name = hashlib.sha256(f"{self.scope}\0{text}".encode()).hexdigest()[:40]
        path = self.folder / f"{name}{SUFFIX}"
        found = self._load(path, text)
        if found is not None:
            return found[0]
        if not self.ready:
            try:
                prepare(self.folder)
            except (OSError, CacheUnusable) as exc:
                self.folder, self.problem = None, str(exc)
                return _fresh(compute)[0]
            self.ready = True
        with self._lock(path):
            found = self._load(path, text)  # another judge may have stored it meanwhile
            if found is not None:
                return found[0]
            self.stats.misses += 1
            value, encoded = _fresh(compute)
            header = {"scope": self.scope, "key": text, "tree": encoded.tree,
                      "blobs": [len(b) for b in encoded.blobs]}
            self._store(path, b"".join([MAGIC, json.dumps(header, separators=(",", ":")).encode(),
                                        b"\n", *encoded.blobs]))
        return value

    def _load(self, path: Path, key_text: str) -> tuple[Any] | None:
        """The stored value (in a 1-tuple, since None is a value), or None if there is none
        that reads back whole for this key."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError:
            self.stats.unreadable += 1
            return None
        try:
            with os.fdopen(fd, "rb") as fh:
                info = os.fstat(fh.fileno())
                if not stat.S_ISREG(info.st_mode) or info.st_size > self.max_entry_bytes:
                    raise ValueError("not a regular file of an accepted size")
                data = fh.read(self.max_entry_bytes + 1)
            value = _parse(data, self.scope, key_text)
        except (OSError, ValueError, RecursionError, plaindata.ProtocolError):
            self.stats.unreadable += 1
            return None
        self.stats.hits += 1
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last
        return (value,)

    def _store(self, path: Path, data: bytes) -> None:
        """Write an entry atomically (a temporary file renamed into place), within the caps."""
        if len(data) > self.max_entry_bytes:
            self.stats.too_large += 1
            return
        assert self.folder is not None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=SUFFIX)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            # no fsync: an entry torn by a power cut does not read back and is recomputed
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return
        self.stats.stored += 1
        self._evict()

    def _evict(self) -> None:
        """Delete the least recently used entries while the folder holds more than its cap."""
        assert self.folder is not None
        entries = []
        with contextlib.suppress(OSError), os.scandir(self.folder) as found:
            for entry in found:
                if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                    with contextlib.suppress(OSError):
                        info = entry.stat(follow_symlinks=False)
                        entries.append((info.st_mtime, info.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        for _, size, entry_path in sorted(entries):
            if total <= self.max_folder_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(entry_path)
                os.unlink(entry_path[:-len(SUFFIX)] + ".lock")
            total -= size

    @contextlib.contextmanager
    def _lock(self, path: Path) -> Iterator[None]:
        """Hold the entry's lock while computing it, so judges side by side compute it once;
        past :data:`WAIT_SECONDS` (or without a lock file) compute anyway."""
        lock_path = path.with_suffix(".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError:
            yield
            return
        try:
            give_up = time.monotonic() + WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > give_up:
                        break
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # releases the lock


def _fresh(compute: Callable[[], Any]) -> tuple[Any, plaindata.Encoded]:
    """``compute()`` as it would read back from an entry, and its encoding."""
    try:
        encoded = plaindata.encode(compute())
    except plaindata.NotPlainData as exc:
        raise TypeError(f"a reference cache value must be plain data: {exc}") from None
    return plaindata.decode(encoded.tree, encoded.blobs), encoded


def _parse(data: bytes, scope: str, key_text: str) -> Any:
    """An entry's value; ValueError unless it is whole and was written for this scope and key."""
    if not data.startswith(MAGIC):
        raise ValueError("not a reference cache entry")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise ValueError("no header")
    header = json.loads(data[len(MAGIC):end])
    if not isinstance(header, dict) or header.get("scope") != scope or \
            header.get("key") != key_text:
        raise ValueError("written for another key")
    sizes = header.get("blobs")
    if not isinstance(sizes, list) or any(type(n) is not int or n < 0 for n in sizes) or \
            sum(sizes) != len(data) - end - 1:
        raise ValueError("torn entry")
    blobs, offset = [], end + 1
    for size in sizes:
        blobs.append(data[offset:offset + size])
        offset += size
    return plaindata.decode(header.get("tree"), blobs)


# -- the cache of the grading session in progress (one exercise per session) ------------------

_ACTIVE: list[ReferenceCache] = []


@contextlib.contextmanager
def active(reference_cache: ReferenceCache) -> Iterator[ReferenceCache]:
    """Make ``reference_cache`` the one :func:`cached_reference` uses while grading."""
    _ACTIVE.append(reference_cache)
    try:
        yield reference_cache
    finally:
        _ACTIVE.remove(reference_cache)


def current() -> ReferenceCache:
    """The cache of the exercise being graded; one that keeps nothing outside grading."""
    return _ACTIVE[-1] if _ACTIVE else ReferenceCache(None)


def cached_reference(key: object, compute: Callable[[], Any], *,
                     files: Iterable[Path] = ()) -> Any:
    """``compute()``, computed once per exercise, course version and ``key`` (put the seed and
    anything else it depends on in the key); see :meth:`ReferenceCache.get_or_compute`."""
    return current().get_or_compute(key, compute, files=files)
