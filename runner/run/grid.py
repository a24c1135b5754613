"""The grid: ``runner/grid.toml`` parsed into frozen rows, and selections of it.

Planning is pure: nothing here touches the network, an interpreter or the disk
beyond reading the grid file, so it is unit-tested with inline TOML.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from runner.core.errors import GridError, SelectionError
from runner.core.versions import minor as _minor
from runner.core.vocab import FLAVOUR_ENV, FLAVOUR_LABELS, FLAVOURS, Flavour

GRID_FILE = Path(__file__).resolve().parents[1] / "grid.toml"
ROW_KEYS = {
    "flavour",
    "tf",
    "keras",
    "python",
    "packages",
    "note",
    "tags",
    "id",
    "expect_env_error",
    "env",
    "load_only",
    "find_links",
    "backend",
    "image",
}
BACKEND_NAMES = ("uv", "docker")  # where a row runs: runner/run/dispatch.py

# Environment variables a flavour needs so that ``tf.keras`` is the Keras it names.
VERSION = re.compile(r"^\d+(\.\d+)+(-?[a-z][a-z0-9]*)?$")  # keras 2.2.4-tf is TF 2.0's bundled version


@dataclass(frozen=True, kw_only=True)
class Row:
    """One isolated environment: an interpreter and exact packages."""

    id: str
    flavour: Flavour
    tf: str
    keras: str
    python: str
    packages: tuple[str, ...]
    env_vars: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = ()
    note: str = ""
    expect_env_error: str = ""
    load_only: bool = False  # loads other rows' artifacts, saves none (e.g. Keras 3 on JAX)
    find_links: tuple[str, ...] = ()  # extra wheel folders (missing ones are skipped)
    backend: str = ""  # unset: the run's default (uv); "docker": in a container of ``image`` (container.py)
    image: str = ""

    @classmethod
    def from_dict(cls, data: dict, where: str) -> Row:
        unknown = set(data) - ROW_KEYS
        if unknown:
            raise GridError(f"{where}: unknown key {sorted(unknown)[0]!r}; allowed keys: {', '.join(sorted(ROW_KEYS))}")
        for key in ("flavour", "tf", "keras", "python", "packages"):
            if key not in data:
                raise GridError(f"{where}: missing key {key!r}")
        flavour = data["flavour"]
        if flavour not in FLAVOURS:
            raise GridError(f"{where}: flavour {flavour!r} is not one of {', '.join(FLAVOURS)}")
        packages = data["packages"]
        if not isinstance(packages, list) or not all(isinstance(p, str) and p.strip() for p in packages):
            raise GridError(f"{where}: packages must be a list of requirement strings")
        for key in ("tf", "keras", "python"):
            value = data[key]
            numeric = isinstance(value, str) and (key == "keras" or value.replace(".", "").isdigit())
            if not isinstance(value, str) or not VERSION.match(value) or not numeric:
                raise GridError(f"{where}: {key} must be a version like '2.15.1', got {value!r}")
        backend = data.get("backend", "")
        if backend and backend not in BACKEND_NAMES:
            raise GridError(f"{where}: backend {backend!r} is not one of {', '.join(BACKEND_NAMES)}")
        if data.get("image") and backend != "docker":
            raise GridError(f'{where}: `image` needs `backend = "docker"`')
        env = dict(FLAVOUR_ENV[flavour])
        env.update({str(k): str(v) for k, v in data.get("env", {}).items()})
        return cls(
            id=data.get("id") or row_id(flavour, data["tf"], data["keras"], data["python"]),
            flavour=flavour,
            tf=data["tf"],
            keras=data["keras"],
            python=data["python"],
            packages=tuple(packages),
            env_vars=tuple(sorted(env.items())),
            tags=tuple(data.get("tags", ())),
            note=data.get("note", ""),
            expect_env_error=data.get("expect_env_error", ""),
            load_only=bool(data.get("load_only", False)),
            find_links=tuple(data.get("find_links", ())),
            backend=backend,
            image=str(data.get("image", "")),
        )

    @property
    def spec_hash(self) -> str:
        """Hash of everything that defines the env (not its id or note)."""
        spec: dict = {"python": self.python, "packages": self.packages, "env": self.env_vars}
        if self.backend not in ("", "uv"):  # uv rows keep the hash (and so the lock) they always had
            spec.update(backend=self.backend, image=self.image)
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()

    @property
    def label(self) -> str:
        kind = FLAVOUR_LABELS[self.flavour]
        backend = dict(self.env_vars).get("KERAS_BACKEND")
        return f"TF {self.tf} · {kind} {self.keras}{f' ({backend})' if backend else ''} · Py {self.python}"


def row_id(flavour: str, tf: str, keras: str, python: str) -> str:
    """``tf2.15-k2-py3.11``, ``tf2.21-tfk2.21-py3.11``, ``tf2.21-k3.13-py3.11``, ``tf1.15-mk2.2-py3.7``."""
    keras_part = {
        "keras_mb": f"mk{_minor(keras)}",
        "keras2": "k2",
        "tf_keras": f"tfk{_minor(keras)}",
        "keras3": f"k{_minor(keras)}",
    }[flavour]
    return f"tf{_minor(tf)}-{keras_part}-py{_minor(python)}"


@dataclass(frozen=True, kw_only=True)
class Grid:
    rows: tuple[Row, ...]
    source: str = ""

    def row(self, row_id: str) -> Row:
        for row in self.rows:
            if row.id == row_id:
                return row
        raise SelectionError(f"unknown row {row_id!r}; see `python -m runner rows` for the ids")


def parse_grid(text: str, source: str = "<grid>") -> Grid:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GridError(f"{source}: not valid TOML ({exc}); fix the file or restore it with git checkout") from None
    if data.get("schema") != 1:
        raise GridError(f"{source}: expected `schema = 1` at the top")
    unknown = set(data) - {"schema", "row"}
    if unknown:
        raise GridError(f"{source}: unknown top-level key {sorted(unknown)[0]!r}; only `schema` and [[row]] tables")
    raw_rows = data.get("row", [])
    if not raw_rows:
        raise GridError(f"{source}: no [[row]] tables")
    rows = tuple(Row.from_dict(raw, f"{source}: row {i + 1}") for i, raw in enumerate(raw_rows))
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            raise GridError(f"{source}: duplicate row id {row.id!r}; give one of them an explicit `id`")
        seen.add(row.id)
    return Grid(rows=rows, source=source)


def load_grid(path: Path | None = None) -> Grid:
    path = path or GRID_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GridError(f"cannot read grid file {path}: {exc.strerror}") from None
    return parse_grid(text, str(path))


def select(names: list[str] | None, known: list[str], what: str) -> list[str]:
    """Expand comma-separated names/globs against ``known``, keeping ``known``'s order.

    A pattern that matches nothing is an error naming the pattern and the choices.
    """
    if not names:
        return list(known)
    patterns = [p.strip() for name in names for p in name.split(",") if p.strip()]
    chosen: set[str] = set()
    for pattern in patterns:
        hits = fnmatch.filter(known, pattern)
        if not hits:
            sample = ", ".join(known[:8]) + (", …" if len(known) > 8 else "")
            raise SelectionError(f"unknown {what} {pattern!r}: no {what} matches it (choices: {sample})")
        chosen.update(hits)
    return [k for k in known if k in chosen]
