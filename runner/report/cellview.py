"""One cell and one error group as the reports show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.core.vocab import EXPECTED_WRITTEN, NOT_RUN, STATUS_LABELS

# Cells that need no note: everything else is listed under its error signature.
_QUIET: frozenset[str] = frozenset({"pass"})


@dataclass(frozen=True, kw_only=True)
class CellView:
    """One (scenario, format, save_row, load_row) as the reports show it."""

    index: int | None  # position in page_data()["cells"]; None when not run
    scenario: str
    format: str
    save_row: str
    load_row: str
    status: str | None  # None when not run
    option: str | None
    written: str | None
    error: dict[str, Any] | None  # as in results.json
    fix: str | None
    synthetic: bool = False  # made up for an env_error row that has no cells in results.json
    call: str | None = None  # the code of the call the status rests on (its record's ``call``)

    @property
    def symbol(self) -> str:
        return STATUS_LABELS[self.status][0] if self.status else NOT_RUN[0]  # type: ignore[index]

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status][1] if self.status else NOT_RUN[1]  # type: ignore[index]

    @property
    def same_env(self) -> bool:
        return self.save_row == self.load_row

    @property
    def unexpected_written(self) -> bool:
        """The save wrote something other than what its format suggests (and not nothing)."""
        expected = EXPECTED_WRITTEN.get(self.format)  # type: ignore[call-overload]
        return bool(expected and self.written not in (expected, "nothing", None))

    @property
    def noted(self) -> bool:
        return self.status is not None and self.status not in _QUIET


@dataclass(kw_only=True)
class ErrorGroup:
    """Noted cells sharing an error signature, numbered E1, E2, ... by frequency."""

    signature: tuple[str, str]
    type: str
    message: str
    traceback: str | None
    cells: list[CellView] = field(default_factory=list)
    id: str = ""

    @property
    def same_env_cells(self) -> list[CellView]:
        return [c for c in self.cells if c.same_env]

    @property
    def anchor(self) -> str:
        return self.id.lower()

    @property
    def fixes(self) -> list[str]:
        """The distinct fixes of the group's same-env cells, in first-seen order."""
        return list(dict.fromkeys(c.fix for c in self.same_env_cells if c.fix))


@dataclass(frozen=True, kw_only=True)
class MatrixRow:
    scenario: dict[str, Any]
    format: str
    cells: list[CellView]  # one per column, in column order
