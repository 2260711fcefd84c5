"""Pickle-free encoding of plain data between the grader and a submission worker.

A value travels as one JSON tree plus a list of binary blobs. Containers and special types are
tagged dicts (``{"$": "tuple", ...}``), so the decoder only ever builds types it knows: exact
built-in scalars and containers, bytes, dates, numpy arrays (``.npy`` without pickle) and pandas
DataFrames/Series (Arrow IPC). Heavy libraries are imported only when such a value appears.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 32
MAX_ITEMS = 2_000_000
# What one decoded reply may occupy in the judge, counted before it is built: a few hundred
# bytes of run-end-encoded or compressed Arrow, or a .npy header, may declare gigabytes.
MAX_DECODED = 1024 * 1024 * 1024


class NotPlainData(TypeError):
    """A value that cannot cross the process boundary as plain data."""


class ProtocolError(ValueError):
    """Bytes from a worker that do not decode to plain data."""


_SCALARS = (type(None), bool, int, float, str)


def type_name(value: object) -> str:
    """Name a value's type the way a learner would recognise it."""
    cls = type(value)
    module = cls.__module__
    if module in ("builtins", "__main__") or module.startswith("_"):
        return cls.__name__
    return f"{module.split('.')[0]}.{cls.__name__}"


def describe(value: object) -> str:
    """A short, safe description of a plain value for feedback messages."""
    cls = type(value).__name__
    if cls == "DataFrame":
        rows, cols = value.shape  # type: ignore[attr-defined]
        return f"DataFrame ({rows} rows x {cols} columns)"
    if cls == "Series":
        return f"Series ({len(value)} values)"  # type: ignore[arg-type]
    if cls == "ndarray":
        return f"ndarray shape={value.shape} dtype={value.dtype}"  # type: ignore[attr-defined]
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return f"{cls} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class Encoded:
    """A JSON-ready tree and the binary blobs it points to."""

    tree: Any
    blobs: list[bytes] = field(default_factory=list)


def encode(value: object) -> Encoded:
    """Encode a plain value; raise NotPlainData naming the offending part."""
    out = Encoded(tree=None)
    counter = [0]
    out.tree = _encode(value, out.blobs, 0, counter, "value")
    return out


def _blob(blobs: list[bytes], data: bytes) -> int:
    blobs.append(data)
    return len(blobs) - 1


def _encode(value: Any, blobs: list[bytes], depth: int, counter: list[int], where: str) -> Any:
    counter[0] += 1
    if counter[0] > MAX_ITEMS:
        raise NotPlainData(f"{where}: more than {MAX_ITEMS} items")
    if depth > MAX_DEPTH:
        raise NotPlainData(f"{where}: nested deeper than {MAX_DEPTH} levels")
    cls = type(value)
    if cls in _SCALARS:
        if cls is float and not math.isfinite(value):
            return {"$": "float", "v": repr(value)}
        return value
    if cls is list:
        return [_encode(v, blobs, depth + 1, counter, f"{where}[{i}]")
                for i, v in enumerate(value)]
    if cls is tuple:
        return {"$": "tuple", "items": [_encode(v, blobs, depth + 1, counter, f"{where}[{i}]")
                                        for i, v in enumerate(value)]}
    if cls in (set, frozenset):
        return {"$": cls.__name__,
                "items": [_encode(v, blobs, depth + 1, counter, f"{where} item")
                          for v in value]}
    if cls is dict:
        return {"$": "dict", "items": [
            [_encode(k, blobs, depth + 1, counter, f"{where} key"),
             _encode(v, blobs, depth + 1, counter, f"{where}[{_short(k)}]")]
            for k, v in value.items()]}
    if cls in (bytes, bytearray):
        return {"$": "bytes", "blob": _blob(blobs, bytes(value))}
    if cls is dt.datetime:
        return {"$": "datetime", "iso": value.isoformat()}
    if cls is dt.date:
        return {"$": "date", "iso": value.isoformat()}
    module = cls.__module__.split(".")[0]
    if module == "numpy":
        return _encode_numpy(value, blobs, where)
    if module == "pandas":
        return _encode_pandas(value, blobs, where)
    raise NotPlainData(f"{where} is a {type_name(value)}, which is not plain data")


def _short(key: object) -> str:
    """A dict key as a feedback message shows it: its repr, cut short."""
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _encode_numpy(value: Any, blobs: list[bytes], where: str) -> Any:
    import numpy as np

    cls = type(value)
    if cls is np.ndarray:
        if value.dtype.hasobject:
            raise NotPlainData(f"{where} is a numpy array of Python objects; use a numeric or "
                               "string dtype")
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"$": "ndarray", "blob": _blob(blobs, buf.getvalue())}
    if isinstance(value, np.generic) and cls.__module__ == "numpy":
        item = value.item()
        if type(item) in (*_SCALARS, bytes, dt.date, dt.datetime):
            return _encode(item, blobs, 0, [0], where)
    raise NotPlainData(f"{where} is a {type_name(value)}, which is not plain data")


def _encode_pandas(value: Any, blobs: list[bytes], where: str) -> Any:
    import pandas as pd

    cls = type(value)
    if cls is pd.DataFrame:
        return {"$": "dataframe", "blob": _blob(blobs, _arrow_bytes(value, where))}
    if cls is pd.Series:
        name = value.name
        if type(name) not in _SCALARS:
            name = str(name)
        frame = value.to_frame(name="__series__")
        return {"$": "series", "name": name, "blob": _blob(blobs, _arrow_bytes(frame, where))}
    if cls is pd.Timestamp:
        return {"$": "timestamp", "iso": value.isoformat()}
    if value is pd.NaT:
        return {"$": "nat"}
    if value is pd.NA:
        return {"$": "na"}
    raise NotPlainData(f"{where} is a {type_name(value)}, which is not plain data")


def _arrow_bytes(frame: Any, where: str) -> bytes:
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame, preserve_index=None)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise NotPlainData(
            f"{where}: a column could not be converted ({exc}). Make each column hold one type "
            "(numbers, strings, dates or booleans), using NaN/None for missing values") from exc
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def decode(tree: Any, blobs: list[bytes]) -> Any:
    """Rebuild a value from an untrusted tree; raise ProtocolError for anything unexpected."""
    used: set[int] = set()
    value = _decode(tree, blobs, used, 0)
    if len(used) != len(blobs):
        raise ProtocolError("unreferenced binary payloads")
    return value


def _take(blobs: list[bytes], used: set[int], index: object) -> bytes:
    if type(index) is not int or not 0 <= index < len(blobs) or index in used:
        raise ProtocolError("bad binary payload reference")
    used.add(index)
    return blobs[index]


def _decode(tree: Any, blobs: list[bytes], used: set[int], depth: int) -> Any:
    if depth > MAX_DEPTH + 2:
        raise ProtocolError("nested too deeply")
    cls = type(tree)
    if cls in _SCALARS:
        return tree
    if cls is list:
        return [_decode(v, blobs, used, depth + 1) for v in tree]
    if cls is not dict or type(tree.get("$")) is not str:
        raise ProtocolError(f"unexpected {cls.__name__} in payload")
    tag = tree["$"]
    if tag in ("tuple", "set", "frozenset", "dict"):
        items = tree.get("items")
        if type(items) is not list:
            raise ProtocolError(f"{tag} without items")
        if tag == "dict":
            if any(type(p) is not list or len(p) != 2 for p in items):
                raise ProtocolError("bad dict entry")
            try:
                return {_decode(k, blobs, used, depth + 1): _decode(v, blobs, used, depth + 1)
                        for k, v in items}
            except TypeError as exc:
                raise ProtocolError(f"bad dict key: {exc}") from exc
        values = [_decode(v, blobs, used, depth + 1) for v in items]
        try:
            return {"tuple": tuple, "set": set, "frozenset": frozenset}[tag](values)
        except TypeError as exc:
            raise ProtocolError(f"bad set item: {exc}") from exc
    if tag == "float":
        text = tree.get("v")
        if text not in ("nan", "inf", "-inf"):
            raise ProtocolError("bad float")
        return float(text)
    if tag == "bytes":
        return _take(blobs, used, tree.get("blob"))
    if tag in ("datetime", "date", "timestamp"):
        iso = tree.get("iso")
        if type(iso) is not str or len(iso) > 64:
            raise ProtocolError("bad date")
        try:
            if tag == "datetime":
                return dt.datetime.fromisoformat(iso)
            if tag == "date":
                return dt.date.fromisoformat(iso)
            import pandas as pd

            return pd.Timestamp(iso)
        except (ValueError, OverflowError) as exc:
            raise ProtocolError(f"bad date: {exc}") from exc
    if tag in ("nat", "na"):
        import pandas as pd

        return pd.NaT if tag == "nat" else pd.NA
    if tag == "ndarray":
        return _array_from_npy(_take(blobs, used, tree.get("blob")))
    if tag == "dataframe":
        return _frame_from_arrow(_take(blobs, used, tree.get("blob")))
    if tag == "series":
        name = tree.get("name")
        if type(name) not in _SCALARS:
            raise ProtocolError("bad series name")
        frame = _frame_from_arrow(_take(blobs, used, tree.get("blob")))
        if list(frame.columns) != ["__series__"]:
            raise ProtocolError("bad series payload")
        series = frame["__series__"]
        series.name = name
        return series
    raise ProtocolError(f"unknown tag {tag!r}")


def _array_from_npy(data: bytes) -> Any:
    """A numpy array from ``.npy`` bytes whose header must describe exactly the bytes sent."""
    import numpy as np

    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ProtocolError(f"bad array: .npy version {version} is not accepted")
    except ProtocolError:
        raise
    except Exception as exc:  # untrusted bytes: numpy may raise anything here
        raise ProtocolError(f"bad array: {type(exc).__name__}: {exc}"[:300]) from exc
    if dtype.hasobject or dtype.itemsize == 0:
        raise ProtocolError("bad array: not a plain numpy array")
    declared = math.prod(shape) * dtype.itemsize
    if declared > MAX_DECODED or declared != len(data) - fp.tell():
        raise ProtocolError(f"bad array: its header declares {declared} bytes of data, but "
                            f"{len(data) - fp.tell()} were sent")
    flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=fp.tell())
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="A")


def _frame_from_arrow(data: bytes) -> Any:
    import pyarrow as pa

    try:
        _check_arrow_messages(data)
        reader = pa.ipc.open_stream(data)
        refused = [f"{f.name}: {f.type}" for f in reader.schema if not _accepted(f.type)]
        if refused:
            raise ProtocolError("Arrow column types that are not accepted (only numbers, "
                                "strings, bytes, dates, times, decimals, lists, structs and "
                                f"categoricals): {', '.join(refused)[:200]}")
        table = reader.read_all()  # uncompressed: buffers point into ``data``, nothing copied
        table.validate(full=True)
        cost = sum(_cost(chunk) for column in table.columns for chunk in column.chunks)
        if cost > MAX_DECODED:
            raise ProtocolError(f"the table would take about {cost // 2**20} MB once decoded, "
                                f"more than the {MAX_DECODED // 2**20} MB a reply may")
        return table.to_pandas()
    except ProtocolError:
        raise
    except Exception as exc:  # untrusted bytes: pyarrow and pandas may raise anything here
        raise ProtocolError(f"bad table: {type(exc).__name__}: {exc}"[:300]) from exc


def _check_arrow_messages(data: bytes) -> None:
    """Refuse compressed record or dictionary batches, and row counts past the cap, reading
    only each message's metadata (decompressing is what would allocate)."""
    import pyarrow as pa

    for message in pa.ipc.MessageReader.open_stream(data):
        if message.type not in ("record batch", "dictionary batch"):
            continue
        rows, compressed = _batch_header(message.metadata.to_pybytes())
        if compressed:
            raise ProtocolError("compressed Arrow bodies are not accepted")
        if not 0 <= rows <= MAX_DECODED // 8:
            raise ProtocolError(f"an Arrow batch declares {rows} rows")


def _batch_header(meta: bytes) -> tuple[int, bool]:
    """(declared rows, compressed?) from an Arrow IPC ``Message`` flatbuffer holding a record
    or dictionary batch (Message.fbs: header_type is field 1, header 2; RecordBatch: length 0,
    compression 3; DictionaryBatch: data 1)."""
    try:
        def field_at(table: int, index: int) -> int | None:
            vtable = table - struct.unpack_from("<i", meta, table)[0]
            size = struct.unpack_from("<H", meta, vtable)[0]
            slot = 4 + 2 * index
            offset = struct.unpack_from("<H", meta, vtable + slot)[0] if slot + 2 <= size else 0
            return table + offset if offset else None

        def table_at(table: int, index: int) -> int:
            where = field_at(table, index)
            if where is None:
                raise ProtocolError("an Arrow batch without its header")
            return where + int(struct.unpack_from("<I", meta, where)[0])

        root = struct.unpack_from("<I", meta, 0)[0]
        kind = field_at(root, 1)
        header = table_at(root, 2)
        if kind is not None and meta[kind] == 2:  # a DictionaryBatch holds a RecordBatch
            header = table_at(header, 1)
        rows = field_at(header, 0)
        count = struct.unpack_from("<q", meta, rows)[0] if rows is not None else 0
        return count, field_at(header, 3) is not None
    except (struct.error, IndexError) as exc:
        raise ProtocolError(f"bad Arrow message: {exc}") from exc


def _accepted(arrow_type: Any, depth: int = 0) -> bool:
    """Whether an Arrow type is one plain data uses, nested no deeper than the cap: no
    extension, run-end-encoded, view, union, map or fixed-size-list types."""
    import pyarrow as pa
    import pyarrow.types as t

    if depth > MAX_DEPTH or isinstance(arrow_type, pa.BaseExtensionType):
        return False
    if t.is_dictionary(arrow_type):
        return _accepted(arrow_type.index_type, depth + 1) and \
            _accepted(arrow_type.value_type, depth + 1)
    if t.is_list(arrow_type) or t.is_large_list(arrow_type) or t.is_struct(arrow_type):
        return all(_accepted(arrow_type.field(i).type, depth + 1)
                   for i in range(arrow_type.num_fields))
    return any(check(arrow_type) for check in (
        t.is_null, t.is_boolean, t.is_integer, t.is_floating, t.is_decimal, t.is_string,
        t.is_large_string, t.is_binary, t.is_large_binary, t.is_fixed_size_binary, t.is_date,
        t.is_time, t.is_timestamp, t.is_duration))


def _cost(array: Any) -> int:
    """An upper estimate of the bytes ``to_pandas`` spends on an Arrow array: eight per value
    at least, a Python object per value where pandas makes one (its data counted once)."""
    import pyarrow.types as t

    kind, n = array.type, len(array)
    if t.is_dictionary(kind):
        return _cost(array.indices) + _cost(array.dictionary)
    if t.is_list(kind) or t.is_large_list(kind):
        return 64 * n + _cost(array.values)
    if t.is_struct(kind):
        return 64 * n + sum(_cost(array.field(i)) for i in range(kind.num_fields))
    if t.is_date(kind) or t.is_time(kind):  # pandas makes Python objects of these
        return 64 * n
    if t.is_integer(kind) or t.is_floating(kind) or t.is_boolean(kind) or t.is_temporal(kind):
        return 8 * n
    return 64 * n + int(array.get_total_buffer_size())


def dumps_message(header: dict[str, Any], blobs: list[bytes]) -> bytes:
    """Frame one message: a JSON header line naming blob sizes, then the blobs."""
    header = dict(header, blobs=[len(b) for b in blobs])
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + b"".join(blobs)
