"""The view's other sections: the articles' claims, the changes since the previous run, the trend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runner.core.vocab import KINDS, ChangeKind

from .cellview import CellView
from .claims import Claim, ClaimResult
from .diff import diff_results
from .history import pass_rate, summarize
from .ranges import LineRanges

# index.html: runs in the trend.
HISTORY_SHOWN = 60


@dataclass(frozen=True, kw_only=True)
class ClaimView:
    result: ClaimResult
    lines: list[LineRanges]  # verdict ranges along the versions
    cells: Sequence[tuple[CellView, str, str]]  # (cell, verdict, why), measured cells first

    @property
    def claim(self) -> Claim:
        return self.result.claim


@dataclass(frozen=True, kw_only=True)
class Change:
    kind: str
    key: dict[str, str]
    old: dict[str, Any]
    new: dict[str, Any]
    cell: CellView | None  # in this run


@dataclass(frozen=True, kw_only=True)
class Changes:
    """The diff against the previous run, for the page and MATRIX.md."""

    diff: dict[str, Any]
    by_kind: dict[ChangeKind, list[Change]]

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.by_kind.values())


def changes_since(
    previous: dict[str, Any] | None, results: dict[str, Any], by_key: dict[Any, CellView]
) -> Changes | None:
    if previous is None:
        return None
    d = diff_results(previous, results)
    by_kind = {
        kind: [
            Change(
                kind=kind,
                key=e["key"],
                old=e["old"],
                new=e["new"],
                cell=by_key.get((e["key"]["scenario"], e["key"]["format"], e["key"]["save_row"], e["key"]["load_row"])),
            )
            for e in d[kind]
        ]
        for kind in KINDS
    }
    return Changes(diff=d, by_kind=by_kind)


def history_entries(history: Sequence[dict[str, Any]], results: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of the history file, with this run added if the file does not have it yet; each with its pass rate."""
    entries = [dict(e) for e in history]
    if not any(e.get("finished") == results["run"]["finished"] for e in entries):
        entries.append(summarize(results))
    entries = entries[-HISTORY_SHOWN:]
    for e in entries:
        # the matrix's scope (same-env cells) when the entry has it, as the summary and the badge use
        e["counts"] = e.get("same_env") or e["counts"]
        e["cells"] = sum(e["counts"].values())
        e["pass_rate"] = pass_rate(e["counts"])
        e["current"] = e.get("finished") == results["run"]["finished"]
    return entries
