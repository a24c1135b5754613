"""What a run holds: each row's env, the records so far, and the cells still in flight."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from runner.core.cells import works
from runner.core.status import derive
from runner.core.vocab import OPTIONS
from runner.harness.protocol import ATOL, RTOL

from .backends import Env
from .grid import Row
from .workers import Engine as EngineKind


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
    defects: list = field(default_factory=list)  # records whose error the harness's own code raised
    slots: dict = field(default_factory=dict)  # seconds per slot state (busy, idle, waiting_on_saves), busy share
    measured: Counter = field(default_factory=Counter)  # run that measured a cell (its start time) -> cells
    timings: dict = field(default_factory=dict)

    @property
    def worker_starts(self) -> int:
        """Harness processes started (each imports TensorFlow)."""
        return self.processes["processes"]


class Progress:
    """What the engine reports as it goes, phase by phase; the CLI plugs its lines or rich in here.

    ``start``: the cells of the plan. ``envs``/``env_done``: the envs to build and each one done (built,
    reused or failed). ``plan``: what is left after the cache: saves, and cells per (load row, same env)
    to run, over ``slots`` CPU slots. ``started``/``saved``: a harness start or a save, with its
    slot-seconds. ``advance``: finished cells (``cached``: answered without running anything; else the
    slot-seconds of the cell's calls in ``seconds``)."""

    def start(self, total: int) -> None: ...
    def envs(self, total: int) -> None: ...
    def env_done(self, row: str, how: str) -> None: ...
    def plan(self, saves: int, cells: Counter, slots: int) -> None: ...
    def started(self, row: str, seconds: float) -> None: ...
    def saved(self, row: str, seconds: float) -> None: ...
    def advance(
        self, row: str, n: int, failures: int, *, cached: bool = False, seconds: float = 0.0, same: bool = False
    ) -> None: ...


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
    calls: tuple = OPTIONS  # the calls that read this artifact (protocol.calls_for), set when its loads queue
    queued: set = field(default_factory=set)  # calls sent (or about to be)
    gen: int = 0  # bumped when its artifact is saved again: the calls queued before are dropped
    seconds: float = 0.0  # slot-seconds its calls took (the progress's cost per cell)

    def first(self) -> list[str]:
        """The calls queued at once: one, for a lazy cell; every call, for one that makes them all."""
        return list(self.calls[:1]) if self.lazy else list(self.calls)

    def next_option(self) -> str | None:
        """The next call, once every call in flight has answered. A lazy cell makes its calls in ``OPTIONS``
        order and stops at the first that works: the calls after it cannot change the cell's status, option
        or fix (``runner/core/status.py``: the plainest working call decides, and the routes ``compile_off``
        and ``load_weights`` matter only when nothing before them works). Any other makes every call."""
        if len(self.records) < len(self.queued):
            return None
        if self.lazy and any(r["outcome"] == "ok" for r in self.records.values()):
            return None
        return next((o for o in self.calls if o not in self.queued), None)

    def done(self) -> bool:
        return len(self.records) == len(self.queued) and self.next_option() is None


def failing(records: list[dict]) -> int:
    """1 when a finished cell does not work by the status rules (a cell that passes with custom_objects works)."""
    return 0 if works(derive(records)["status"]) else 1


SaveKey = tuple[str, str]  # save row, scenario


@dataclass
class Plan:
    """What the scheduler runs: the pending cells, and the artifacts already complete on disk."""

    rows: list[str]  # rows whose env is built
    order: list[str]  # every involved row, in grid order
    cells: list[PendingCell] = field(default_factory=list)
    metas: dict[SaveKey, dict] = field(default_factory=dict)
    digests: dict[SaveKey, str | None] = field(default_factory=dict)
    saves: list[SaveKey] = field(default_factory=list)  # saves asked for without cells (the save stage)


@dataclass
class Task:
    kind: str  # "save" | "load"
    row: str  # the row whose harness runs it
    scenario: str
    cell: PendingCell | None = None
    option: str | None = None
    gen: int = 0  # the cell's generation when queued: a re-saved artifact makes older tasks stale


class Runner(Protocol):
    """What the scheduler needs of the engine that runs it (runner/run/engine.py Engine)."""

    work: Path
    engine: EngineKind
    scenario_dir: Path
    harness: tuple[str, ...]
    stopping: threading.Event
    jobs: int
    max_live: int
    progress: Progress
    artifacts: Any
    scenarios: dict
    formats: list[str]
    save_timeout: float
    load_timeout: float
    store: Any
    run_id: str | None
