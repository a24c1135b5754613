"""Version ranges of equal value ("first broken / first fixed"), MDN compat-data style."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runner.core.cells import transition
from runner.core.lines import axis as version_axis
from runner.core.lines import main_line
from runner.core.versions import minor as short_version
from runner.core.vocab import FLAVOURS


@dataclass(frozen=True, kw_only=True)
class Range:
    """Consecutive releases of one line with the same value (a status or a claim verdict)."""

    value: str
    axis: str  # "TF" or "Keras"
    lo: str
    hi: str
    last: bool  # reaches the newest release measured
    only: bool  # the only range of its line
    rows: tuple[str, ...]

    @property
    def versions(self) -> str:
        """``TF 2.0–2.11``, ``TF 2.5``, or ``TF ≥ 2.16`` for the newest range of a line that changed."""
        if self.last and not self.only:
            return f"{self.axis} ≥ {self.lo}"
        return f"{self.axis} {self.lo}" if self.lo == self.hi else f"{self.axis} {self.lo}–{self.hi}"


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
    out = []
    for flavour in sorted(by_flavour, key=lambda f: FLAVOURS.index(f) if f in FLAVOURS else len(FLAVOURS)):
        value_of = {id(r): v for r, v in by_flavour[flavour]}
        line = main_line([r for r, _ in by_flavour[flavour]])
        spans: list[list[Any]] = []  # [value, axis, lo, hi, rows]
        for row in line:
            axis, version = version_axis(row)
            value = value_of[id(row)]
            if spans and spans[-1][0] == value:
                spans[-1][3] = short_version(version)
                spans[-1][4].append(row["id"])
            else:
                spans.append([value, axis, short_version(version), short_version(version), [row["id"]]])
        ranges = [
            Range(value=v, axis=a, lo=lo, hi=hi, last=i == len(spans) - 1, only=len(spans) == 1, rows=tuple(ids))
            for i, (v, a, lo, hi, ids) in enumerate(spans)
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
        """``(kind, flavour, before, after)``: kind is ``broken`` or ``fixed`` (works -> fails, fails -> works)."""
        out: list[tuple[str, str, Range, Range]] = []
        for line in self.lines:
            for before, after in zip(line.ranges, line.ranges[1:], strict=False):
                kind = transition(before.value, after.value)
                if kind in ("broken", "fixed"):
                    out.append((kind, line.flavour, before, after))
        return out

    @property
    def uniform(self) -> bool:
        """The same status in every release measured, across flavours."""
        return len({r.value for line in self.lines for r in line.ranges}) <= 1
