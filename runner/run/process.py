"""A harness process inside a target env: its JSON-lines protocol, and what a dead one says.

``HarnessProcess`` starts ``python -m runner.harness serve`` with the env's interpreter; a
reader thread hands each record to the thread that asked for it (several ask at once), so
every wait has a deadline. ``tidy`` keeps the telling part of a dead process's stderr.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from runner.harness.protocol import EVENT_CALL, EVENT_RECORD

from .backends import Env
from .catalog import REPO

HARNESS_ARGV = ("-m", "runner.harness")  # run with the repository on PYTHONPATH

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
    def __init__(self, kind: str, detail: str, origin: str | None = None):
        super().__init__(detail)
        self.kind = kind  # "crash" | "timeout"
        self.detail = detail
        self.origin = origin  # "harness": the harness's own Python code raised and killed it (a defect)


def died(kind: str, message: str, stage: str = "load", origin: str | None = None) -> dict:
    error = {"type": "WorkerDied", "message": message, "traceback": ""}
    if origin:
        error["origin"] = origin
    return {"outcome": kind, "stage": stage, "durations": {}, "max_abs_diff": None, "error": error}


_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+')


def raised_in_harness(tail: list[str]) -> bool:
    """A dead harness whose stderr ends in a Python traceback whose innermost frame is the harness's own
    code (runner/harness, but for the lines that are the user's calls): keras-compat's defect, not a crash."""
    frames = [m.group(1) for line in tail if (m := _FRAME.match(line))]
    if not frames or not tail or not re.match(r"^\w+(\.\w+)*(Error|Exception)\b", tail[-1].strip()):
        return False
    last = frames[-1].replace("\\", "/")
    return "/runner/harness/" in last and not last.endswith("/calls.py")


class HarnessProcess:
    """One harness process: requests go out on its stdin, records come back on its stdout by id.

    Several threads may ask at once (the harness forks a child per request, so several run at
    the same time); a reader thread hands each record to the thread that asked for it, and the
    harness's other messages (its ready event) to :meth:`read`.
    """

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
        self._lines: queue.Queue = queue.Queue()  # messages that answer no request (the ready event)
        self._waiting: dict[Any, queue.Queue] = {}
        self.calls: dict[Any, str] = {}  # request id -> the call it is making (EVENT_CALL), for a death in it
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._gone = False
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
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("event") == EVENT_CALL:
                with self._lock:
                    self.calls[msg.get("id")] = msg.get("call")
                continue
            with self._lock:
                waiter = self._waiting.pop(msg.get("id"), None) if msg.get("event") == EVENT_RECORD else None
                if waiter is not None:
                    self.calls.pop(msg.get("id"), None)
            (waiter or self._lines).put(msg)
        with self._lock:
            self._gone = True
            waiters, self._waiting = list(self._waiting.values()), {}
        for waiter in [*waiters, self._lines]:
            waiter.put(None)

    def _pump_err(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.stderr_tail.append(line.rstrip("\n"))
            if self._log:
                self._log.write(line)
        if self._log:
            self._log.close()

    def _wait(self, box: queue.Queue, timeout: float) -> dict:
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
                msg = box.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if msg is None:
                box.put(None)  # every later reader of this box learns it too
                code = self.proc.wait()
                time.sleep(0.05)
                if self.interrupted():
                    raise Interrupted()
                tail = list(self.stderr_tail)
                raise WorkerDied(
                    "crash", exit_message(code, tail), origin="harness" if raised_in_harness(tail) else None
                )
            return msg

    def read(self, timeout: float) -> dict:
        """The next message that answers no request (the ready event), or WorkerDied."""
        return self._wait(self._lines, timeout)

    def interrupted(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def send(self, obj: dict) -> None:
        try:
            with self._send_lock:
                self.proc.stdin.write(json.dumps(obj) + "\n")  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise WorkerDied("crash", f"the worker is gone ({exc})") from None

    def ask(self, request: dict, timeout: float) -> dict:
        """The record that answers ``request`` (other threads may be asking at the same time)."""
        box: queue.Queue = queue.Queue()
        with self._lock:
            if self._gone:
                box.put(None)
            else:
                self._waiting[request["id"]] = box
        if box.empty():
            self.send(request)
        return self._wait(box, timeout)

    def close(self) -> None:
        if self.proc.stdin:
            try:
                with self._send_lock:
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
