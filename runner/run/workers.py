"""How a row's requests reach its harness (runner/run/process.py runs the process itself).

A ``RowSession`` answers one row's save and load requests in the run's engine, from any
number of threads at once:

``fork`` (default)  one warmed-up harness per session forks a child per request (several
                    at once); a child that crashes or hangs is confirmed in a fresh
                    interpreter, and that answer is the record; a row whose harness
                    cannot fork (its check at start fails) gets ``fresh`` instead.
``fresh``           a fresh interpreter per request (the reference).
``shared``          one interpreter answers every request in turn (benchmarks only:
                    not isolated, loads see each other's state).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal, get_args

from runner.harness.loading import not_applicable
from runner.harness.scenario import serve_declares

from .backends import Env
from .catalog import SCENARIO_DIR
from .process import HARNESS_ARGV, HarnessProcess, Interrupted, WorkerDied, died, exit_message, tidy, tidy_message

__all__ = [
    "ENGINES",
    "HARNESS_ARGV",
    "HarnessProcess",
    "Interrupted",
    "RowSession",
    "WorkerDied",
    "died",
    "exit_message",
    "tidy",
    "tidy_message",
]

log = logging.getLogger("keras_compat")

Engine = Literal["fork", "fresh", "shared"]
ENGINES: tuple[Engine, ...] = get_args(Engine)
READY_TIMEOUT = 600.0  # importing TF on a cold disk, plus the warm-up
GRACE = 60.0  # beyond a request's own limit, before a forking harness counts as hung


class RowSession:
    """Every request of one task on one row, answered the way ``engine`` says."""

    def __init__(
        self,
        env: Env,
        engine: Engine,
        *,
        scenario_dir: Path = SCENARIO_DIR,
        log_path: Path | None = None,
        harness: tuple[str, ...] = HARNESS_ARGV,
        stop: threading.Event | None = None,
        counts: Counter | None = None,
        lock: threading.Lock | None = None,
    ):
        self.env = env
        self.engine = engine
        self.scenario_dir = scenario_dir
        self.log_path = log_path
        self.harness = harness
        self.stop = stop
        self.counts: Counter[Any] = counts if counts is not None else Counter()
        self._lock = lock or threading.Lock()
        self.proc: HarnessProcess | None = None
        self._start_lock = threading.Lock()  # one harness start for every thread that asks at once
        self.fork_error: str | None = None  # why this row fell back to a fresh interpreter per request
        self.ready: dict | None = None  # the first harness's ready event: the env's facts

    def _count(self, key: str, n: float = 1) -> None:
        with self._lock:
            self.counts[key] += n  # type: ignore[assignment]  # seconds are counted too

    def _start(self, mode: str) -> tuple[HarnessProcess, dict]:
        started = time.monotonic()
        proc = HarnessProcess(
            self.env,
            ["serve", "--scenario-dir", str(self.scenario_dir), "--mode", mode],
            stderr_path=self.log_path,
            harness=self.harness,
            stop=self.stop,
        )
        self._count("processes")
        try:
            ready = proc.read(READY_TIMEOUT)
        except WorkerDied:
            proc.kill()
            raise
        finally:
            self._count("start_s", time.monotonic() - started)  # import, warm-up and fork check
        self.ready = self.ready or ready
        return proc, ready

    def ask(self, request: dict, timeout: float, stage: str = "load") -> dict:
        """The answer to one request (a record dict with ``mode``); never raises but Interrupted."""
        self._count("requests")
        started = time.monotonic()
        try:
            return self._ask(request, timeout, stage)
        finally:  # seconds per kind of request, harness starts included (where the time goes)
            self._count(f"{request.get('kind', 'load')}_s", time.monotonic() - started)

    def _ask(self, request: dict, timeout: float, stage: str) -> dict:
        if self.engine == "fresh" or (self.engine == "fork" and self.fork_error):
            return self._fresh(request, timeout, stage)
        if self.engine == "shared":
            return self._shared(request, timeout, stage)
        for attempt in (1, 2):
            proc = None
            try:
                proc = self._forking()
                if proc is None:  # the harness cannot fork here: a fresh interpreter per request
                    return self._fresh(request, timeout, stage)
                answer = proc.ask(request, timeout + GRACE)
                break
            except WorkerDied as gone:  # the warmed-up parent itself died or hung: start another, once
                with self._start_lock:
                    if proc is not None and self.proc is proc:
                        proc.kill()
                        self.proc = None
                        self._count("parent_restarts")
                if attempt == 2 or gone.origin or (self.stop is not None and self.stop.is_set()):
                    return died(gone.kind, gone.detail, stage, gone.origin)
        if answer["outcome"] in ("crash", "timeout"):
            # A fork child that died or hung is asked again in a fresh interpreter: that answer is the
            # record (a fork-specific failure must never become a cell's outcome).
            self._count("confirmed_fresh")
            return self._fresh(request, timeout, stage)
        self._count(answer.get("mode", "fork"))
        return answer

    def start(self) -> None:
        """Start the warmed-up harness now (import, warm-up, fork check), if the engine forks."""
        if self.engine == "fork" and not self.fork_error:
            self._forking()

    @property
    def live(self) -> bool:
        """A warmed-up harness is running (requests cost no start)."""
        return self.proc is not None

    def _forking(self) -> HarnessProcess | None:
        """The running forking harness, started once for every thread that asks (None: it cannot fork)."""
        with self._start_lock:
            if self.proc is None and not self.fork_error:
                proc, ready = self._start("fork")
                if not ready.get("fork"):
                    self.fork_error = ready.get("fork_error") or "the harness did not fork"
                    log.warning("%s: no fork, a fresh interpreter per request: %s", self.env.row_id, self.fork_error)
                    proc.close()
                    return None
                self.proc = proc
            return self.proc

    def _not_applicable(self, request: dict) -> dict | None:
        """The harness's own answer for an option that does not apply, once the env's facts are known:
        a fresh interpreter is not started to say that nothing runs (the same rule, runner/harness/loading.py)."""
        if request.get("kind") != "load" or self.ready is None or "load_model_params" not in self.ready:
            return None
        declares = serve_declares(request["scenario_file"])
        why = not_applicable(
            request["format"],
            request["option"],
            declares,
            bool(self.ready["facts"]["keras3"]),
            set(self.ready["load_model_params"]),
            request.get("written"),
        )
        if why is None:
            return None
        return {
            "outcome": "unsupported",
            "stage": "load",
            "max_abs_diff": None,
            "durations": {},
            "mode": "parent",
            "error": {"type": "Unsupported", "message": why, "traceback": ""},
        }

    def _fresh(self, request: dict, timeout: float, stage: str) -> dict:
        decided = self._not_applicable(request)
        if decided is not None:
            self._count("parent")
            return decided
        try:
            proc, _ = self._start("fresh")
        except WorkerDied as gone:
            return died(gone.kind, f"the harness did not start: {gone.detail}", stage, gone.origin)
        try:
            answer = proc.ask(request, timeout)
        except WorkerDied as gone:
            answer = died(gone.kind, gone.detail, stage, gone.origin)
            answer["mode"] = "fresh"
            if proc.calls.get(request["id"]):  # it died in the user's call: the record names it
                answer["call"] = proc.calls[request["id"]]
        finally:
            proc.close()
        self._count(answer.get("mode", "fresh"))
        return answer

    def _shared(self, request: dict, timeout: float, stage: str) -> dict:
        try:
            with self._start_lock:
                if self.proc is None:
                    self.proc, _ = self._start("shared")
                proc = self.proc
            answer = proc.ask(request, timeout)
        except WorkerDied as gone:
            with self._start_lock:
                if self.proc is not None:
                    self.proc.kill()
                self.proc = None
            answer = died(gone.kind, gone.detail, stage)
            answer["mode"] = "shared"
        self._count(answer.get("mode", "shared"))
        return answer

    def close(self) -> None:
        with self._start_lock:
            if self.proc is not None:
                self.proc.close()
                self.proc = None
