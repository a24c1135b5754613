"""``results.json``: the versioned envelope around a run's records and cells.

The only seam between running and reporting: the run side writes it
(``runner.run.collect``), the report side reads it. Nothing here imports the engine.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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


def read_json(path: Path) -> dict:
    """A results.json in its in-memory form; a missing, unparsable or too new file is a ResultsError."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(
            f"no results file at {path}; run `keras-compat run` first, or pass the path of one"
        ) from None
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: $: expected an object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ResultsError(
            f"{path}: schema_version {version!r}; this keras-compat reads "
            f"{', '.join(map(str, READABLE_VERSIONS))} (upgrade keras-compat, or re-run)"
        )
    data = unpack(data)
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
