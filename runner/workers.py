"""Long-lived harness processes inside a target env, with time limits.

A ``HarnessProcess`` starts ``scenarios/harness.py`` with the env's interpreter
and reads its JSON-lines protocol on stdout; a reader thread feeds a queue so
every wait has a deadline. A process that hangs is killed; one that dies is
reported as a crash; the caller restarts it and goes on.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from .backends import Env
from .catalog import HARNESS, SCENARIO_DIR

_NOISE = re.compile(r"^([IWE]\d{4} |WARNING|INFO|W0000|I0000|E0000|To enable|This TensorFlow binary"
                    r"|.*cudart_stub|.*cuda_)")
_PATH = re.compile(r"(?<![\w<:/.])(/[\w.+-]+){2,}/?")


def tidy(lines: list[str]) -> str:
    """The telling part of a dead worker's stderr: no TF log chatter, no machine paths."""
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


class Interrupted(Exception):
    """The run is being stopped (Ctrl-C, SIGTERM): nothing in flight is an outcome."""


class WorkerDied(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind  # "crash" | "timeout"
        self.detail = detail


class HarnessProcess:
    def __init__(self, env: Env, args: list[str], *, stderr_path: Path | None = None, stdin: bool = False,
                 scenario_dir: Path = SCENARIO_DIR, stop: threading.Event | None = None):
        self._stop = stop
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self._lines: queue.Queue = queue.Queue()
        argv = env.python_argv() + ["-u", str(HARNESS), *args, "--scenario-dir", str(scenario_dir)]
        self.proc = subprocess.Popen(
            argv, env=env.process_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, text=True, bufsize=1,
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
                tail = tidy(list(self.stderr_tail))
                raise WorkerDied("crash", f"the interpreter exited with code {code}" + (f": {tail}" if tail else ""))
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
