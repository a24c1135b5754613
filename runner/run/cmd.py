"""The one place subprocesses are started (short-lived commands).

Long-lived harness processes (save runs, load workers) live in ``workers.py``;
both take a copied environment dict and never mutate ``os.environ``.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass

log = logging.getLogger("keras_compat")


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def last_line(self) -> str:
        """The most telling line of stderr: the last non-blank one that is not a hint."""
        lines = [ln.strip() for ln in (self.stderr or self.stdout).splitlines() if ln.strip()]
        for line in reversed(lines):
            if not line.lower().startswith(("hint:", "help:")):
                return line
        return lines[-1] if lines else f"exit code {self.returncode}"


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    # the orchestrator's own venv must not leak into target envs
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "TF_USE_LEGACY_KERAS", "KERAS_BACKEND"):
        env.pop(key, None)
    env.update(extra or {})
    return env


def run(
    argv: list[str], *, env: dict[str, str] | None = None, timeout: float | None = None, cwd: str | None = None
) -> Result:
    log.debug("$ %s", " ".join(argv))
    try:
        proc = subprocess.run(
            argv,
            env=env if env is not None else base_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        return Result(tuple(argv), 127, "", f"{argv[0]}: {exc.strerror}")
    except subprocess.TimeoutExpired:
        return Result(tuple(argv), 124, "", f"timed out after {timeout:.0f}s: {' '.join(argv[:3])}")
    return Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
