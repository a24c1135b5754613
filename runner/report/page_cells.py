"""The page's cells (templates/page/matrix.js, overview.js, filters.js): every (scenario, format, save row,
load row) of the run, same-env or not, as columns pointing into the tables of distinct errors,
tracebacks, fixes and error groups."""

from __future__ import annotations

from typing import Any

from runner.harness import protocol

from .page_pack import Columns, Table
from .view import View

# The columns of a cell the matrix, the filters and the overview read (answer.js adds "answer" and "use").
FIELDS = (
    "scenario",
    "format",
    "save_row",
    "load_row",
    "status",
    "option",
    "written",
    "error",
    "fix",
    "group",
    "traceback",
)
# Cell fields stored as an index into a table of their words (the page's cell_vocab).
WORDS = ("status", "option", "written")


class Errors:
    """The distinct errors (type and message) of cells and records, and the tracebacks the detail shows."""

    def __init__(self) -> None:
        self.errors = Table()
        self.tracebacks = Table()
        self._by_id: dict[int, int] = {}

    def ref(self, error: dict[str, Any] | None) -> int:
        if error is None:
            return -1
        # results.json's errors are shared objects in memory (runner.core.results.unpack): one lookup each
        found = self._by_id.get(id(error))
        if found is None:
            found = self._by_id[id(error)] = self.errors.ref(
                {"type": error["type"], "message": error["message"]}, (error["type"], error["message"])
            )
        return found

    def traceback_ref(self, error: dict[str, Any] | None) -> int:
        # Only cells carry a traceback: the detail view shows the one the status rests on.
        if error is None or not error["traceback"]:
            return -1
        return self.tracebacks.ref(_tail(error["traceback"]))


def cells(view: View, errors: Errors) -> tuple[Columns, dict[str, Any]]:
    """The cell columns (``FIELDS``, in ``view.cells`` order) and the tables they point into."""
    results = view.results
    row_ix = {r["id"]: i for i, r in enumerate(view.columns)}
    scenario_ix = {s["id"]: i for i, s in enumerate(results["scenarios"])}
    format_ix = {f: i for i, f in enumerate(results["formats"])}
    group_ix = {g.id: i for i, g in enumerate(view.groups)}
    words = {name: Table() for name in WORDS}
    fixes = Table()
    columns = Columns(FIELDS)
    for i, c in enumerate(view.cells):
        group = view.group_of.get(i)
        columns.append(
            (
                scenario_ix[c.scenario],
                format_ix[c.format],
                row_ix[c.save_row],
                row_ix[c.load_row],
                words["status"].ref(c.status),
                words["option"].ref(c.option),
                words["written"].ref(c.written),
                errors.ref(c.error),
                fixes.ref(c.fix),
                group_ix[group.id] if group else -1,
                errors.traceback_ref(c.error),
            )
        )
    tables = {
        "cell_vocab": {name: table.values for name, table in words.items()},
        "fixes": fixes.values,
        "groups": [
            {"id": g.id, "type": g.type, "message": g.message, "cells": len(g.cells), "same_env": len(g.same_env_cells)}
            for g in view.groups
        ],
    }
    return columns, tables


# The page shows a traceback's last lines; results.json keeps what the harness captured.


def _tail(traceback: str) -> str:
    lines = traceback.rstrip("\n").split("\n")
    return "\n".join(lines[-protocol.TRACEBACK_LINES :])
