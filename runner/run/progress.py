"""The run's progress by phase, and a time-left figure from what this run measured.

Phases: envs (built / reused / failed of N), then saves (of the rows × scenarios to save) and
loads (cells). Cells answered from the results cache are counted apart: they are neither
work done nor speed. The time left is this run's own rate: the wall time since the plan times
the cells left over the cells done, each cell weighed by what a cell of its kind (load row,
same-env or cross-env) cost in the last published run (``prior_costs``: its calls' durations plus
a fork per call made in a child; a kind that run did not have weighs their mean, and with no
such run every cell weighs the same). The weights matter because load rows differ tenfold (an
old TF row's cell ~0.05 s, a tf-keras row's ~0.4 s) and a run, above all a resumed one, meets
the cheap rows first; the wall time holds everything else (saves, harness starts, scheduling,
a slot waiting on a save, the machine's other load) at the rate this run showed. Until a few
cells of this run are finished, no cell estimate is given; while envs build, their own estimate.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .state import Progress as EngineProgress

if TYPE_CHECKING:
    from rich.progress import TaskID

MIN_CELLS = 5  # cells of this run before its rate is trusted (one is noise)
FORK_S = 0.1  # slot-seconds a forked call costs beyond its own durations (measured: ~0.11 core-s per fork)


class Estimate:
    """The figures behind a progress line, fed by the engine's events (thread-safe through ``lock``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.env_total = self.envs_finished = 0
        self.env_how: Counter = Counter()
        self.env_started = self.env_last = 0.0
        self.planned = False
        self.planned_at = 0.0
        self.saves_total = self.saves_done = 0
        self.cells_left: Counter = Counter()  # (row, same) -> cells still to run
        self.cells_total = self.cells_done = self.cached = self.failing = 0
        self.count: Counter = Counter()  # (row, same) -> this run's finished cells
        self.slots = 1
        self.priors: dict[tuple[str, bool], float] = {}  # (row, same) -> a cell's cost in the last run

    # -- events -------------------------------------------------------------
    def envs(self, total: int) -> None:
        self.env_total, self.env_started = total, time.monotonic()

    def env_done(self, how: str) -> None:
        self.envs_finished += 1
        self.env_how[how] += 1
        self.env_last = time.monotonic()

    def plan(self, saves: int, cells: Counter, slots: int) -> None:
        self.planned, self.planned_at = True, time.monotonic()
        self.saves_total, self.cells_left, self.slots = saves, Counter(cells), max(1, slots)
        self.cells_total = sum(cells.values())

    def saved(self) -> None:
        self.saves_done += 1

    def advance(self, row: str, n: int, failures: int, cached: bool, same: bool) -> None:
        self.failing += failures
        if cached:
            self.cached += n
            return
        self.cells_done += n
        self.cells_left[(row, same)] -= n
        self.count[(row, same)] += n

    # -- figures -------------------------------------------------------------
    def env_left_s(self) -> float | None:
        if not self.envs_finished or self.envs_finished >= self.env_total:
            return None
        rate = self.envs_finished / max(1e-6, self.env_last - self.env_started)
        return (self.env_total - self.envs_finished) / rate

    def left_s(self, now: float | None = None) -> float | None:
        """Wall seconds left at this run's rate, each cell weighed by its kind's cost in the last run;
        None before this run finished a few cells."""
        if not self.cells_done or self.cells_done < min(MIN_CELLS, self.cells_total):
            return None
        usual = sum(self.priors.values()) / len(self.priors) if self.priors else 1.0
        done = sum(c * self.priors.get(k, usual) for k, c in self.count.items())
        left = sum(max(0, c) * self.priors.get(k, usual) for k, c in self.cells_left.items())
        wall = (time.monotonic() if now is None else now) - self.planned_at
        return wall * left / done if done > 0 else None

    def line(self, elapsed: float) -> str:
        if not self.planned:
            if not self.env_total:
                return f"progress: starting, {_clock(elapsed)} elapsed"
            how = ", ".join(f"{k} {v}" for k, v in sorted(self.env_how.items()))
            left = self.env_left_s()
            return (
                f"building envs: {self.envs_finished}/{self.env_total}"
                + (f" ({how})" if how else "")
                + f", {_clock(elapsed)} elapsed"
                + (f", ~{_clock(left)} left for envs" if left is not None else "")
            )
        share = f" ({self.cells_done / self.cells_total:.0%})" if self.cells_total else ""
        parts = [f"saves {self.saves_done}/{self.saves_total}"] if self.saves_total else []
        parts.append(f"cells {self.cells_done}/{self.cells_total}{share}")
        cached = f" (+{self.cached} from the cache)" if self.cached else ""
        left = self.left_s()
        tail = f", ~{_clock(left)} left" if left is not None else ""
        return f"progress: {', '.join(parts)}{cached}, {self.failing} failing, {_clock(elapsed)} elapsed{tail}"


class PlainProgress(EngineProgress):
    """Progress as plain lines every ``every`` seconds, for output that is not a terminal (``tox -p``,
    CI logs, a pipe): the phase, its counts, failing so far, elapsed and time left."""

    def __init__(self, every: float = 30.0, stream: TextIO | None = None, terminal: TextIO | None = None) -> None:
        self.every, self.stream, self.terminal = every, stream or sys.stderr, terminal
        self.figures = Estimate()
        self.started_at = self.last = time.monotonic()

    def start(self, total: int) -> None:
        self.figures.total, self.started_at = total, time.monotonic()
        self.last = self.started_at
        self._line()

    def envs(self, total: int) -> None:
        with self.figures.lock:
            self.figures.envs(total)

    def prior(self, costs: dict[tuple[str, bool], float]) -> None:
        """What each kind of cell cost in the last published run (``prior_costs``)."""
        with self.figures.lock:
            self.figures.priors = dict(costs)

    def env_done(self, row: str, how: str) -> None:
        with self.figures.lock:
            self.figures.env_done(how)
        self._tick()

    def plan(self, saves: int, cells: Counter, slots: int) -> None:
        with self.figures.lock:
            self.figures.plan(saves, cells, slots)
        self._tick(force=True)

    def saved(self, row: str, seconds: float) -> None:
        with self.figures.lock:
            self.figures.saved()
        self._tick()

    def advance(
        self, row: str, n: int, failures: int, *, cached: bool = False, seconds: float = 0.0, same: bool = False
    ) -> None:
        with self.figures.lock:
            self.figures.advance(row, n, failures, cached, same)
            last = self.figures.planned and not cached and self.figures.cells_done >= self.figures.cells_total
        self._tick(force=last)

    def _tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            self._line()

    def _line(self) -> None:
        with self.figures.lock:
            line = self.figures.line(time.monotonic() - self.started_at)
        if self.terminal is not None:  # clear tox's spinner line first; it redraws below
            self.terminal.write("\r\x1b[K" + line + "\n")
            self.terminal.flush()
        else:
            print(line, file=self.stream, flush=True)


class RichProgress(PlainProgress):
    """The same figures on a rich progress bar (an interactive terminal)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        super().__init__(every=1.0)
        self.bar = Progress(TextColumn("{task.fields[line]}"), BarColumn(), MofNCompleteColumn(), transient=False)
        self.task: TaskID | None = None

    def start(self, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("cells", total=None, line="starting")
        super().start(total)

    def _line(self) -> None:
        with self.figures.lock:
            line = self.figures.line(time.monotonic() - self.started_at)
            done, total = self.figures.cells_done, (self.figures.cells_total if self.figures.planned else None)
        if self.task is not None:
            self.bar.update(self.task, completed=done, total=total, line=line)

    def stop(self) -> None:
        self._line()
        self.bar.stop()


def prior_costs(path: Path) -> dict[tuple[str, bool], float]:
    """A cell's cost per (load row, same-env) in the results file at ``path`` (the last published run):
    the mean over its cells of their calls' durations plus a fork per call made in a child (an answer
    the parent gives, or a cell with no artifact to load, costs next to nothing). Empty when there is no such
    file or it cannot be read: then the estimate rests on this run alone."""
    try:
        data = json.loads(path.read_text())
        cost: defaultdict[tuple[str, bool], float] = defaultdict(float)
        for rec in data["records"]:
            durations = rec.get("durations") or {}
            spent = sum(v for k, v in durations.items() if k != "save_s" and isinstance(v, (int, float)))
            forked = rec.get("mode") in ("fork", "fresh") and spent > 0  # a call made in a child of its own
            cost[(rec["load_row"], rec["save_row"] == rec["load_row"])] += spent + (FORK_S if forked else 0.0)
        cells = Counter((c["load_row"], c["save_row"] == c["load_row"]) for c in data["cells"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return {k: cost[k] / n for k, n in cells.items() if n and k in cost}


def tox_terminal() -> TextIO | None:
    """The user's terminal when running as a tox env: ``tox -p`` holds an env's output (even a
    pseudo-terminal's) until the env ends, so progress goes straight to ``/dev/tty`` instead
    (None in CI, where there is no terminal: then it goes to the log)."""
    if not os.environ.get("TOX_ENV_NAME"):
        return None
    try:
        return open("/dev/tty", "w")  # noqa: SIM115 - kept open for the run
    except OSError:
        return None


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"
