"""The records behind the cells (templates/page/detail.js): every call made, as columns grouped by cell,
for the detail dialog's "Every call made" table. They are the bulk of the page (~580k at ``--pairs all``):
every string in them is an index into a vocabulary or a table, durations are milliseconds (-1: not
measured; the harness writes milliseconds), and the page reads them only when a dialog first needs them."""

from __future__ import annotations

import math
from array import array
from typing import Any

from runner.core.vocab import ORIGINS, OUTCOMES, STAGES, WRITTEN

from .page_cells import Errors
from .page_pack import Columns, Table
from .view import View

FIELDS = (
    "cell",
    "option",
    "outcome",
    "stage",
    "written",
    "error",
    "max_abs_diff",
    "tolerance",
    "save_s",
    "load_s",
    "call_s",
    "call",
    "origin",
)


def records(view: View, errors: Errors) -> tuple[Columns, dict[str, Any]]:
    """The record columns, sorted by cell (stable; a record of no cell, -1, first), and the tables they point into."""
    results = view.results
    by_key = view.by_key
    owners = (by_key.get((r["scenario"], r["format"], r["save_row"], r["load_row"])) for r in results["records"])
    cell = array("i", (-1 if c is None or c.index is None else c.index for c in owners))
    order = _by_cell(cell, len(view.cells))
    option_ix = {o: i for i, o in enumerate(results["options"])}
    outcome_ix = {o: i for i, o in enumerate(OUTCOMES)}
    stage_ix = {s: i for i, s in enumerate(STAGES)}
    written_ix: dict[str | None, int] = {w: i for i, w in enumerate(WRITTEN)} | {None: -1}
    origin_ix = {o: i for i, o in enumerate(ORIGINS)}
    tolerances, calls, diffs = Table(), Table(), Table()
    # per error object (read_json shares them): its index and its origin's
    error_of: dict[int, tuple[int, int]] = {}
    tolerance_of: dict[tuple[float, float], int] = {}
    columns = Columns(FIELDS)
    append = columns.append
    raw = results["records"]
    # ~580k records at --pairs all: the loop body is inlined (a function call per field was most of its time)
    for j in order:
        r = raw[j]
        error = r["error"]
        found = error_of.get(id(error))
        if found is None:
            origin = error.get("origin") if error else None
            found = error_of[id(error)] = (errors.ref(error), origin_ix[origin] if origin else -1)
        tol = r["tolerance"]
        tol_key = (tol["rtol"], tol["atol"])
        tolerance = tolerance_of.get(tol_key)
        if tolerance is None:
            tolerance = tolerance_of[tol_key] = tolerances.ref(list(tol_key), tol_key)
        diff = r["max_abs_diff"]
        durations = r["durations"]
        save_s, load_s, call_s = durations.get("save_s"), durations.get("load_s"), durations.get("call_s")
        call = r.get("call")
        append(
            (
                cell[j],
                option_ix[r["option"]],
                outcome_ix[r["outcome"]],
                stage_ix[r["stage"]],
                written_ix[r["written"]],
                found[0],
                -1 if diff is None else diffs.ref(_finite(diff), (type(diff).__name__, diff)),
                tolerance,
                -1 if save_s is None else round(save_s * 1000),
                -1 if load_s is None else round(load_s * 1000),
                -1 if call_s is None else round(call_s * 1000),
                calls.ref(call) if call else -1,
                found[1],
            )
        )
    tables = {
        # what the record fields' numbers point into
        "record_vocab": {"option": results["options"], "outcome": OUTCOMES, "stage": STAGES, "written": WRITTEN},
        "tolerances": tolerances.values,
        # the distinct max_abs_diff values (a number, or "nan"/"inf": JSON has no NaN)
        "diffs": diffs.values,
        # a record's call, as code (runner/harness/protocol.py CALLS with the request's values), and where its
        # error was raised (runner/core/vocab.py ORIGINS)
        "calls": calls.values,
        "origins": ORIGINS,
    }
    return columns, tables


def _by_cell(cell: array[int], n_cells: int) -> array[int]:
    """The records' positions ordered by their cell (a counting sort: stable, and no list of ~580k ints)."""
    starts = array("i", bytes(4 * (n_cells + 2)))
    for c in cell:
        starts[c + 2] += 1
    for i in range(2, n_cells + 2):
        starts[i] += starts[i - 1]
    order = array("i", bytes(4 * len(cell)))
    for j, c in enumerate(cell):
        order[starts[c + 1]] = j
        starts[c + 1] += 1
    return order


def _finite(value: float | None) -> float | str | None:
    """JSON has no NaN/Infinity (JSON.parse rejects them); a model that outputs NaN is shown as "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
