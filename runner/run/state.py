"""What a run holds: each row's env, the records so far, and the cells still in flight."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from runner.core.cells import works
from runner.core.status import derive
from runner.core.vocab import OPTIONS
from runner.harness.protocol import ATOL, RTOL

from .backends import Env
from .grid import Row


@dataclass
class RowRun:
    """What happened to one row's env in this run."""

    row: Row
    env: Env | None = None
    error: str | None = None
    timings: dict = field(default_factory=dict)

    @property
    def ready(self) -> Env:
        """The built env (only asked for rows whose env did not fail)."""
        assert self.env is not None, f"{self.row.id}: env not built"
        return self.env


@dataclass
class RunResult:
    rows: list[RowRun]
    records: list[dict]
    ran: int = 0
    cached: int = 0
    loads: int = 0  # load requests sent to a harness
    deduped: int = 0
    processes: Counter = field(default_factory=Counter)  # harness processes started, requests by mode, ...
    no_fork: dict = field(default_factory=dict)  # row -> why it ran a fresh interpreter per request
    timings: dict = field(default_factory=dict)

    @property
    def worker_starts(self) -> int:
        """Harness processes started (each imports TensorFlow)."""
        return self.processes["processes"]


class Progress:
    """What the engine reports as it goes; the CLI plugs rich in here."""

    def start(self, total: int) -> None: ...
    def advance(self, row: str, n: int, failures: int) -> None: ...


def new_record(scenario: str, fmt: str, save_row: str, load_row: str, option: str, **fields) -> dict:
    base = {
        "scenario": scenario,
        "format": fmt,
        "save_row": save_row,
        "load_row": load_row,
        "option": option,
        "outcome": "ok",
        "stage": "compare",
        "written": None,
        "error": None,
        "max_abs_diff": None,
        "tolerance": {"rtol": RTOL, "atol": ATOL},
        "durations": {},
        "mode": None,
    }
    base.update(fields)
    return base


@dataclass
class PendingCell:
    scenario: str
    fmt: str
    save_row: str
    load_row: str
    key: str
    lazy: bool
    records: dict = field(default_factory=dict)  # option -> record
    wanted: tuple = OPTIONS
    claimed: bool = False  # taken by a row's own harness in phase 1 (its save row was done by then)

    def done(self) -> bool:
        if self.lazy:
            return self.next_option() is None
        return all(o in self.records for o in self.wanted)

    def next_option(self) -> str | None:
        """Lazy cells try the options one by one, in ``OPTIONS`` order, and stop at the first
        of default/custom_objects/registered/safe_mode_off that works: the options after it
        cannot change the cell's status, option or fix (``runner/core/status.py``), so they are not
        loaded. ``compile_off`` is tried only when none of those work."""
        for option in OPTIONS:
            record = self.records.get(option)
            if record is None:
                return option
            if option != "compile_off" and record["outcome"] == "ok":
                return None
        return None


def failing(records: list[dict]) -> int:
    """1 when a finished cell does not work by the status rules (a cell that passes with custom_objects works)."""
    return 0 if works(derive(records)["status"]) else 1
