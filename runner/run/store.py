"""The results cache: one JSON line per finished cell, written as it finishes.

A cell's line carries its cache key: the save env's lock, the load env's lock,
the scenario's source and the harness's source. A cell whose key is unchanged is
not run again, so an interrupted run resumes where it stopped and a warm re-run
costs only reading this file. A line that does not parse (a run killed mid-write,
a damaged disk) is dropped and the file rewritten: the cell simply runs again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from runner.core.errors import RunningError

log = logging.getLogger("keras_compat")

CellId = tuple[str, str, str, str]  # scenario, format, save_row, load_row


def cache_key(save_lock: str, load_lock: str, scenario_hash: str, harness_hash: str) -> str:
    return hashlib.sha256("|".join((save_lock, load_lock, scenario_hash, harness_hash)).encode()).hexdigest()


class Store:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.cells: dict[CellId, dict] = {}
        self.dropped = 0
        self.write_failed = False
        self._loaded = False  # read on first use: after the run holds the work folder's lock (WorkLock)

    def load(self) -> None:
        """Read the file once (idempotent): dropping damaged lines rewrites it, so only under the run's lock."""
        if self._loaded:
            return
        self._loaded = True
        if not self.path.exists():
            return
        good: list[str] = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                cell = tuple(entry["cell"])
                if len(cell) != 4 or not isinstance(entry["records"], list) or not entry["key"]:
                    raise ValueError(line)
            except (ValueError, KeyError, TypeError):
                self.dropped += 1
                continue
            self.cells[cell] = entry  # type: ignore[index]
            good.append(line)
        if self.dropped:
            log.warning("results cache %s: dropped %d damaged line(s); those cells run again", self.path, self.dropped)
            tmp = self.path.with_suffix(".rebuild")
            tmp.write_text("".join(line + "\n" for line in good), encoding="utf-8")
            os.replace(tmp, self.path)

    def get(self, cell: CellId, key: str) -> list[dict] | None:
        self.load()
        entry = self.cells.get(cell)
        return entry["records"] if entry and entry["key"] == key else None

    def measured_by(self, cell: CellId) -> str | None:
        """The start time of the run that measured a cached cell (None for entries before it was kept)."""
        self.load()
        entry = self.cells.get(cell)
        return entry.get("run") if entry else None

    def put(self, cell: CellId, key: str, records: list[dict], run: str | None = None) -> None:
        entry = {"cell": list(cell), "key": key, "records": records, **({"run": run} if run else {})}
        line = json.dumps(entry, sort_keys=True) + "\n"
        self.load()
        with self._lock:
            self.cells[cell] = entry
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(line)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:  # disk full, read-only: the run goes on, the cell runs again next time
                if not self.write_failed:
                    log.warning(
                        "results cache %s not written (%s): this run's cells stay in memory", self.path, exc.strerror
                    )
                self.write_failed = True

    # -- the runs that measured the cached cells ---------------------------------------------------
    @property
    def runs_path(self) -> Path:
        return self.path.with_name("runs.jsonl")

    def record_run(self, started: str, finished: str | None, wall_s: float | None) -> None:
        """Append a run's start (``finished`` None) or its end; the last line per start wins."""
        line = json.dumps({"started": started, "finished": finished, "wall_s": wall_s}, sort_keys=True) + "\n"
        try:
            with open(self.runs_path, "a", encoding="utf-8") as handle:
                handle.write(line)
        except OSError:
            pass  # the run goes on; a later report names it without its wall time

    def runs(self) -> dict[str, dict]:
        """Every run recorded here, by start time: ``{"started", "finished", "wall_s"}``."""
        out: dict[str, dict] = {}
        try:
            text = self.runs_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return out
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                out[entry["started"]] = entry
            except (ValueError, KeyError, TypeError):
                continue
        return out


class WorkLock:
    """One run per work folder: an exclusive lock on ``<work>/run.lock`` for the run's whole life.

    Two runs in one folder would append to one results cache and save into the same artifact
    folders (a second run's rebuild of a damaged cache could detach the first one's file, and its
    saves could be loaded half-written by the first). The lock is the kernel's (``flock``), so a run
    that dies, even by SIGKILL, leaves no stale lock; the file keeps the holder's PID for the message.
    """

    def __init__(self, work: Path):
        self.path = work / "run.lock"
        self._handle: Any = None

    def __enter__(self) -> WorkLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until __exit__
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise RunningError(
                f"another keras-compat run (PID {holder}) is using {self.path.parent}: wait for it to finish, "
                f"or give this one its own folder with --work DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the flock
            self._handle = None
