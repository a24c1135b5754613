"""Container rows beside their uv twins: does the packaging (a Debian image's python3, the same
locked wheels installed for it) change any outcome?

A container row (tag ``container``, runner/run/container.py) has a twin: the uv row of the same
flavour, TF, Keras and Python minor. Three comparisons per twin pair, cell by cell:
saved and loaded in the container vs in the twin; the twin's files loaded in the container vs in
the twin; the container's files loaded in the twin vs in the container.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.core.lines import CONTAINER
from runner.core.versions import minor


@dataclass(frozen=True, kw_only=True)
class Comparison:
    what: str
    compared: int = 0
    differing: list[tuple[str, str, str, str]] = field(default_factory=list)  # scenario, format, a, b


@dataclass(frozen=True, kw_only=True)
class TwinPair:
    box: dict[str, Any]
    twin: dict[str, Any]
    comparisons: list[Comparison]

    @property
    def differ(self) -> int:
        return sum(len(c.differing) for c in self.comparisons)


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    """What a twin shares: the release, the Python minor and the env vars (not Keras 3 on JAX)."""
    env = tuple(sorted((row.get("env_vars") or {}).items()))
    return row["flavour"], row["tf"], row["keras"], minor(row["python"]), env


def container_twins(results: dict[str, Any]) -> list[TwinPair]:
    status = {(c["scenario"], c["format"], c["save_row"], c["load_row"]): c["status"] for c in results["cells"]}
    uv = [r for r in results["rows"] if CONTAINER not in r.get("tags", [])]
    out = []
    for box in (r for r in results["rows"] if CONTAINER in r.get("tags", [])):
        for twin in (r for r in uv if _key(r) == _key(box)):
            b, t = box["id"], twin["id"]
            plan = [
                ("saved and loaded in the container vs in the uv env", (b, b), (t, t)),
                ("uv env's files: loaded in the container vs in the uv env", (t, b), (t, t)),
                ("container's files: loaded in the uv env vs in the container", (b, t), (b, b)),
            ]
            comparisons = []
            for what, one, other in plan:
                compared, differing = 0, []
                for scenario in results["scenarios"]:
                    for fmt in results["formats"]:
                        x = status.get((scenario["id"], fmt, *one))
                        y = status.get((scenario["id"], fmt, *other))
                        if x is None or y is None:
                            continue
                        compared += 1
                        if x != y:
                            differing.append((scenario["id"], fmt, x, y))
                comparisons.append(Comparison(what=what, compared=compared, differing=differing))
            out.append(TwinPair(box=box, twin=twin, comparisons=comparisons))
    return out
