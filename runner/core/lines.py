"""Release lines: the one rule for "the next release" and "the newest of a line".

A *line* is one flavour's saving environments ordered by their version axis: the
Keras version for Keras 3 (Keras 3 releases on its own cycle), the TF version
otherwise. Rows of the Python axis (the same TF on another Python, tag
``python-axis``) and container twins (tag ``container``) repeat a release, so a
line leaves them out unless it has nothing else. Load-only rows (Keras 3 on JAX or torch) save nothing and are on
no line.

Rows are grid rows (``runner.run.grid.Row``) or the row objects of a results.json;
both have ``id``, ``flavour``, ``tf``, ``keras``, ``python`` and ``tags``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from .versions import minor as minor_of
from .versions import version_key

R = TypeVar("R")
PYTHON_AXIS = "python-axis"
CONTAINER = "container"  # the same release in a container (runner/run/container.py), beside its uv twin
REPEATS = frozenset({PYTHON_AXIS, CONTAINER})


def _get(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, dict) else getattr(row, key)


# Lines whose releases are Keras's own (Keras 3, and multi-backend Keras), not TF's.
KERAS_AXIS = frozenset({"keras3", "keras_mb"})
# Lines nobody upgrades to today: their rows save (their files are what teams carry), and are loaded
# only in their own line (runner/run/pairs.py targets): not a "newest of a line" target.
LEGACY = frozenset({"keras_mb"})


def axis(row: Any) -> tuple[str, str]:
    """What a row's version means on its line: ``("Keras", "3.4.1")`` for Keras 3 and multi-backend Keras,
    ``("TF", "2.15.1")`` otherwise."""
    return ("Keras", _get(row, "keras")) if _get(row, "flavour") in KERAS_AXIS else ("TF", _get(row, "tf"))


def line_key(row: Any) -> tuple[tuple[int, ...], ...]:
    """Where a row sits on its line: the axis version first, then the other one, then Python."""
    tf, keras, python = (version_key(_get(row, k)) for k in ("tf", "keras", "python"))
    return (keras, tf, python) if _get(row, "flavour") in KERAS_AXIS else (tf, keras, python)


def release_lines(rows: Iterable[R], savers: set[str] | None = None) -> dict[str, list[R]]:
    """Each flavour's line, oldest first.

    ``savers``: the ids of the rows that saved (default: every row that is not load-only).
    """
    by_flavour: dict[str, list[R]] = {}
    for row in rows:
        saves = _get(row, "id") in savers if savers is not None else not getattr(row, "load_only", False)
        if saves:
            by_flavour.setdefault(_get(row, "flavour"), []).append(row)
    return {f: main_line(line) for f, line in by_flavour.items()}


def main_line(rows: Iterable[R]) -> list[R]:
    """``rows`` along their version line, the Python axis and container twins (rows that repeat a
    release) left out if anything else is there."""
    rows = list(rows)
    main = [r for r in rows if not set(_get(r, "tags")) & REPEATS] or rows
    return sorted(main, key=line_key)


def next_release(row: Any, line: list[R]) -> R | None:
    """The first row of ``line`` on a later release of ``row``'s axis (not the same release on another Python)."""
    mine = version_key(axis(row)[1])
    return next((other for other in line if version_key(axis(other)[1]) > mine), None)


def next_tf(row: Any, lines: dict[str, list[R]]) -> list[R]:
    """The next TF release after ``row``'s, in every flavour it ships: one row per line.

    TF 2.15 (Keras 2) -> TF 2.16 with tf-keras 2.16 and TF 2.16 with Keras 3.0. Of a line's rows on
    that release, the one tagged ``main`` (what ``pip install tensorflow==2.16`` is measured with),
    else the first on the line.
    """
    mine = version_key(_get(row, "tf"))
    later = [version_key(_get(r, "tf")) for line in lines.values() for r in line]
    later = [v for v in later if v[:2] > mine[:2]]
    if not later:
        return []
    target = min(later)[:2]
    out = []
    for line in lines.values():
        on_release = [r for r in line if version_key(_get(r, "tf"))[:2] == target]
        if on_release:
            out.append(next((r for r in on_release if "main" in _get(r, "tags")), on_release[0]))
    return out


def setup_hint(row: Any) -> str:
    """How a user gets a row's environment: its requested packages and its variables, e.g.
    ``pip install tensorflow==2.21.0 tf-keras==2.21.0 tensorflow-hub==0.16.1 and set TF_USE_LEGACY_KERAS=1``."""
    pins = [f"'{p}'" if any(ch in p for ch in "<>!~ ") else p for p in _get(row, "packages")]
    text = f"Python {minor_of(_get(row, 'python'))}: pip install " + " ".join(pins)
    env = dict(_get(row, "env_vars") or {})
    if env:
        text += " and set " + " ".join(f"{k}={v}" for k, v in sorted(env.items()))
    return text
