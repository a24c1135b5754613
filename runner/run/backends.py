"""Where a grid row runs: one small interface, and the uv backend.

Rows run in local uv virtualenvs (``UvBackend``) or in containers (runner/run/container.py
``DockerBackend``); both implement the same two methods: ``prepare`` builds or reuses the env and
returns an ``Env``; ``Env.python_argv`` says how to start its interpreter. The registry of backends
by name is runner/run/dispatch.py ``BACKENDS``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from runner.core.errors import EnvError
from runner.core.versions import minor as version_minor
from runner.core.versions import version_key

from . import cmd
from .grid import Row

LOCK_DIR = Path(__file__).resolve().parents[1] / "locks"
MARKER = "keras-compat-env.json"


def default_home() -> Path:
    return Path(os.environ.get("KC_HOME") or Path.home() / ".cache" / "keras-compat")


@dataclass(frozen=True, kw_only=True)
class Env:
    """A built environment for one row."""

    row_id: str
    python: Path
    env_vars: dict[str, str]
    lock: dict  # {"python": "3.7.16", "packages": {"name": "version"}}
    lock_hash: str
    build_s: float = 0.0
    reused: bool = False  # an env built before, still holding its lock (nothing was installed)

    def python_argv(self) -> list[str]:
        return [str(self.python)]

    def process_env(self) -> dict[str, str]:
        return cmd.base_env(self.env_vars)


class Backend(Protocol):
    name: str

    def prepare(self, row: Row) -> Env:
        """Build (or reuse) the row's env; raise EnvError with a one-line reason."""


def find_interpreter(version: str) -> Path:
    """The real interpreter for ``version`` (``3.7`` or ``3.7.16``).

    pyenv's shims for non-global versions do not run, so ask pyenv for the
    prefix; otherwise ask uv (which finds system and uv-managed Pythons).
    """
    minor = version_minor(version)
    candidates = []
    if shutil.which("pyenv"):
        res = cmd.run(["pyenv", "versions", "--bare"], timeout=30)
        installed = [v.strip() for v in res.stdout.splitlines() if v.strip()]
        exact = [v for v in installed if v == version]
        same_minor = sorted(
            (v for v in installed if v.startswith(minor + ".") and v.replace(".", "").isdigit()),
            key=version_key,
            reverse=True,
        )
        for v in exact + same_minor:
            prefix = cmd.run(["pyenv", "prefix", v], timeout=30).stdout.strip()
            if prefix:
                candidates.append(Path(prefix) / "bin" / f"python{minor}")
    for candidate in candidates:
        if candidate.exists():
            return candidate
    uv = shutil.which("uv")
    if uv:
        res = cmd.run([uv, "python", "find", "--no-python-downloads", version], timeout=60)
        if not res.ok and version != minor:
            res = cmd.run([uv, "python", "find", "--no-python-downloads", minor], timeout=60)
        if res.ok and res.stdout.strip():
            return Path(res.stdout.strip().splitlines()[-1])
        if os.environ.get("UV_PYTHON_DOWNLOADS", "automatic") != "never":
            # a user's machine or a CI runner without pyenv: let uv install it, the usual way
            if cmd.run([uv, "python", "install", minor], timeout=600).ok:
                res = cmd.run([uv, "python", "find", minor], timeout=60)
                if res.ok and res.stdout.strip():
                    return Path(res.stdout.strip().splitlines()[-1])
    raise EnvError(
        f"missing interpreter: Python {version} not found; "
        f"install it (`pyenv install {version}` or `uv python install {minor}`)"
    )


def _uv() -> str:
    uv = shutil.which("uv")
    if not uv:
        raise EnvError("uv is not installed; `pip install uv` (the tox env installs it)")
    return uv


def parse_freeze(text: str) -> dict[str, str]:
    packages = {}
    for line in text.splitlines():
        line = line.strip()
        if "==" in line and not line.startswith("#"):
            name, _, version = line.partition("==")
            packages[name.strip().lower()] = version.strip()
    return dict(sorted(packages.items()))


def env_dir(home: Path, row: Row) -> Path:
    """Where a row's built env lives: named by its id and spec, so a changed spec never reuses it."""
    return home / "envs" / f"{row.id}-{row.spec_hash[:10]}"


def link_args(row: Row) -> list[str]:
    """``--find-links`` for the row's extra wheel folders that exist."""
    return [arg for d in row.find_links if Path(d).is_dir() for arg in ("--find-links", d)]


class RowLocks:
    """``runner/locks/<row>.txt``: the exact packages a row's env was built from, under a header naming
    the row's spec. Every backend builds from it and reuses a built env only while it holds."""

    def __init__(self, lock_dir: Path = LOCK_DIR):
        self.lock_dir = lock_dir

    def path(self, row: Row) -> Path:
        return self.lock_dir / f"{row.id}.txt"

    @staticmethod
    def header(row: Row) -> str:
        return f"# keras-compat lock: {row.id} spec {row.spec_hash}\n"

    def text(self, row: Row, freeze: str) -> str:
        return self.header(row) + freeze

    def read(self, row: Row) -> str | None:
        """The committed lock, if it was made from this row's current spec."""
        try:
            text = self.path(row).read_text()
        except OSError:
            return None
        return text if text.startswith(self.header(row)) else None

    def write(self, row: Row, freeze: str) -> None:
        lock_file, text = self.path(row), self.text(row, freeze)
        try:
            if not lock_file.exists() or lock_file.read_text() != text:
                self.lock_dir.mkdir(parents=True, exist_ok=True)
                lock_file.write_text(text)
        except OSError:
            pass  # a read-only checkout still runs; the lock is in the results

    def built(self, row: Row, target: Path) -> dict | None:
        """The marker of the env built at ``target``, if it is this row's spec and its lock still holds."""
        try:
            meta = json.loads((target / MARKER).read_text())
        except (OSError, ValueError):
            return None
        lock_text = self.read(row)
        if meta.get("spec") == row.spec_hash and (lock_text is None or lock_text == self.text(row, meta["freeze"])):
            return dict(meta)
        return None


class UvBackend:
    """Rows as uv virtualenvs under ``$KC_HOME/envs``, reused while their lock holds.

    The first build of a row resolves its grid packages and writes the exact
    result to ``runner/locks/<row>.txt``; later builds install exactly that lock
    (``uv pip sync``), so a committed lock pins every package. The uv cache is
    shared by all envs.
    """

    name = "uv"

    def __init__(self, home: Path | None = None, lock_dir: Path = LOCK_DIR, timeout: float = 1800):
        self.home = home or default_home()
        self.locks = RowLocks(lock_dir)
        self.timeout = timeout

    def env_dir(self, row: Row) -> Path:
        return env_dir(self.home, row)

    def prepare(self, row: Row) -> Env:
        if row.expect_env_error:
            raise EnvError(row.expect_env_error)
        if row.backend not in ("", self.name):
            raise EnvError(f"{row.id} is a {row.backend} row: run it with `python -m runner run --rows {row.id}`")
        start = time.monotonic()
        target = self.env_dir(row)
        lock_file = self.locks.path(row)
        lock_text = self.locks.read(row)
        meta = self.locks.built(row, target)
        if meta is not None:
            self.locks.write(row, meta["freeze"])
            return self._env(row, target, meta, time.monotonic() - start, reused=True)
        interpreter = find_interpreter(row.python)
        uv = _uv()
        env = cmd.base_env({"UV_PYTHON_DOWNLOADS": "never"})
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        res = cmd.run([uv, "venv", "--quiet", "--python", str(interpreter), str(tmp)], env=env, timeout=300)
        if not res.ok:
            raise EnvError(f"uv venv failed: {res.last_line()}")
        py = str(tmp / "bin" / "python")
        links = link_args(row)
        if lock_text is not None:
            res = cmd.run(
                [uv, "pip", "sync", "--quiet", "--python", py, *links, str(lock_file)], env=env, timeout=self.timeout
            )
            if not res.ok:
                raise EnvError(f"install of {lock_file.name} failed: {res.last_line()}")
        else:
            res = cmd.run(
                [uv, "pip", "install", "--quiet", "--python", py, *links, *row.packages], env=env, timeout=self.timeout
            )
        if not res.ok:
            shutil.rmtree(tmp, ignore_errors=True)
            raise EnvError(f"install failed: {res.last_line()}")
        freeze = cmd.run([uv, "pip", "freeze", "--python", py], env=env, timeout=120)
        version = cmd.run([py, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], env=env, timeout=60)
        if not freeze.ok or not version.ok:
            shutil.rmtree(tmp, ignore_errors=True)
            raise EnvError(f"the new env does not run: {(freeze if not freeze.ok else version).last_line()}")
        meta = {"freeze": freeze.stdout, "python": version.stdout.strip(), "row": row.id, "spec": row.spec_hash}
        (tmp / MARKER).write_text(json.dumps(meta))
        self.locks.write(row, freeze.stdout)
        tmp.rename(target)
        return self._env(row, target, meta, time.monotonic() - start)

    def _env(self, row: Row, target: Path, meta: dict, elapsed: float, reused: bool = False) -> Env:
        lock = {"python": meta["python"], "packages": parse_freeze(meta["freeze"])}
        lock_hash = hashlib.sha256(json.dumps(lock, sort_keys=True).encode()).hexdigest()
        return Env(
            row_id=row.id,
            python=target / "bin" / "python",
            env_vars=dict(row.env_vars),
            lock=lock,
            lock_hash=lock_hash,
            build_s=round(elapsed, 2),
            reused=reused,
        )
