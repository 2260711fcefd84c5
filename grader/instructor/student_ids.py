"""Student ids for collected submissions: read from LMS file names, made safe, never merged.

An id is a folder name under the class folder, the gradebook's key and the CSV's match key, so
two students must never share one, and no id may be a name the grader writes there itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# What the grader itself writes in a class folder (collect, batch, gradebook, exports)
RESERVED = frozenset({"collect.json", "gradebook.sqlite", "gradebook.sqlite-wal",
                      "gradebook.sqlite-shm", "gradebook.sqlite-journal", "gradebook.sqlite.lock"})
# ...and any name ending like a file it may keep there: a student folder never looks like one
RESERVED_ENDINGS = (".json", ".sqlite", ".sqlite-wal", ".sqlite-shm", ".sqlite-journal",
                    ".lock", ".db", ".csv", ".html", ".toml", ".txt", ".log")
RESERVED_PREFIX = "student-"


@dataclass(frozen=True)
class CanvasFile:
    """What Canvas's bulk download puts in a file name."""

    name: str  # the sortable name, lower-case letters and digits ("smithjohn")
    user: str  # the Canvas user id: the key, since two students may share a name
    submission: str
    file: str  # the name the student gave the file
    late: bool


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def canvas_file(filename: str) -> CanvasFile | None:
    """``<sortable name>[_LATE]_<user id>_<submission id>_<file>``, or None for another name."""
    name, _, rest = filename.partition("_")
    if not (name.isascii() and name.isalnum()):
        return None
    late = rest[:5].lower() == "late_"
    parts = rest[5 if late else 0:].split("_", 2)
    if len(parts) != 3 or not (_digits(parts[0]) and _digits(parts[1]) and parts[2]):
        return None
    return CanvasFile(name, parts[0], parts[1], parts[2], late)


def moodle_folder(folder: str) -> tuple[str, str] | None:
    """(full name, participant id) from ``<Full Name>_<id>_assignsubmission_<plugin>_``."""
    head, found, plugin = folder.rpartition("_assignsubmission_")
    plugin = plugin.removesuffix("_")
    if not found or not (plugin.isascii() and plugin.isalpha()):
        return None
    name, _, participant = head.rpartition("_")
    return (name, participant) if name and _digits(participant) else None


def sanitise(name: str) -> str:
    """A safe folder name for a student: letters, digits, '.', '_', '-'; never '..' or hidden."""
    text = unicodedata.normalize("NFKD", name)
    text = text.encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    text = re.sub(r"\.{2,}", ".", text)[:64].strip("._-")
    return text or "student"


def reserved(student_id: str) -> bool:
    """Whether an id is, or looks like, a file or folder the grader keeps in a class folder."""
    low = student_id.lower()
    return low in RESERVED or low.endswith(RESERVED_ENDINGS)


@dataclass
class Assigned:
    """The id a source gets, and what the instructor must hear about it."""

    id: str
    errors: list[str]


def assign(names: Sequence[tuple[str, str]], existing: Iterable[str] = ()) -> list[Assigned]:
    """Ids for ``(raw name, where it came from)`` pairs, in order.

    Names that sanitise to the same id, or to ids that differ only in case (one folder on macOS
    and Windows, one row in a roster), are a collision: every one of them gets its own id with
    ``-dupN`` and an error, so none silently takes the plain id (and its roster row). An id that
    matches an earlier collection's folder but for case is a collision with that folder.
    """
    bases: list[tuple[str, list[str]]] = []
    for raw, _ in names:
        base, errors = sanitise(raw), []
        if reserved(base):
            renamed = RESERVED_PREFIX + base
            errors.append(f"the name {base!r} is one the grader uses for its own files, so this "
                          f"student is collected as {renamed!r}; rename the folder if that is "
                          "wrong")
            base = renamed
        bases.append((base, errors))
    earlier = {e.lower(): e for e in existing}
    groups: dict[str, list[int]] = {}
    for i, (base, _) in enumerate(bases):
        groups.setdefault(base.lower(), []).append(i)
    # earlier folders are not avoided: collecting the same download again gives the same ids
    taken = {b.lower() for b, _ in bases}
    out = [Assigned(base, errors) for base, errors in bases]
    for low, members in groups.items():
        clash_with_earlier = low in earlier and any(bases[i][0] != earlier[low] for i in members)
        if len(members) == 1 and not clash_with_earlier:
            continue
        n = 0
        for i in members:
            n += 1
            while f"{bases[i][0]}-dup{n}".lower() in taken:
                n += 1
            out[i].id = f"{bases[i][0]}-dup{n}"
            taken.add(out[i].id.lower())
        sources = [names[i][1] for i in members]
        if clash_with_earlier:
            sources.append(f"the folder {earlier[low]!r} from an earlier collect")
        ids = ", ".join(repr(out[i].id) for i in members)
        for i in members:
            out[i].errors.append(
                f"{len(sources)} submissions would be the same student {bases[i][0]!r} "
                f"({'; '.join(sources)}). They are never merged: collected apart as {ids}. "
                "Find out which student each one is, rename its folder to that student's id, "
                "and run `grader batch` again")
    return out
