"""Version ranges of equal value ("first broken / first fixed"), MDN compat-data style."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runner.core.cells import transition
from runner.core.lines import axis as version_axis
from runner.core.lines import main_line
from runner.core.versions import minor as short_version
from runner.core.versions import version_key
from runner.core.vocab import FLAVOURS

KERAS_2_TO_3 = "Keras 2 → 3"  # the boundary between the keras2 and keras3 lines (TF 2.15 -> 2.16)


@dataclass(frozen=True, kw_only=True)
class Range:
    """Consecutive releases of one line with the same value (a status or a claim verdict)."""

    value: str
    axis: str  # "TF" or "Keras"
    lo: str
    hi: str
    last: bool  # reaches the newest TF measured (a line that stopped, like Keras 2 at TF 2.15, never does)
    only: bool  # the only range of its line
    rows: tuple[str, ...]
    tf_lo: str = ""  # the TF releases the range spans (the same as lo/hi on a TF axis)
    tf_hi: str = ""

    @property
    def versions(self) -> str:
        """``TF 2.0–2.11``, ``TF 2.5``, ``TF ≥ 2.16`` for an open range of a line that changed;
        a Keras 3 range names its TF releases too: ``Keras 3.0–3.4 (TF 2.16–2.17)``."""
        if self.last and not self.only:
            text = f"{self.axis} ≥ {self.lo}"
        else:
            text = f"{self.axis} {self.lo}" if self.lo == self.hi else f"{self.axis} {self.lo}–{self.hi}"
        if self.axis != "TF" and self.tf_lo:
            tf = f"TF ≥ {self.tf_lo}" if self.last and not self.only else _span(self.tf_lo, self.tf_hi)
            text += f" ({tf})"
        return text

    @property
    def where(self) -> str:
        """The first release of the range: ``TF 2.16`` or ``Keras 3.4 (TF 2.17)``."""
        return f"{self.axis} {self.lo}" + (f" (TF {self.tf_lo})" if self.axis != "TF" and self.tf_lo else "")


def _span(lo: str, hi: str) -> str:
    return f"TF {lo}" if lo == hi else f"TF {lo}–{hi}"


@dataclass(frozen=True, kw_only=True)
class LineRanges:
    flavour: str
    ranges: list[Range]


def version_ranges(values: Iterable[tuple[dict[str, Any], str | None]]) -> list[LineRanges]:
    """Ranges of equal value along each flavour's versions; ``None`` values (not measured) are skipped.

    ``[(row, "pass"), ...]`` -> ``[LineRanges("keras2", [Range(pass, TF 2.0–2.11), Range(load_error, TF ≥ 2.12)])]``.
    """
    by_flavour: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for row, value in values:
        if value is not None:
            by_flavour.setdefault(row["flavour"], []).append((row, value))
    measured = [short_version(r["tf"]) for pairs in by_flavour.values() for r, _ in pairs]
    newest_tf = max(measured, key=version_key) if measured else ""
    out = []
    for flavour in sorted(by_flavour, key=lambda f: FLAVOURS.index(f) if f in FLAVOURS else len(FLAVOURS)):
        value_of = {id(r): v for r, v in by_flavour[flavour]}
        line = main_line([r for r, _ in by_flavour[flavour]])
        spans: list[list[Any]] = []  # [value, axis, lo, hi, rows, tf_lo, tf_hi]
        for row in line:
            axis, version = version_axis(row)
            value, tf = value_of[id(row)], short_version(row["tf"])
            if spans and spans[-1][0] == value:
                spans[-1][3] = short_version(version)
                spans[-1][4].append(row["id"])
                spans[-1][6] = tf
            else:
                spans.append([value, axis, short_version(version), short_version(version), [row["id"]], tf, tf])
        ranges = [
            Range(
                value=v,
                axis=a,
                lo=lo,
                hi=hi,
                last=i == len(spans) - 1 and tf_hi == newest_tf,
                only=len(spans) == 1,
                rows=tuple(ids),
                tf_lo=tf_lo,
                tf_hi=tf_hi,
            )
            for i, (v, a, lo, hi, ids, tf_lo, tf_hi) in enumerate(spans)
        ]
        out.append(LineRanges(flavour=flavour, ranges=ranges))
    return out


@dataclass(frozen=True, kw_only=True)
class ScenarioRanges:
    """One scenario × format's same-env statuses as version ranges, and where it broke or got fixed."""

    scenario: dict[str, Any]
    format: str
    lines: list[LineRanges]

    @property
    def transitions(self) -> list[tuple[str, str, Range, Range]]:
        """``(kind, line, before, after)``: kind is ``broken`` or ``fixed`` (runner/core/cells.py transition).

        Along each line, and across the Keras 2 -> 3 boundary: the last Keras 2 release (TF 2.15)
        against the first Keras 3 one (TF 2.16), the step ``pip install -U tensorflow`` takes.
        """
        out: list[tuple[str, str, Range, Range]] = []
        for line in self.lines:
            for before, after in zip(line.ranges, line.ranges[1:], strict=False):
                kind = transition(before.value, after.value)
                if kind in ("broken", "fixed"):
                    out.append((kind, line.flavour, before, after))
        by_flavour = {line.flavour: line.ranges for line in self.lines}
        if by_flavour.get("keras2") and by_flavour.get("keras3"):
            before, after = by_flavour["keras2"][-1], by_flavour["keras3"][0]
            kind = transition(before.value, after.value)
            if kind in ("broken", "fixed"):
                out.append((kind, KERAS_2_TO_3, before, after))
        return out

    @property
    def uniform(self) -> bool:
        """The same status in every release measured, across flavours."""
        return len({r.value for line in self.lines for r in line.ranges}) <= 1
