"""What changed between two runs: newly broken, newly fixed, changed error.

Cells are matched by (scenario, format, save_row, load_row). A cell *works* when
its status is one of :data:`WORKING` (it loads and computes the same, possibly
with a load option); the diff sorts every cell present in both runs into:

``newly_broken``   worked before, does not now;
``newly_fixed``    did not work before, does now;
``changed_error``  failed in both, but with another status or error signature;
``changed_status`` worked in both, but another way (``pass`` -> ``pass_unsafe``).

Cells only in one run are counted as ``added`` / ``removed`` (a different
selection, not a change of behaviour). ``python -m runner diff OLD NEW`` prints
:func:`diff_markdown`; the page shows the same lists as "Changed since last run".
"""

from __future__ import annotations

from typing import Any

from runner.core.cells import KEY_FIELDS, cell_key, transition, works
from runner.core.signature import error_signature
from runner.core.vocab import KIND_TITLES, KINDS, STATUS_LABELS, ChangeKind

from .markup import environment


def _error_text(cell: dict[str, Any]) -> str | None:
    error = cell.get("error")
    return f"{error['type']}: {error['message']}" if error else None


def _side(cell: dict[str, Any]) -> dict[str, Any]:
    return {"status": cell["status"], "option": cell["option"], "error": _error_text(cell)}


def _signature(cell: dict[str, Any]) -> tuple[str, tuple[str, str] | None]:
    error = cell.get("error")
    return cell["status"], error_signature(error["type"], error["message"]) if error else None


def classify(old: dict[str, Any], new: dict[str, Any]) -> ChangeKind | None:
    """The kind of change between two versions of one cell, or None when nothing changed."""
    kind = transition(old["status"], new["status"], old.get("option"), new.get("option"))
    if kind == "broken":
        return "newly_broken"
    if kind == "fixed":
        return "newly_fixed"
    if works(old["status"]):
        return "changed_status" if kind == "changed" else None
    return "changed_error" if _signature(old) != _signature(new) else None


def diff_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The changes from ``old`` to ``new`` (two results.json documents).

    Returns ``{"old": run info, "new": run info, "newly_broken": [...], "newly_fixed": [...],
    "changed_error": [...], "changed_status": [...], "added": n, "removed": n, "unchanged": n}``;
    each entry is ``{"key": {scenario, format, save_row, load_row}, "old": {status, option, error},
    "new": {...}}`` with ``error`` as ``"Type: message"`` or None. Entries are sorted by key.
    """
    old_cells = {cell_key(c): c for c in old["cells"]}
    new_cells = {cell_key(c): c for c in new["cells"]}
    out: dict[str, Any] = {kind: [] for kind in KINDS}
    unchanged = 0
    for key in sorted(old_cells.keys() & new_cells.keys()):
        before, after = old_cells[key], new_cells[key]
        kind = classify(before, after)
        if kind is None:
            unchanged += 1
            continue
        out[kind].append({"key": dict(zip(KEY_FIELDS, key, strict=True)), "old": _side(before), "new": _side(after)})
    out["added"] = len(new_cells.keys() - old_cells.keys())
    out["removed"] = len(old_cells.keys() - new_cells.keys())
    out["unchanged"] = unchanged
    out["old"] = {"finished": old["run"]["finished"], "version": old["tool"]["version"], "cells": len(old_cells)}
    out["new"] = {"finished": new["run"]["finished"], "version": new["tool"]["version"], "cells": len(new_cells)}
    return out


def changed_count(d: dict[str, Any]) -> int:
    return sum(len(d[kind]) for kind in KINDS)


def diff_markdown(d: dict[str, Any]) -> str:
    """The diff as Markdown (templates/diff.md.j2): counts, then one table per kind of change."""
    return (
        environment()
        .get_template("diff.md.j2")
        .render(d=d, kinds=KINDS, titles=KIND_TITLES, total=changed_count(d), STATUS_LABELS=STATUS_LABELS)
    )
