"""Joining shards' ``results.json`` files into one, the same whatever the shard count.

Records are keyed by (scenario, format, save row, load row, option); a record
present in several shards (a save row a shard needed) must agree, else the merge
refuses. Cells are derived again from the joined records, and everything is put
in one canonical order, so 1 shard or 20 give byte-identical ``results.json``
apart from the run times.
"""

from __future__ import annotations

from pathlib import Path

from runner.core.errors import ResultsError
from runner.core.results import SCHEMA_VERSION, cells_from, read_json
from runner.core.schema import validate
from runner.core.vocab import FORMATS, OPTIONS


def _read(path: Path) -> dict:
    data = read_json(path)  # a missing, broken or unknown-version shard is a one-line ResultsError
    for key in ("rows", "scenarios", "records", "run", "formats", "tool"):
        if key not in data:
            raise ResultsError(f"{path}: no {key!r}; is it a keras-compat results.json? re-run that shard")
    return data


def row_order(parts: list[dict]) -> list[str]:
    """The rows' order, from the shards themselves, not from today's grid file: shards run with
    another grid merge the same way.

    A shard records its whole grid's order (``run.row_order``); the first shard that has one
    decides, so 1 shard or 20 order the rows alike. Rows it does not name (and files from before
    ``row_order``) follow the order the shards list their rows in: each shard's order is a
    constraint, and a row is placed as soon as every row a shard put before it is placed, the
    first shard's earliest row first. Where shards disagree, the first shard that names a row decides.
    """
    recorded: list[str] = next((p["run"]["row_order"] for p in parts if p["run"].get("row_order")), [])
    before: dict[str, set[str]] = {}
    seen: list[str] = []
    for part in [{"rows": [{"id": r} for r in recorded]}, *parts]:
        ids = [r["id"] for r in part["rows"]]
        for i, row_id in enumerate(ids):
            if row_id not in before:
                before[row_id] = set()
                seen.append(row_id)
            before[row_id].update(ids[:i])
    placed: list[str] = []
    left = list(seen)
    while left:
        ready = next((r for r in left if before[r] <= set(placed)), left[0])  # left[0]: shards disagree
        placed.append(ready)
        left.remove(ready)
    return placed


def merge_results(parts: list[dict]) -> dict:
    if not parts:
        raise ResultsError("nothing to merge: pass at least one results.json")
    order = row_order(parts)
    grid_order = {row_id: i for i, row_id in enumerate(order)}
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
    ordered = sorted(
        records.values(),
        key=lambda r: (
            sc_order[r["scenario"]],
            FORMATS.index(r["format"]),
            grid_order.get(r["save_row"], 999),
            r["save_row"],
            grid_order.get(r["load_row"], 999),
            r["load_row"],
            OPTIONS.index(r["option"]),
        ),
    )

    fixes = {sc: s.get("fix", "") for sc, s in scenarios.items()}
    runs = [p["run"] for p in parts]
    first = min(runs, key=lambda r: r["started"])
    merged = {
        "schema_version": SCHEMA_VERSION,
        "tool": parts[0]["tool"],
        "run": {
            "started": first["started"],
            "finished": max(r["finished"] for r in runs),
            "wall_s": round(max(r["wall_s"] for r in runs), 1),
            "host": first["host"],
            "pairs": first["pairs"],
            "selection": first["selection"],
            "command": f"python -m runner merge ({len(parts)} shard(s))",
            **({"row_order": order} if any(p["run"].get("row_order") for p in parts) else {}),
            **({"measured": _measured(runs)} if any("measured" in r for r in runs) else {}),
            "engine": {
                "name": first["engine"]["name"],
                "shuffle": first["engine"]["shuffle"],
                "no_fork": dict(sorted({k: v for r in runs for k, v in r["engine"]["no_fork"].items()}.items())),
            },
        },
        "rows": sorted(rows.values(), key=lambda r: (grid_order.get(r["id"], 999), r["id"])),
        "scenarios": [scenarios[s] for s in sorted(scenarios)],
        "formats": [f for f in FORMATS if any(f in p["formats"] for p in parts)],
        "options": list(OPTIONS),
        "records": ordered,
        "cells": cells_from(ordered, fixes),
        **(
            {"coverage": newest["coverage"]}
            if (newest := max(parts, key=lambda p: p["run"]["finished"])).get("coverage")
            else {}
        ),
    }
    validate(merged)
    return merged


def _measured(runs: list[dict]) -> list[dict]:
    """The shards' measuring runs, one entry per run (a run's cells summed over the shards it served)."""
    out: dict[str, dict] = {}
    for run in runs:
        for entry in run.get("measured", []):
            have = out.setdefault(entry["started"], dict(entry, cells=0))
            have["cells"] += entry["cells"]
    return [out[k] for k in sorted(out)]


def merge_files(paths: list[Path]) -> dict:
    return merge_results([_read(p) for p in paths])
