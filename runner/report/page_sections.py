"""The page's smaller parts: what changed since the previous run (filters.js, detail.js), the articles'
claims (claims.js, detail.js) and each row's history (detail.js)."""

from __future__ import annotations

from typing import Any

from runner.core.vocab import KIND_TITLES

from .claims import VERDICT_LABELS
from .view import View


def changes(view: View) -> dict[str, Any]:
    by_cell: dict[int, list[str]] = {}
    if view.changes:
        for kind, entries in view.changes.by_kind.items():
            for change in entries:
                if change.cell is not None and change.cell.index is not None:
                    by_cell[change.cell.index] = [kind, change.old["status"]]
    return {
        # cell index -> [kind of change since the previous run (runner/report/diff.py KINDS), the old status]
        "changes": by_cell,
        "change_titles": KIND_TITLES,
        "has_previous": view.changes is not None,
    }


def claims(view: View) -> dict[str, Any]:
    return {
        # per claim (in the page's order): its measured cells as [cell index, verdict, why]
        "claims": [[[c.index, v, why[:100]] for c, v, why in cv.cells if v != "not_measured"] for cv in view.claims],
        "claim_quotes": [[cv.claim.id, cv.claim.quote] for cv in view.claims],
        "verdicts": {v: {"symbol": sym, "label": label} for v, (sym, label) in VERDICT_LABELS.items()},
    }


def history(view: View) -> dict[str, Any]:
    return {
        # per row (index): [run finished, cells passing, cells] for each run of the history that loaded in it
        "row_history": [
            [
                [e["finished"], counts.get("pass", 0), sum(counts.values())]
                for e in view.history
                if (counts := e.get("per_load_row", {}).get(col["id"]))
            ]
            for col in view.columns
        ],
    }
