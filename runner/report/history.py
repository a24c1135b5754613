"""The run history: one JSON line per run, kept beside ``results.json``.

Each line is the summary of one run (when it finished, its pairs mode, counts by
status overall and per load row), so the page can draw the trend without keeping
old results around. ``reports/history.jsonl`` grows by a few hundred bytes a night.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.core.cells import count_statuses
from runner.core.errors import ResultsError

HISTORY_NAME = "history.jsonl"


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """One run's history entry: counts by status overall, for same-env cells and per load row."""
    cells = results["cells"]
    per_row: dict[str, list[str]] = {}
    for cell in cells:
        per_row.setdefault(cell["load_row"], []).append(cell["status"])
    overall = count_statuses(c["status"] for c in cells)
    run = results["run"]
    return {
        "finished": run["finished"],
        "started": run["started"],
        "pairs": run["pairs"],
        "tool_version": results["tool"]["version"],
        "rows": len(results["rows"]),
        "cells": sum(overall.values()),
        "counts": overall,
        "same_env": count_statuses(c["status"] for c in cells if c["save_row"] == c["load_row"]),
        "per_load_row": {row: count_statuses(per_row[row]) for row in sorted(per_row)},
    }


def load_history(path: Path) -> list[dict[str, Any]]:
    """The entries of a history file, oldest first; a missing file is an empty history."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ResultsError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(entry, dict) or "finished" not in entry or "counts" not in entry:
            raise ResultsError(f"{path}:{number}: not a history entry (needs 'finished' and 'counts')")
        entries.append(entry)
    entries.sort(key=lambda e: str(e["finished"]))
    return entries


def append_history(results: dict[str, Any], path: Path) -> None:
    """Append the summary of ``results`` to ``path`` (created if missing).

    A run already in the file (same ``finished`` time) is not added again, so
    re-rendering or re-running the publish step keeps one line per run.
    """
    path = Path(path)
    entry = summarize(results)
    if any(e["finished"] == entry["finished"] for e in load_history(path)):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, separators=(",", ":"), sort_keys=False) + "\n")


def pass_rate(counts: dict[str, int]) -> float | None:
    """Share of cells whose status is ``pass`` (a plain load_model works and computes the same)."""
    total = sum(counts.values())
    return counts.get("pass", 0) / total if total else None
