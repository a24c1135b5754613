"""``results.json``: the versioned envelope around a run's records and cells."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from .catalog import Scenario
from .errors import ResultsError
from .execute import RowRun, RunResult
from .model import FORMATS, OPTIONS
from .status import derive
from .workers import tidy_message

SCHEMA_VERSION = 3
# 1: errors inline (runs before the error table); 2: no record mode, no run engine. Read for diffs against old runs.
READABLE_VERSIONS = (1, 2, 3)


def _tidy(record: dict) -> dict:
    """Dead-worker messages without TF log chatter or paths (also for records cached before that rule)."""
    err = record.get("error")
    if err and err.get("type") == "WorkerDied":
        message = tidy_message(err["message"])
        if message != err["message"]:
            record = dict(record, error=dict(err, message=message))
    return record


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def host() -> dict:
    return {"platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count() or 1,
            "python": platform.python_version()}


def row_entry(run: RowRun) -> dict:
    row, env = run.row, run.env
    return {
        "id": row.id, "flavour": row.flavour, "tf": row.tf, "keras": row.keras, "python": row.python,
        "tags": list(row.tags), "packages": list(row.packages), "env_vars": dict(row.env_vars),
        "status": "env_error" if run.error else "ok", "error": run.error,
        "lock": env.lock if env else None, "lock_hash": env.lock_hash if env else None,
        "build_s": env.build_s if env else None,
    }


def scenario_entry(s: Scenario) -> dict:
    return {"id": s.id, "title": s.title, "source": s.source, "claim": s.claim, "fix": s.fix, "hash": s.hash}


def cells_from(records: list[dict], scenarios: dict[str, Scenario]) -> list[dict]:
    grouped: dict[tuple, list[dict]] = {}
    for rec in records:
        grouped.setdefault((rec["scenario"], rec["format"], rec["save_row"], rec["load_row"]), []).append(rec)
    cells = []
    for (sc, fmt, save_row, load_row), recs in grouped.items():
        fix = scenarios[sc].fix if sc in scenarios else ""
        cells.append({"scenario": sc, "format": fmt, "save_row": save_row, "load_row": load_row, **derive(recs, fix)})
    return cells


def build_results(run: RunResult, scenarios: dict[str, Scenario], formats: list[str], *, started: str,
                  wall_s: float, pairs: str, selection: dict, command: str, engine: str = "fork",
                  shuffle: int | None = None) -> dict:
    records = [_tidy(r) for r in run.records]
    order = {sc: i for i, sc in enumerate(scenarios)}
    records.sort(key=lambda r: (order.get(r["scenario"], 99), FORMATS.index(r["format"]), r["save_row"], r["load_row"],
                                OPTIONS.index(r["option"])))
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "keras-compat", "version": __version__},
        "run": {"started": started, "finished": utc_now(), "wall_s": round(wall_s, 1), "host": host(), "pairs": pairs,
                "selection": selection, "command": command,
                "engine": {"name": engine, "shuffle": shuffle, "no_fork": dict(sorted(run.no_fork.items()))}},
        "rows": [row_entry(r) for r in run.rows],
        "scenarios": [scenario_entry(s) for s in scenarios.values()],
        "formats": [f for f in FORMATS if f in formats],
        "options": list(OPTIONS),
        "records": records,
        "cells": cells_from(records, scenarios),
    }


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
        out[kind] = [dict(i, error=resolve(i.get("error"))) if isinstance(i, dict) else i for i in items] \
            if isinstance(items, list) else items
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
        raise ResultsError(f"{path}: no such file (run `python -m runner run` first)") from None
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: $: expected an object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ResultsError(f"{path}: schema_version {version!r}; this keras-compat reads "
                           f"{', '.join(map(str, READABLE_VERSIONS))} (upgrade keras-compat, or re-run)")
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


def command_line() -> str:
    return "python -m runner " + " ".join(sys.argv[1:])
