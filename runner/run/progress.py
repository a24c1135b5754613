"""The run's progress: cells done / total, failing so far (by the status rules), time left."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from .state import Progress as EngineProgress

if TYPE_CHECKING:
    from rich.progress import TaskID


class RichProgress(EngineProgress):
    """Cells done / total, failures so far and time left, on a rich progress bar."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.failures = 0
        self.bar = Progress(
            TextColumn("[bold]cells"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failures]} failing"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[row]}"),
            transient=False,
        )
        self.task: TaskID | None = None

    def start(self, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("cells", total=total, failures=0, row="")

    def advance(self, row: str, n: int, failures: int) -> None:
        self.failures += failures
        assert self.task is not None, "start() first"
        self.bar.update(self.task, advance=n, failures=self.failures, row=row)

    def stop(self) -> None:
        self.bar.stop()


class PlainProgress(EngineProgress):
    """The same figures as plain lines every ``every`` seconds, for output that is not a terminal
    (``tox -p``, CI logs, a pipe): cells done / total, failing so far, elapsed and time left."""

    def __init__(self, every: float = 30.0, stream: TextIO | None = None, terminal: TextIO | None = None) -> None:
        self.every, self.stream, self.terminal = every, stream or sys.stderr, terminal
        self.total = self.done = self.failing = 0
        self.started = self.last = time.monotonic()
        self.lock = threading.Lock()

    def start(self, total: int) -> None:
        self.total, self.started = total, time.monotonic()
        self.last = self.started
        self._line()

    def advance(self, row: str, n: int, failures: int) -> None:
        with self.lock:
            self.done += n
            self.failing += failures
            now = time.monotonic()
            if now - self.last >= self.every or self.done >= self.total:
                self.last = now
                self._line()

    def _line(self) -> None:
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else None
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        line = f"progress: {self.done}/{self.total} cells{share}, {self.failing} failing, {_clock(elapsed)} elapsed"
        if left is not None:
            line += f", ~{_clock(left)} left"
        if self.terminal is not None:  # clear tox's spinner line first; it redraws below
            self.terminal.write("\r\x1b[K" + line + "\n")
            self.terminal.flush()
        else:
            print(line, file=self.stream, flush=True)


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
