"""The part of results.json that ``scan`` predicts from, as a small file (``reports/scan-index.json``).

Reading the whole results.json (34 MB) costs ~2-3 s per scan; the index keeps only what a
prediction needs: the rows, each cell's status/option/fix (fix strings shared through a
table), and, from the ``lambda_canary`` records, whether a plain load ran stored code in
each env. :func:`build_index` makes it from a results dict (the report side writes it next
to results.json); :func:`read_index` reads it back, and :func:`load_predictions` picks the
index when it is newer than results.json, else builds one from results.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.core.errors import ResultsError
from runner.core.results import read_json

INDEX_SCHEMA = 1
INDEX_NAME = "scan-index.json"
_ROW_KEYS = ("id", "flavour", "keras", "tf", "python", "tags", "env_vars")
CANARY = "lambda_canary"  # the scenario whose records say whether a load ran the file's stored code


def build_index(results: dict[str, Any]) -> dict[str, Any]:
    """The scan index of a results dict (the results.json contract): small, JSON-serializable, deterministic."""
    fixes: dict[str, int] = {}
    cells: dict[str, dict[str, list[list[Any]]]] = {}
    for c in results.get("cells", []):
        fix = c.get("fix")
        ref = None if fix is None else fixes.setdefault(fix, len(fixes))
        cells.setdefault(c["scenario"], {}).setdefault(c["format"], []).append(
            [c["save_row"], c["load_row"], c["status"], c.get("option"), ref]
        )
    code_on_load: dict[str, dict[str, dict[str, bool]]] = {}
    for r in results.get("records", []):
        ran = r.get("code_ran")
        if r.get("scenario") == CANARY and isinstance(ran, dict) and r.get("save_row") == r.get("load_row"):
            if isinstance(ran.get("load"), bool):
                per = code_on_load.setdefault(r["format"], {}).setdefault(r.get("option") or "default", {})
                per[r["load_row"]] = per.get(r["load_row"], False) or ran["load"]
    return {
        "schema": INDEX_SCHEMA,
        "finished": (results.get("run") or {}).get("finished"),
        "rows": [{k: row.get(k) for k in _ROW_KEYS} for row in results.get("rows", [])],
        "fixes": list(fixes),
        "cells": cells,
        "code_on_load": code_on_load,
    }


def write_index(results: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(build_index(results), separators=(",", ":"), sort_keys=True) + "\n")
    return path


def read_index(path: Path) -> dict[str, Any]:
    """A scan index written by :func:`write_index`; one-line error when it is damaged or from another schema."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not a readable scan index ({exc}); rebuild it or pass --results") from None
    if not isinstance(data, dict) or data.get("schema") != INDEX_SCHEMA:
        raise ResultsError(f"{path}: a scan index of another schema; rebuild it from results.json")
    return data


def load_predictions(results: Path) -> dict[str, Any]:
    """The index beside ``results`` when it is newer, else one built from ``results`` itself."""
    index = results.with_name(INDEX_NAME)
    try:
        newer = index.is_file() and (not results.exists() or index.stat().st_mtime >= results.stat().st_mtime)
    except OSError:
        newer = False
    return read_index(index) if newer else build_index(read_json(results))
