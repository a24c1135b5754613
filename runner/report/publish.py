"""Publishing: MATRIX.md, index.html and the badges from one results.json.

The reports are a pure function of their inputs: the results, the previous run's
results (for "changed since last run") and the history (for the trend), all passed
in explicitly. Reading those files is :func:`read_previous` and :func:`read_history`.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.core.errors import ResultsError
from runner.core.results import pack, read_json, write_json
from runner.core.schema import validate

from .badges import write_badges
from .claims import Claim
from .history import HISTORY_NAME, append_history, load_history
from .markup import environment
from .page import page_data
from .view import build_view

log = logging.getLogger("keras_compat")

# (output file, template); publish() writes them in this order.
OUTPUTS: tuple[tuple[str, str], ...] = (("MATRIX.md", "matrix.md.j2"), ("index.html", "index.html.j2"))

# Beside the reports: the results of the run before (copied there before a run
# overwrites results.json) and the history of runs; both optional.
PREVIOUS_NAME = "previous-results.json"


def read_previous(path: Path) -> dict[str, Any] | None:
    """The previous run's results, if there is a usable one at ``path`` (a broken one is skipped, with a warning).

    Only what the diff reads is checked: a full schema validation of a run with tens
    of thousands of records takes longer than the whole report.
    """
    if not path.exists():
        return None
    try:
        previous = read_json(path)
        cells = previous["cells"]
        if not isinstance(cells, list):
            raise ResultsError(f"{path}: $.cells is not a list")
        for cell in cells:
            for key in ("scenario", "format", "save_row", "load_row", "status", "option"):
                if not isinstance(cell[key], str):
                    raise ResultsError(f"{path}: a cell's {key} is not a string")
            if cell["error"] is not None and not isinstance(cell["error"].get("message"), str):
                raise ResultsError(f"{path}: a cell's error has no message")
        if not isinstance(previous["run"]["finished"], str):
            raise ResultsError(f"{path}: run.finished is not a timestamp")
    except ResultsError as exc:
        log.warning("not comparing with the previous run: %s", exc)
        return None
    except (KeyError, TypeError, AttributeError) as exc:
        log.warning("not comparing with the previous run: %s: missing or wrong %s", path, exc)
        return None
    return previous


def read_history(path: Path) -> list[dict[str, Any]]:
    try:
        return load_history(path)
    except ResultsError as exc:
        log.warning("no trend: %s", exc)
        return []


def publish(
    results: dict[str, Any],
    out_dir: Path,
    *,
    previous: dict[str, Any] | None,
    history: Sequence[dict[str, Any]],
    claims: Sequence[Claim] | None = None,
    validated: bool = False,
) -> list[Path]:
    """Validate ``results`` (unless the caller just did) and write MATRIX.md, index.html and the badges.

    ``previous``: the run before, for "changed since last run" (None: no such section).
    ``history``: the runs so far, for the trend. ``claims``: default, ``runner/claims.toml``.
    """
    if not validated:
        validate(results)
    out_dir = Path(out_dir)
    view = build_view(results, previous=previous, history=history, claims=claims)
    env = environment()
    context = {"view": view, "data": page_data(view)}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, template in OUTPUTS:
        path = out_dir / name
        path.write_text(env.get_template(template).render(context), encoding="utf-8")
        written.append(path)
    written += write_badges(results, out_dir)
    return written


def publish_run(results: dict[str, Any], out: Path) -> list[Path]:
    """A finished run (or merge) into ``out``: validate, keep the previous results.json as
    previous-results.json, write results.json, add the run to history.jsonl, and publish
    against the previous run and the history. Returns the files written."""
    packed = pack(results)
    validate(packed)  # the file form: each distinct error is checked once, not once per record
    out.mkdir(parents=True, exist_ok=True)
    current = out / "results.json"
    if current.exists():
        shutil.copyfile(current, out / PREVIOUS_NAME)
    write_json(packed, current)
    append_history(results, out / HISTORY_NAME)
    return [current, *publish_beside(results, out, validated=True)]


def publish_beside(results: dict[str, Any], out: Path, *, validated: bool = False) -> list[Path]:
    """Publish into ``out`` against the previous results and the history found there (if any)."""
    return publish(
        results,
        out,
        previous=read_previous(out / PREVIOUS_NAME),
        history=read_history(out / HISTORY_NAME),
        validated=validated,
    )
