"""Each grid row on its own backend: ``backend = "docker"`` in grid.toml, else the run's default.

``BACKENDS`` is the one registry of backends (``run --backend``, ``check --backend``); grid.py's
``BACKEND_NAMES`` names the same keys for grid files (tests/test_docker.py keeps them equal).
"""

from __future__ import annotations

from pathlib import Path

from .backends import Backend, Env, UvBackend
from .container import DockerBackend
from .grid import Row

BACKENDS: dict[str, type] = {"uv": UvBackend, "docker": DockerBackend}


class RowBackends:
    """A ``Backend`` that hands each row to the backend it names (``default`` when it names none).

    ``work``: the run's work dir, mounted read-write in containers (the harness saves there).
    """

    name = "row"

    def __init__(self, home: Path | None = None, default: str = "uv", work: Path | None = None):
        if default not in BACKENDS:
            raise ValueError(f"unknown backend {default!r}")
        self.default = default
        self.home = home
        self.backends: dict[str, Backend] = {
            "uv": UvBackend(home),
            "docker": DockerBackend(home, rw=(work,) if work is not None else ()),
        }

    def prepare(self, row: Row) -> Env:
        return self.backends[row.backend or self.default].prepare(row)
