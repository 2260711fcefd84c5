"""Size up a zip from its end records before ``zipfile`` parses it, and refuse what is too big.

``zipfile.ZipFile`` reads the whole central directory into memory and builds an object per
entry: about 10 µs and 1 kB each, so a 300,000-entry zip costs seconds and hundreds of MB before
any check can run. Here the end record is read the way ``zipfile`` reads it (the same directory
size, so the same bytes it would parse), and the directory's entries are counted by walking
their fixed-size headers, stopping as soon as there are too many.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

MAX_MEMBERS = 100_000  # entries in one zip; a submission with its node_modules stays under this
MAX_DIRECTORY_BYTES = 32 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed size of one member; text rarely passes 20
RATIO_FLOOR = 1024 * 1024  # smaller members may be as compressible as they like

_EOCD = struct.Struct("<4s4H2LH")
_LOCATOR64 = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_ENTRY = struct.Struct("<4s6H3L5H2L")  # a central directory file header (46 bytes)
_COMMENT_MAX = 1 << 16


class ZipRefused(ValueError):
    """A zip this grader will not open, with the reason in plain words."""


def _end_record(tail: bytes) -> int:
    """Where ``zipfile`` finds the end of central directory record in the file's tail, or -1."""
    if (len(tail) >= _EOCD.size and tail[-_EOCD.size:-_EOCD.size + 4] == b"PK\x05\x06"
            and tail[-2:] == b"\0\0"):
        return len(tail) - _EOCD.size
    at = tail.rfind(b"PK\x05\x06")
    return at if at >= 0 and at + _EOCD.size <= len(tail) else -1


def directory(fh: BinaryIO) -> tuple[int, int]:
    """The central directory's offset and size in bytes, as ``zipfile`` would read them."""
    fh.seek(0, 2)
    size = fh.tell()
    start = max(size - _COMMENT_MAX - _EOCD.size, 0)
    fh.seek(start)
    tail = fh.read()
    at = _end_record(tail)
    if at < 0:
        raise ZipRefused("it is not a zip file (no end record)")
    fields = _EOCD.unpack_from(tail, at)
    cd_size, ends_at = fields[5], start + at
    locator = at - _LOCATOR64.size
    if locator >= 0 and tail[locator:locator + 4] == b"PK\x06\x07":
        record = locator - _EOCD64.size
        if record >= 0 and tail[record:record + 4] == b"PK\x06\x06":
            cd_size, ends_at = _EOCD64.unpack_from(tail, record)[8], start + record
    return max(ends_at - cd_size, 0), cd_size


def check(fh: BinaryIO, what: str = "the zip") -> None:
    """Raise ``ZipRefused`` when the zip's directory is too large or holds too many entries."""
    offset, size = directory(fh)
    limit = MAX_DIRECTORY_BYTES // 2**20
    if size > MAX_DIRECTORY_BYTES:
        raise ZipRefused(f"{what} lists {size // 2**20} MB of file names, more than the {limit} MB "
                         "a submission may have: not opened")
    fh.seek(offset)
    data = fh.read(size)
    count, at = 0, 0
    while at + _ENTRY.size <= len(data):
        count += 1
        if count > MAX_MEMBERS:
            raise ZipRefused(f"{what} holds more than {MAX_MEMBERS:,} files: not opened. Zip only "
                             "the exercises folder (no .venv, node_modules or data copies)")
        name, extra, comment = struct.unpack_from("<3H", data, at + 28)
        at += _ENTRY.size + name + extra + comment


def ratio_problem(file_size: int, compress_size: int) -> str:
    """Why a member is refused as a possible zip bomb, or '' when its sizes look like a file."""
    if file_size <= RATIO_FLOOR or file_size <= MAX_RATIO * max(compress_size, 1):
        return ""
    return (f"packed {file_size // max(compress_size, 1):,} times smaller than its size, which no "
            "real file is: refused as a possible zip bomb")
