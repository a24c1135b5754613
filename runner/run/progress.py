"""The run's progress on a terminal: cells done / total, failing so far, time left (rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
