"""A finished run -> the results dict (``runner/core/results.py`` writes it, the report side reads it)."""

from __future__ import annotations

import os
import platform
import sys

from runner import __version__
from runner.core.results import SCHEMA_VERSION, cells_from, utc_now
from runner.core.vocab import FORMATS, OPTIONS

from .catalog import Scenario
from .state import RowRun, RunResult
from .workers import tidy_message


def _tidy(record: dict) -> dict:
    """Dead-worker messages without TF log chatter or paths (also for records cached before that rule)."""
    err = record.get("error")
    if err and err.get("type") == "WorkerDied":
        message = tidy_message(err["message"])
        if message != err["message"]:
            record = dict(record, error=dict(err, message=message))
    return record


def host() -> dict:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count() or 1,
        "python": platform.python_version(),
    }


def row_entry(run: RowRun) -> dict:
    row, env = run.row, run.env
    return {
        "id": row.id,
        "flavour": row.flavour,
        "tf": row.tf,
        "keras": row.keras,
        "python": row.python,
        "tags": list(row.tags),
        "packages": list(row.packages),
        "env_vars": dict(row.env_vars),
        "status": "env_error" if run.error else "ok",
        "error": run.error,
        "lock": env.lock if env else None,
        "lock_hash": env.lock_hash if env else None,
        "build_s": env.build_s if env else None,
    }


def scenario_entry(s: Scenario) -> dict:
    return {"id": s.id, "title": s.title, "source": s.source, "claim": s.claim, "fix": s.fix, "hash": s.hash}


def build_results(
    run: RunResult,
    scenarios: dict[str, Scenario],
    formats: list[str],
    *,
    started: str,
    wall_s: float,
    finished: str | None = None,
    measured: list[dict] | None = None,
    coverage: dict | None = None,
    pairs: str,
    selection: dict,
    command: str,
    engine: str = "fork",
    shuffle: int | None = None,
    row_order: list[str] | None = None,
) -> dict:
    records = [_tidy(r) for r in run.records]
    order = {sc: i for i, sc in enumerate(scenarios)}
    records.sort(
        key=lambda r: (
            order.get(r["scenario"], 99),
            FORMATS.index(r["format"]),
            r["save_row"],
            r["load_row"],
            OPTIONS.index(r["option"]),
        )
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "keras-compat", "version": __version__},
        "run": {
            "started": started,
            "finished": finished or utc_now(),
            "wall_s": round(wall_s, 1),
            **({"measured": measured} if measured is not None else {}),
            "host": host(),
            "pairs": pairs,
            "selection": selection,
            "command": command,
            **({"row_order": row_order} if row_order else {}),
            "engine": {"name": engine, "shuffle": shuffle, "no_fork": dict(sorted(run.no_fork.items()))},
        },
        "rows": [row_entry(r) for r in run.rows],
        "scenarios": [scenario_entry(s) for s in scenarios.values()],
        "formats": [f for f in FORMATS if f in formats],
        "options": list(OPTIONS),
        "records": records,
        "cells": cells_from(records, {s.id: s.fix for s in scenarios.values()}),
        **({"coverage": coverage} if coverage is not None else {}),
    }


def command_line() -> str:
    return "python -m runner " + " ".join(sys.argv[1:])
