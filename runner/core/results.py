"""``results.json``: the versioned envelope around a run's records and cells.

The only seam between running and reporting: the run side writes it
(``runner.run.collect``), the report side reads it. Nothing here imports the engine.
"""

from __future__ import annotations

import json
import operator
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ResultsError
from .status import derive

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 4
# 1: errors inline (runs before the error table); 2: no record mode, no run engine; 3: the load options before
# the calls (no call, no origin, no run.measured). Read for diffs against old runs.
READABLE_VERSIONS = (1, 2, 3, 4)


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def cells_from(records: list[dict], fixes: dict[str, str]) -> list[dict]:
    """The cells of ``records``, each derived from its records (``fixes``: scenario id -> its fix text)."""
    grouped: dict[tuple, list[dict]] = {}
    for rec in records:
        grouped.setdefault((rec["scenario"], rec["format"], rec["save_row"], rec["load_row"]), []).append(rec)
    return [
        {"scenario": sc, "format": fmt, "save_row": save_row, "load_row": load_row, **derive(recs, fixes.get(sc, ""))}
        for (sc, fmt, save_row, load_row), recs in grouped.items()
    ]


def pack(results: dict) -> dict:
    """The file form: each distinct error once, in ``errors``; records and cells hold its index.

    A run repeats the same few thousand errors (tracebacks included) over tens of
    thousands of records and cells; inline, they were two thirds of the file.
    """
    index: dict[str, int] = {}
    table: list[dict] = list(results.get("errors") or [])

    def ref(error: object) -> object:
        if not isinstance(error, dict):
            return error  # null, an index already, or something the schema will reject
        key = json.dumps(error, sort_keys=True, ensure_ascii=False)
        if key not in index:
            index[key] = len(table)
            table.append(error)
        return index[key]

    packed = {k: v for k, v in results.items() if k not in ("records", "cells", "errors")}
    packed["records"] = [dict(r, error=ref(r.get("error"))) for r in results["records"]]
    packed["cells"] = [dict(c, error=ref(c.get("error"))) for c in results["cells"]]
    packed["errors"] = table
    return packed


def unpack(data: dict) -> dict:
    """The in-memory form every reader uses: errors inline again (the objects are shared)."""
    table = data.get("errors")
    if not isinstance(table, list):
        return data

    def resolve(error: object) -> object:
        if isinstance(error, int) and not isinstance(error, bool):
            if not 0 <= error < len(table):
                raise ResultsError(f"results.json: error index {error} is not in $.errors (0..{len(table) - 1})")
            return table[error]
        return error

    out = {k: v for k, v in data.items() if k not in ("records", "cells", "errors")}
    for kind in ("records", "cells"):
        items = data.get(kind)
        out[kind] = (
            [dict(i, error=resolve(i.get("error"))) if isinstance(i, dict) else i for i in items]
            if isinstance(items, list)
            else items
        )
    return out


def write_json(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # compact, errors de-duplicated: the full pairs matrix has ~60,000 records
    tmp.write_text(json.dumps(pack(results), separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# The words every record and cell repeats: read into one string object each (at --pairs all, ~580k
# records x 10 fields), not one per record.
_WORDS = frozenset(
    "scenario format save_row load_row option outcome stage written mode call artifact status fix".split()
)
_CHUNK = 1 << 22


class _Stream:
    """A JSON file's top-level object, its ``records`` and ``cells`` decoded one element at a time.

    json.loads holds the file's whole text beside the objects it makes: at --pairs all size (230 MB of
    UTF-8, with a few non-Latin-1 characters) a 460 MB str, and the peak of a render. Here the text is
    read in 4 MB chunks, and each element's words and keys are interned as it is read.
    """

    def __init__(self, f: Any) -> None:
        self.f, self.buf, self.pos, self.eof = f, "", 0, False
        self.decoder = json.JSONDecoder()
        self.words: dict[str, str] = {}
        self.tolerances: dict[tuple, dict] = {}
        self.layouts: dict[tuple[str, ...], Any] = {}

    def _more(self) -> None:
        data = self.f.read(_CHUNK)
        self.buf, self.pos, self.eof = self.buf[self.pos :] + data, 0, not data

    def _peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\n\r":
                self.pos += 1
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos : self.pos + 1]
            self._more()

    def _expect(self, chars: str) -> str:
        c = self._peek()
        if not c or c not in chars:
            raise json.JSONDecodeError(f"Expecting one of {chars!r}", self.buf, self.pos)
        self.pos += 1
        return c

    def _value(self) -> Any:
        self._peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self.eof:
                    raise
                self._more()
                continue
            if end == len(self.buf) and not self.eof:  # a number may go on in the next chunk
                self._more()
                continue
            self.pos = end
            return value

    def _intern(self, item: Any) -> Any:
        """``item`` with its keys and words interned, and equal tolerances one object.

        Each element is decoded on its own, so the decoder's memo of keys is per element. Done per key
        layout (every record has one of a few), with C-level calls: the read stays about as fast as
        json.loads.
        """
        if type(item) is not dict:
            return item
        layout = self.layouts.get(tuple(item))
        if layout is None:
            layout = self.layouts[tuple(item)] = self._layout(tuple(item))
        keys, get, words, nested = layout
        out = dict(zip(keys, item.values(), strict=True))
        if get is not None:
            values = get(out) if len(words) > 1 else (get(out),)
            try:
                out.update(zip(words, map(self.words.setdefault, values, values), strict=True))
            except TypeError:  # an unhashable value where a word belongs: the schema will say where
                pass
        for key in nested:
            value = out[key]
            if type(value) is dict:
                value = self._intern(value)
                out[key] = self.tolerances.setdefault(tuple(value.items()), value) if key == "tolerance" else value
        return out

    def _layout(self, keys: tuple[str, ...]) -> tuple[tuple[str, ...], Any, tuple[str, ...], tuple[str, ...]]:
        canon = tuple(self.words.setdefault(k, k) for k in keys)
        words = tuple(k for k in canon if k in _WORDS)
        nested = tuple(k for k in canon if k in ("durations", "tolerance", "code_ran"))
        return canon, operator.itemgetter(*words) if words else None, words, nested

    def _items(self, close: str, item: Any) -> None:
        """The elements (or members) up to ``close``, each read by ``item()``."""
        if self._peek() == close:
            self.pos += 1
            return
        while True:
            item()
            if self._expect("," + close) == close:
                return

    def read(self) -> dict[str, Any]:
        data: dict[str, Any] = {}

        def member() -> None:
            key = self._value()
            self._expect(":")
            if key in ("records", "cells") and self._peek() == "[":
                self.pos += 1
                items: list[Any] = []
                self._items("]", lambda: items.append(self._intern(self._value())))
                data[key] = items
            else:
                data[key] = self._value()

        self._expect("{")
        self._items("}", member)
        if self._peek():
            raise json.JSONDecodeError("Extra data", self.buf, self.pos)
        return data


def _load(path: Path) -> Any:
    with Path(path).open(encoding="utf-8") as f:
        try:
            return _Stream(f).read()
        except json.JSONDecodeError:  # not an object, or not JSON: json.loads says where
            f.seek(0)
            return json.loads(f.read())


def _resolve(data: dict) -> None:
    """:func:`unpack` in place, for a file just read: the records and cells are ours to change."""
    table = data.pop("errors", None)
    if not isinstance(table, list):
        return
    for kind in ("records", "cells"):
        for item in data.get(kind) or []:
            error = item.get("error") if isinstance(item, dict) else None
            if isinstance(error, int) and not isinstance(error, bool):
                if not 0 <= error < len(table):
                    raise ResultsError(f"results.json: error index {error} is not in $.errors (0..{len(table) - 1})")
                item["error"] = table[error]


def read_json(path: Path) -> dict:
    """A results.json in its in-memory form; a missing, unparsable or too new file is a ResultsError."""
    try:
        data = _load(path)
    except FileNotFoundError:
        raise ResultsError(
            f"no results file at {path}; run `keras-compat run` first, or pass the path of one"
        ) from None
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path}: not UTF-8: {exc.reason} at byte {exc.start}") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: $: expected an object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ResultsError(
            f"{path}: schema_version {version!r}; this keras-compat reads "
            f"{', '.join(map(str, READABLE_VERSIONS))} (upgrade keras-compat, or re-run)"
        )
    _resolve(data)
    if version < 3:  # the same in memory, but for what older runs did not record
        for rec in data.get("records") or []:
            if isinstance(rec, dict):
                rec.setdefault("mode", None)
        run = data.get("run")
        if isinstance(run, dict):
            run.setdefault("engine", {"name": "shared", "shuffle": None, "no_fork": {}})
    data["schema_version"] = SCHEMA_VERSION
    return data


def to_frame(results: dict, of: Literal["cells", "records"] = "cells") -> pd.DataFrame:
    """The cells (or records) as a pandas DataFrame, one row each, for a notebook.

    ``error`` is flattened into ``error_type`` / ``error_message`` (tracebacks are
    left out), a record's ``durations`` and ``tolerance`` into their own columns,
    and each row's flavour and versions are joined on as ``save_*`` / ``load_*``.

        >>> from runner.core.results import read_json, to_frame
        >>> cells = to_frame(read_json("reports/results.json"))
        >>> cells[cells.save_row == cells.load_row].pivot_table(
        ...     index="scenario", columns="load_tf", values="status", aggfunc="first")
    """
    import pandas as pd

    if of not in ("cells", "records"):
        raise ValueError(f"of={of!r}: use 'cells' or 'records'")
    flat = []
    for item in results[of]:
        entry = {k: v for k, v in item.items() if k not in ("error", "durations", "tolerance")}
        error = item.get("error") or {}
        entry["error_type"], entry["error_message"] = error.get("type"), error.get("message")
        for key, value in (item.get("durations") or {}).items():
            entry[key] = value
        for key, value in (item.get("tolerance") or {}).items():
            entry[key] = value
        flat.append(entry)
    frame = pd.DataFrame(flat)
    rows = pd.DataFrame(
        [
            {"id": r["id"], "flavour": r["flavour"], "tf": r["tf"], "keras": r["keras"], "python": r["python"]}
            for r in results["rows"]
        ]
    )
    for side in ("save", "load"):
        frame = frame.merge(
            rows.add_prefix(f"{side}_").rename(columns={f"{side}_id": f"{side}_row"}), on=f"{side}_row", how="left"
        )
    return frame
