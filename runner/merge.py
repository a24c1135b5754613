"""Joining shards' ``results.json`` files into one, the same whatever the shard count.

Records are keyed by (scenario, format, save row, load row, option); a record
present in several shards (a save row a shard needed) must agree, else the merge
refuses. Cells are derived again from the joined records, and everything is put
in one canonical order, so 1 shard or 20 give byte-identical ``results.json``
apart from the run times.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ResultsError
from .grid import load_grid
from .model import FORMATS, OPTIONS
from .results import SCHEMA_VERSION, cells_from, read_json
from .results_schema import validate


def _read(path: Path) -> dict:
    data = read_json(path)  # a missing, broken or unknown-version shard is a one-line ResultsError
    for key in ("rows", "scenarios", "records", "run", "formats", "tool"):
        if key not in data:
            raise ResultsError(f"{path}: no {key!r}; is it a keras-compat results.json? re-run that shard")
    return data


def merge_results(parts: list[dict]) -> dict:
    if not parts:
        raise ResultsError("nothing to merge: pass at least one results.json")
    grid_order = {r.id: i for i, r in enumerate(load_grid().rows)}
    rows: dict[str, dict] = {}
    for part in parts:
        for row in part["rows"]:
            have = rows.get(row["id"])
            if have is None or (have["status"] == "env_error" and row["status"] == "ok"):
                rows[row["id"]] = row
    scenarios: dict[str, dict] = {}
    for part in parts:
        for sc in part["scenarios"]:
            scenarios.setdefault(sc["id"], sc)
    records: dict[tuple, dict] = {}
    for part in parts:
        for rec in part["records"]:
            key = (rec["scenario"], rec["format"], rec["save_row"], rec["load_row"], rec["option"])
            have = records.get(key)
            if have is not None and (have["outcome"], have["stage"]) != (rec["outcome"], rec["stage"]):
                raise ResultsError(f"shards disagree on {'/'.join(key)}: {have['outcome']} vs {rec['outcome']}")
            records.setdefault(key, rec)
    sc_order = {sc: i for i, sc in enumerate(sorted(scenarios))}
    ordered = sorted(records.values(), key=lambda r: (
        sc_order[r["scenario"]], FORMATS.index(r["format"]), grid_order.get(r["save_row"], 999), r["save_row"],
        grid_order.get(r["load_row"], 999), r["load_row"], OPTIONS.index(r["option"])))

    class _Fix:  # cells_from wants objects with .fix
        def __init__(self, fix: str) -> None:
            self.fix = fix

    fixes = {sc: _Fix(s.get("fix", "")) for sc, s in scenarios.items()}
    runs = [p["run"] for p in parts]
    first = min(runs, key=lambda r: r["started"])
    merged = {
        "schema_version": SCHEMA_VERSION,
        "tool": parts[0]["tool"],
        "run": {
            "started": first["started"], "finished": max(r["finished"] for r in runs),
            "wall_s": round(max(r["wall_s"] for r in runs), 1), "host": first["host"], "pairs": first["pairs"],
            "selection": first["selection"], "command": f"python -m runner merge ({len(parts)} shard(s))",
            "engine": {"name": first["engine"]["name"], "shuffle": first["engine"]["shuffle"],
                       "no_fork": dict(sorted({k: v for r in runs for k, v in r["engine"]["no_fork"].items()}.items()))},
        },
        "rows": sorted(rows.values(), key=lambda r: (grid_order.get(r["id"], 999), r["id"])),
        "scenarios": [scenarios[s] for s in sorted(scenarios)],
        "formats": [f for f in FORMATS if any(f in p["formats"] for p in parts)],
        "options": list(OPTIONS),
        "records": ordered,
        "cells": cells_from(ordered, fixes),  # type: ignore[arg-type]
    }
    validate(merged)
    return merged


def merge_files(paths: list[Path]) -> dict:
    return merge_results([_read(p) for p in paths])
