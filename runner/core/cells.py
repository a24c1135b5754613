"""Cells: their key, counts by status, and the one rule for "works / broke / fixed".

A cell is one scenario × format × save environment × load environment. Every view
that compares two cells (the diff between runs, an upgrade, the version ranges,
the page's script through ``page_data``) asks :func:`transition`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from .vocab import STATUSES, WORKING

CellKey = tuple[str, str, str, str]
KEY_FIELDS = ("scenario", "format", "save_row", "load_row")

Transition = Literal["broken", "fixed", "changed", "same"]


def cell_key(cell: dict[str, Any]) -> CellKey:
    return (cell["scenario"], cell["format"], cell["save_row"], cell["load_row"])


def works(status: str | None) -> bool:
    return status in WORKING


def transition(before: str, after: str) -> Transition:
    """``broken``: worked, does not now; ``fixed``: the other way; ``changed``: another status on the same side."""
    was, now = works(before), works(after)
    if was and not now:
        return "broken"
    if now and not was:
        return "fixed"
    return "same" if before == after else "changed"


def count_statuses(statuses: Iterable[str | None]) -> dict[str, int]:
    """How many of each status, in the vocabulary's order, zeros and ``None`` left out."""
    counts: dict[str, int] = {}
    for status in statuses:
        if status is not None:
            counts[status] = counts.get(status, 0) + 1
    return {s: counts[s] for s in STATUSES if s in counts}
