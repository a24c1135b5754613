""" "Can I upgrade from A to B?": one answer per pattern and format (runner/core/cells.py upgrade_answer).

The page asks it for any measured pair; MATRIX.md answers it for the upgrades most
teams make: the newest Keras 2 and the newest tf-keras to the newest Keras 3, and
each Keras 3 release to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.core.cells import upgrade_answer
from runner.core.lines import next_release, release_lines
from runner.core.status import OPTION_CALLS
from runner.core.vocab import ANSWER_TITLES, ANSWERS, FLAVOUR_LABELS, Answer

from .cellview import CellView
from .upgrades import savers_of


@dataclass(frozen=True, kw_only=True)
class AnswerCell:
    scenario: str
    format: str
    answer: Answer
    before: CellView | None  # saved and loaded in the save env
    after: CellView  # saved in the save env, loaded in the load env

    @property
    def title(self) -> str:
        return ANSWER_TITLES[self.answer]

    @property
    def todo(self) -> str:
        """What to do: the load call to change to, or the fix of the deciding failure."""
        if self.answer == "change_call":
            return f"load with {OPTION_CALLS.get(self.after.option or '', self.after.option)}"
        if self.answer in ("breaks", "wrong"):
            return self.after.fix or ""
        return ""


@dataclass(frozen=True, kw_only=True)
class UpgradeAnswer:
    save: dict[str, Any]
    load: dict[str, Any]
    label: str  # why this upgrade is listed
    cells: list[AnswerCell]

    def count(self, answer: str) -> int:
        return sum(1 for c in self.cells if c.answer == answer)

    def counts(self) -> list[tuple[str, str, int]]:
        """``(answer, title, n)`` in the vocabulary's order, zeros left out."""
        return [(a, ANSWER_TITLES[a], n) for a in ANSWERS if (n := self.count(a))]

    @property
    def attention(self) -> list[AnswerCell]:
        """The cells a team must act on: every answer but "works" and "already fails"."""
        return [c for c in self.cells if c.answer not in ("works", "already_fails")]


def answer(
    save: dict[str, Any], load: dict[str, Any], by_key: dict[tuple[str, str, str, str], CellView], results: dict
) -> list[AnswerCell]:
    out = []
    for scenario in results["scenarios"]:
        for fmt in results["formats"]:
            after = by_key.get((scenario["id"], fmt, save["id"], load["id"]))
            if after is None or after.status is None:
                continue
            before = by_key.get((scenario["id"], fmt, save["id"], save["id"]))
            status = before.status if before is not None else None
            out.append(
                AnswerCell(
                    scenario=scenario["id"],
                    format=fmt,
                    answer=upgrade_answer(status, after.status),
                    before=before,
                    after=after,
                )
            )
    return out


def common_upgrades(
    columns: list[dict[str, Any]], by_key: dict[tuple[str, str, str, str], CellView], results: dict
) -> list[UpgradeAnswer]:
    """The newest Keras 2 and tf-keras -> the newest Keras 3, then each Keras 3 release -> the next (if measured)."""
    lines = release_lines(columns, savers_of(by_key.values()))
    keras3 = lines.get("keras3", [])
    pairs: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    if keras3:
        for flavour in ("keras2", "tf_keras"):
            if lines.get(flavour):
                label = f"newest {FLAVOUR_LABELS[flavour]} → newest Keras 3"  # type: ignore[index]
                pairs.append((lines[flavour][-1], keras3[-1], label))
        for row in keras3:
            later = next_release(row, keras3)
            if later is not None:
                pairs.append((row, later, "Keras 3 → its next release"))
    out = []
    for save, load, label in pairs:
        cells = answer(save, load, by_key, results)
        if cells:
            out.append(UpgradeAnswer(save=save, load=load, label=label, cells=cells))
    return out
