"""Harness processes inside a target env, and how a row's requests reach them.

A ``HarnessProcess`` starts ``python -m runner.harness serve`` with the env's
interpreter and reads its JSON-lines protocol on stdout; a reader thread feeds a
queue so every wait has a deadline.

A ``RowSession`` answers one row's save and load requests in the run's engine:

``fork`` (default)  one warmed-up harness per session forks a child per request;
                    a child that crashes or hangs is confirmed in a fresh
                    interpreter, and that answer is the record; a row whose harness
                    cannot fork (its check at start fails) gets ``fresh`` instead.
``fresh``           a fresh interpreter per request (the reference).
``shared``          one interpreter answers every request in turn (benchmarks only:
                    not isolated, loads see each other's state).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import subprocess
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any, Literal, get_args

from runner.harness.loading import not_applicable
from runner.harness.scenario import serve_declares

from .backends import Env
from .catalog import REPO, SCENARIO_DIR

log = logging.getLogger("keras_compat")

Engine = Literal["fork", "fresh", "shared"]
ENGINES: tuple[Engine, ...] = get_args(Engine)
HARNESS_ARGV = ("-m", "runner.harness")  # run with the repository on PYTHONPATH
READY_TIMEOUT = 600.0  # importing TF on a cold disk, plus the warm-up
GRACE = 60.0  # beyond a request's own limit, before a forking harness counts as hung

_NOISE = re.compile(
    r"^([IWE]\d{4} |WARNING|INFO|W0000|I0000|E0000|To enable|This TensorFlow binary"
    r"|.*cudart_stub|.*cuda_)"
)
_PATH = re.compile(r"(?<![\w<:/.])(/[\w.+-]+){2,}/?")


def tidy(lines: list[str]) -> str:
    """The telling part of a dead process's stderr: no TF log chatter, no machine paths."""
    keep = [ln.strip() for ln in lines if ln.strip() and not _NOISE.match(ln.strip())]
    text = " | ".join(keep[-3:])
    return _PATH.sub(lambda m: "<path>/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], text)[:400]


def tidy_message(message: str) -> str:
    """Apply ``tidy`` to a stored 'exited with code N: a | b | c' message."""
    head, sep, tail = message.partition(": ")
    if not sep or "exited with code" not in head:
        return message
    cleaned = tidy(tail.split(" | "))
    return head + (f": {cleaned}" if cleaned else "")


def exit_message(code: int | None, tail: list[str]) -> str:
    cleaned = tidy(tail)
    return f"the interpreter exited with code {code}" + (f": {cleaned}" if cleaned else "")


class Interrupted(Exception):
    """The run is being stopped (Ctrl-C, SIGTERM): nothing in flight is an outcome."""


class WorkerDied(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind  # "crash" | "timeout"
        self.detail = detail


def died(kind: str, message: str, stage: str = "load") -> dict:
    return {
        "outcome": kind,
        "stage": stage,
        "durations": {},
        "max_abs_diff": None,
        "error": {"type": "WorkerDied", "message": message, "traceback": ""},
    }


class HarnessProcess:
    def __init__(
        self,
        env: Env,
        args: list[str],
        *,
        stderr_path: Path | None = None,
        harness: tuple[str, ...] = HARNESS_ARGV,
        stop: threading.Event | None = None,
    ):
        self._stop = stop
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self._lines: queue.Queue = queue.Queue()
        argv = env.python_argv() + ["-u", *harness, *args]
        process_env = env.process_env()
        process_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), process_env.get("PYTHONPATH")) if p)
        # Bytecode is cached in the env: uv installs without it, and a forked child that imports a module its
        # parent did not (Keras 3's ops under a hub layer, in a tf-keras row) compiled it from source on every
        # request (py-spy: 36% of a tf-keras row's load time).
        process_env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.proc = subprocess.Popen(
            argv,
            env=process_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,  # a Ctrl-C reaches the orchestrator only; it stops its workers itself
        )
        self._log = open(stderr_path, "a", encoding="utf-8") if stderr_path else None
        threading.Thread(target=self._pump_out, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump_out(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self._lines.put(line)
        self._lines.put(None)

    def _pump_err(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.stderr_tail.append(line.rstrip("\n"))
            if self._log:
                self._log.write(line)
        if self._log:
            self._log.close()

    def read(self, timeout: float) -> dict:
        """The next protocol message, or WorkerDied."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if self.interrupted():
                self.kill()
                raise Interrupted()
            if remaining <= 0:
                self.kill()
                raise WorkerDied("timeout", f"no answer within {timeout:.0f}s; the process was killed")
            try:
                line = self._lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                time.sleep(0.05)
                if self.interrupted():
                    raise Interrupted()
                raise WorkerDied("crash", exit_message(code, list(self.stderr_tail)))
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                return json.loads(line)
            except ValueError:
                continue

    def interrupted(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def send(self, obj: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(obj) + "\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied("crash", f"the worker is gone ({exc})") from None

    def ask(self, request: dict, timeout: float) -> dict:
        self.send(request)
        while True:
            msg = self.read(timeout)
            if msg.get("event") == "record" and msg.get("id") == request["id"]:
                return msg

    def close(self) -> None:
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


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
            try:
                if self.proc is None:
                    self.proc, ready = self._start("fork")
                    if not ready.get("fork"):
                        self.fork_error = ready.get("fork_error") or "the harness did not fork"
                        log.warning(
                            "%s: no fork, a fresh interpreter per request: %s", self.env.row_id, self.fork_error
                        )
                        self.close()
                        return self._fresh(request, timeout, stage)
                answer = self.proc.ask(request, timeout + GRACE)
                break
            except WorkerDied as gone:  # the warmed-up parent itself died or hung: start another, once
                if self.proc is not None:
                    self.proc.kill()
                self.proc = None
                if attempt == 2 or (self.stop is not None and self.stop.is_set()):
                    return died(gone.kind, gone.detail, stage)
                self._count("parent_restarts")
        if answer["outcome"] in ("crash", "timeout"):
            # A fork child that died or hung is asked again in a fresh interpreter: that answer is the
            # record (a fork-specific failure must never become a cell's outcome).
            self._count("confirmed_fresh")
            return self._fresh(request, timeout, stage)
        self._count(answer.get("mode", "fork"))
        return answer

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
            return died(gone.kind, f"the harness did not start: {gone.detail}", stage)
        try:
            answer = proc.ask(request, timeout)
        except WorkerDied as gone:
            answer = died(gone.kind, gone.detail, stage)
            answer["mode"] = "fresh"
        finally:
            proc.close()
        self._count(answer.get("mode", "fresh"))
        return answer

    def _shared(self, request: dict, timeout: float, stage: str) -> dict:
        try:
            if self.proc is None:
                self.proc, _ = self._start("shared")
            answer = self.proc.ask(request, timeout)
        except WorkerDied as gone:
            if self.proc is not None:
                self.proc.kill()
            self.proc = None
            answer = died(gone.kind, gone.detail, stage)
            answer["mode"] = "shared"
        self._count(answer.get("mode", "shared"))
        return answer

    def close(self) -> None:
        if self.proc is not None:
            self.proc.close()
            self.proc = None
