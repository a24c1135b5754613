"""Upgrades: saved in one environment, loaded in the next; and the page's upgrade shortcuts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runner.core.cells import count_statuses, transition, upgrade_answer, works
from runner.core.lines import next_release, release_lines
from runner.core.status import OPTION_CALLS
from runner.core.versions import version_key
from runner.core.vocab import ANSWER_TITLES, ANSWERS, FLAVOURS, STATUS_LABELS, Answer

from .cellview import CellView

# How an upgrade cell compares with loading where it was saved.
_CHANGE = {"broken": "breaks", "fixed": "fixed", "changed": "changed", "same": "same"}


@dataclass(frozen=True, kw_only=True)
class UpgradeCell:
    """One scenario × format of an upgrade: its cell where it was saved, and once loaded in the new env.

    The one pairing of "before" and "after" that every upgrade view reads: MATRIX.md's Upgrades
    table (``change``) and "Can I upgrade?" (``answer``), both from runner/core/cells.py.
    """

    before: CellView | None  # same-env cell of the save row
    after: CellView  # saved in the save row, loaded in the load row

    @property
    def scenario(self) -> str:
        return self.after.scenario

    @property
    def format(self) -> str:
        return self.after.format

    @property
    def change(self) -> str:
        """breaks / fixed / changed / same (relative to loading where it was saved)."""
        if self.before is None or self.before.status is None:
            return "new"
        kind = transition(self.before.status, self.after.status, self.before.option, self.after.option)  # type: ignore[arg-type]
        return _CHANGE[kind]

    @property
    def answer(self) -> Answer:
        before = self.before
        status = before.status if before is not None else None
        return upgrade_answer(status, self.after.status, before.option if before else None, self.after.option)  # type: ignore[arg-type]

    @property
    def title(self) -> str:
        return ANSWER_TITLES[self.answer]

    @property
    def todo(self) -> str:
        """What to do: the load call to change to, or the fix of the deciding failure."""
        if self.answer == "change_call":
            change = OPTION_CALLS.get(self.after.option or "", self.after.option)
            return f"load with {change}" + (f": `{' '.join(self.after.call.split())}`" if self.after.call else "")
        if self.answer in ("breaks", "wrong"):
            return self.after.fix or ""
        return ""


@dataclass(frozen=True, kw_only=True)
class Upgrade:
    """Every cell saved in ``save`` and loaded in ``load``; ``kind`` says why this pair is summarised."""

    save: dict[str, Any]
    load: dict[str, Any]
    # "next release" (same line), "same TF, other Python", "other backend", "line switch" (to a later line);
    # for "Can I upgrade?": "newest Keras 2 (tf.keras) → newest Keras 3", "Keras 3 → its next release"
    kind: str
    cells: list[UpgradeCell]

    @property
    def label(self) -> str:
        return self.kind

    def counts(self) -> list[tuple[str, str, str, int]]:
        counts = count_statuses(c.after.status for c in self.cells)
        return [(s, *STATUS_LABELS[s], n) for s, n in counts.items()]  # type: ignore[index]

    def changed(self, change: str) -> list[UpgradeCell]:
        return [c for c in self.cells if c.change == change]

    @property
    def working(self) -> int:
        return sum(1 for c in self.cells if works(c.after.status))

    def count(self, answer: str) -> int:
        return sum(1 for c in self.cells if c.answer == answer)

    def answer_counts(self) -> list[tuple[str, str, int]]:
        """``(answer, title, n)`` in the vocabulary's order, zeros left out."""
        return [(a, ANSWER_TITLES[a], n) for a in ANSWERS if (n := self.count(a))]

    @property
    def attention(self) -> list[UpgradeCell]:
        """The cells a team must act on: every answer but "works" and "already fails"."""
        return [c for c in self.cells if c.answer not in ("works", "already_fails")]


def pair_cells(
    save: dict[str, Any], load: dict[str, Any], by_key: dict[tuple[str, str, str, str], CellView], results: dict
) -> list[UpgradeCell]:
    """Every scenario × format measured saved in ``save`` and loaded in ``load``, with its same-env cell."""
    out = []
    for scenario in results["scenarios"]:
        for fmt in results["formats"]:
            after = by_key.get((scenario["id"], fmt, save["id"], load["id"]))
            if after is not None and after.status is not None:
                out.append(UpgradeCell(before=by_key.get((scenario["id"], fmt, save["id"], save["id"])), after=after))
    return out


def savers_of(cells: Iterable[CellView]) -> set[str]:
    """Rows that saved something: the ones with same-env cells (load-only rows, e.g. Keras 3 on JAX, have none)."""
    return {c.save_row for c in cells if c.same_env and not c.synthetic}


def upgrades(
    columns: list[dict[str, Any]], by_key: dict[tuple[str, str, str, str], CellView], results: dict[str, Any]
) -> list[Upgrade]:
    """The upgrades a team makes, where the run measured them: each line's next release, the same TF on
    another Python, another Keras 3 backend, and line switches (newest of a line to the newest of a later one)."""
    savers = savers_of(by_key.values())
    lines = release_lines(columns, savers)
    pairs: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    for line in lines.values():
        pairs += [(a, b, "next release") for a, b in zip(line, line[1:], strict=False)]
    # the Python axis: the same TF and Keras on another Python, both ways
    for save in columns:
        for load in columns:
            if (
                save is not load
                and "python-axis" in save["tags"] + load["tags"]
                and (save["flavour"], save["tf"], save["keras"]) == (load["flavour"], load["tf"], load["keras"])
            ):
                pairs.append((save, load, "same TF, other Python"))
    # load-only rows: the same Keras 3 on another backend (KERAS_BACKEND=jax, torch)
    for load in columns:
        if load["id"] not in savers:
            pairs += [(save, load, "other backend") for save in columns if save["id"] in savers]
    newest = {f: line[-1] for f, line in lines.items()}
    for f, save in newest.items():
        for g, load in newest.items():
            if FLAVOURS.index(g) > FLAVOURS.index(f) and version_key(load["tf"]) >= version_key(save["tf"]):  # type: ignore[arg-type]
                pairs.append((save, load, "line switch"))
    out = []
    for save, load, kind in pairs:
        cells = pair_cells(save, load, by_key, results)
        if cells:
            out.append(Upgrade(save=save, load=load, kind=kind, cells=cells))
    return out


def shortcuts(columns: list[dict[str, Any]], savers: set[str]) -> list[dict[str, Any]]:
    """For each column: the next release of its line, its Python-axis twins, the load-only rows of its
    Keras (other backends) and the newest row of each line."""
    ix = {r["id"]: i for i, r in enumerate(columns)}
    lines = release_lines(columns, savers)
    out = []
    for row in columns:
        later = next_release(row, lines.get(row["flavour"], []))
        backends = [
            ix[r["id"]]
            for r in columns
            if r["id"] not in savers and r is not row and r["status"] == "ok" and r["keras"] == row["keras"]
        ]
        twins = [
            ix[r["id"]]
            for r in columns
            if r is not row
            and r["flavour"] == row["flavour"]
            and r["tf"] == row["tf"]
            and r["keras"] == row["keras"]
            and r["python"] != row["python"]
        ]
        out.append(
            {
                "next": ix[later["id"]] if later is not None else -1,
                "twins": twins,
                "backends": backends,
                "newest": [ix[line[-1]["id"]] for line in lines.values() if line[-1] is not row],
            }
        )
    return out
