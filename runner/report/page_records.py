"""The records behind the cells (templates/page/detail.js): every call made, as columns grouped by cell,
for the detail dialog's "Every call made" table. They are the bulk of the page (~580k at ``--pairs all``):
every string in them is an index into a vocabulary or a table, durations are milliseconds, and the page
reads them only when a dialog first needs them."""

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
    found = [by_key.get((r["scenario"], r["format"], r["save_row"], r["load_row"])) for r in results["records"]]
    cell = array("i", (-1 if c is None or c.index is None else c.index for c in found))
    del found
    order = _by_cell(cell, len(view.cells))
    option_ix = {o: i for i, o in enumerate(results["options"])}
    outcome_ix = {o: i for i, o in enumerate(OUTCOMES)}
    stage_ix = {s: i for i, s in enumerate(STAGES)}
    written_ix = {w: i for i, w in enumerate(WRITTEN)}
    origin_ix = {o: i for i, o in enumerate(ORIGINS)}
    tolerances, calls, diffs = Table(), Table(), Table()
    columns = Columns(FIELDS)
    raw = results["records"]
    for j in order:
        r = raw[j]
        tol = r["tolerance"]
        durations = r["durations"]
        diff = _finite(r["max_abs_diff"])
        error = r["error"]
        columns.append(
            (
                cell[j],
                option_ix[r["option"]],
                outcome_ix[r["outcome"]],
                stage_ix[r["stage"]],
                written_ix[r["written"]] if r["written"] is not None else -1,
                errors.ref(error),
                diffs.ref(diff, (type(diff).__name__, diff)),
                tolerances.ref([tol["rtol"], tol["atol"]], (tol["rtol"], tol["atol"])),
                _ms(durations.get("save_s")),
                _ms(durations.get("load_s")),
                _ms(durations.get("call_s")),
                calls.ref(r.get("call") or None),
                origin_ix[error["origin"]] if error and error.get("origin") else -1,
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


def _ms(seconds: float | None) -> int:
    """A duration in milliseconds (-1: not measured): enough to read (the harness writes milliseconds)."""
    return -1 if seconds is None else round(seconds * 1000)


def _finite(value: float | None) -> float | str | None:
    """JSON has no NaN/Infinity (JSON.parse rejects them); a model that outputs NaN is shown as "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
