"""How index.html carries its bulk: tables of distinct values, and integer columns packed in binary.

The page's cells and records are columns of small integers (indexes into tables of distinct
strings, vocabularies, milliseconds). Each set of columns (``cells``, ``records``) is packed as
one little-endian buffer, every column the smallest typed array that holds it, compressed with
raw DEFLATE and base64-encoded into the page's JSON. ``templates/page/data.js`` inflates it
synchronously (its own inflater: ``DecompressionStream`` is asynchronous) and reads the columns
as typed arrays, the records only when a detail dialog first needs them. At ``--pairs all`` size
(~150k cells, ~580k records) the rows-of-arrays JSON this replaces was ~40 MB and cost the page
seconds of parsing and ~200 MB of JS heap.

:func:`unpack` turns the page's data back into the rows-of-arrays form (``cells`` and ``records``
as lists of ``cell_fields`` / ``record_fields`` values) for the tests.
"""

from __future__ import annotations

import base64
import sys
import zlib
from array import array
from collections.abc import Hashable, Sequence
from typing import Any

# (name, array typecode, JS typed array): the smallest that holds a column's range is used.
_TYPES: tuple[tuple[str, str, int, int], ...] = (
    ("u1", "B", 0, 2**8 - 1),
    ("i1", "b", -(2**7), 2**7 - 1),
    ("u2", "H", 0, 2**16 - 1),
    ("i2", "h", -(2**15), 2**15 - 1),
    ("i4", "i", -(2**31), 2**31 - 1),
)
_TYPECODES = {name: code for name, code, _, _ in _TYPES}
# zlib's largest window and symbol buffer: fewer, larger DEFLATE blocks (each costs the page a table build);
# level 6: at --pairs all, 2.5x faster than 9 for 7 % more bytes.
_LEVEL, _WBITS, _MEMLEVEL, _STRATEGY = 6, -15, 9, zlib.Z_DEFAULT_STRATEGY


class Table:
    """Distinct values in first-seen order; :meth:`ref` gives a value's index (``None`` is -1)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Hashable, int] = {}

    def ref(self, value: Any, key: Hashable | None = None) -> int:
        """The index of ``value`` (deduplicated by ``key``, default the value itself)."""
        if value is None:
            return -1
        key = value if key is None else key
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.values)
            self.values.append(value)
        return found


class Columns:
    """Integer columns of one length, filled a row at a time: ``append((a, b, ...))`` (one value per name).

    The rows are kept in one flat array (a value past 32 bits raises ``OverflowError``) and cut into
    columns when packed: ~580k records x 13 fields, without a Python object per value.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.rows = array("i")
        self.append = self.rows.extend

    def __len__(self) -> int:
        return len(self.rows) // len(self.names) if self.names else 0

    def column(self, name: str) -> array[int]:
        return self.rows[self.names.index(name) :: len(self.names)]

    def extend(self, other: Columns) -> None:
        """Add ``other``'s columns (of the same length) after these."""
        width, n = len(self.names) + len(other.names), len(self)
        rows = array("i", bytes(4 * width * n))
        for k, name in enumerate(self.names):
            rows[k::width] = self.column(name)
        for k, name in enumerate(other.names, start=len(self.names)):
            rows[k::width] = other.column(name)
        self.names += other.names
        self.rows = rows
        self.append = rows.extend


def _narrow(column: array[int]) -> tuple[str, bytes]:
    low, high = (min(column), max(column)) if column else (0, 0)
    name, code = next((n, c) for n, c, lo, hi in _TYPES if lo <= low and high <= hi)
    packed = array(code, column)
    if sys.byteorder == "big":  # typed arrays are read little-endian (every browser's byte order)
        packed.byteswap()
    return name, packed.tobytes()


def pack(columns: Columns) -> dict[str, Any]:
    """The columns as the page's JSON carries them: ``{"n", "size", "columns": [[name, type, offset]], "data"}``.

    Every column starts at a multiple of 4 bytes, so that the page views it in place.
    """
    layout = []
    parts = []
    size = 0
    for name in columns.names:
        kind, raw = _narrow(columns.column(name))
        layout.append([name, kind, size])
        parts.append(raw)
        size += len(raw)
        pad = -size % 4
        parts.append(b"\0" * pad)
        size += pad
    deflate = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEMLEVEL, _STRATEGY)
    data = deflate.compress(b"".join(parts)) + deflate.flush()
    return {"n": len(columns), "size": size, "columns": layout, "data": base64.b64encode(data).decode("ascii")}


def columns_of(packed: dict[str, Any]) -> dict[str, list[int]]:
    """:func:`pack` undone: each column's values."""
    raw = zlib.decompress(base64.b64decode(packed["data"]), _WBITS)
    assert len(raw) == packed["size"], "the packed size does not match the data"
    out = {}
    for name, kind, offset in packed["columns"]:
        values = array(_TYPECODES[kind])
        values.frombytes(raw[offset : offset + packed["n"] * values.itemsize])
        if sys.byteorder == "big":
            values.byteswap()
        out[name] = values.tolist()
    return out


def _vocab(words: Sequence[Any], index: int) -> Any:
    return words[index] if index >= 0 else None


def _seconds(ms: int) -> float | None:
    return None if ms < 0 else ms / 1000


def unpack(data: dict[str, Any]) -> dict[str, Any]:
    """The page's data with ``cells`` and ``records`` as rows (lists in ``cell_fields`` / ``record_fields`` order).

    Cells' ``status``, ``option`` and ``written`` are their words (``cell_vocab``); records' ``max_abs_diff``
    its value (``diffs``), durations in seconds (``None`` where not measured); every other field an index.
    """
    out = {k: v for k, v in data.items() if k != "packed"}
    cells: dict[str, list[Any]] = dict(columns_of(data["packed"]["cells"]))
    vocab = data["cell_vocab"]
    for name, words in vocab.items():
        cells[name] = [_vocab(words, i) for i in cells[name]]
    out["cells"] = [list(row) for row in zip(*(cells[f] for f in data["cell_fields"]), strict=True)]
    records: dict[str, list[Any]] = dict(columns_of(data["packed"]["records"]))
    records["max_abs_diff"] = [data["diffs"][i] if i >= 0 else None for i in records["max_abs_diff"]]
    for name in ("save_s", "load_s", "call_s"):
        records[name] = [_seconds(ms) for ms in records[name]]
    out["records"] = [list(row) for row in zip(*(records[f] for f in data["record_fields"]), strict=True)]
    return out
