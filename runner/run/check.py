"""``keras-compat check MODEL``: a team's own model file loaded in every selected environment.

Each load runs in a child of that environment's warmed-up harness (the matrix's own
machinery: a crash or hang is asked again in a fresh interpreter), from a private copy of
the file, with each load option
(default, ``safe_mode=False``, ``compile=False``; with ``--serve FILE.py``, the team's loading
code run in the child, also its ``CUSTOM_OBJECTS`` and its ``register()``), under a time limit. The child calls the
model (on ``--input`` or on seeded data of its input shape) and writes the output; the
outputs are compared here, as arrays, with the environment the file was saved in. The
orchestrator never loads the model itself.

Every call is watched (runner/harness/audit.py): each record carries the audit events of its load and first
call (``events``: a process, the network, unpickling, bytecode, writes outside its folder, imports outside
the libraries; None on Python 3.7, where they cannot be observed). With ``sandbox``, every load runs in a
container of the base image instead (runner/run/container.py ``SandboxBackend``): the row's lock mounted
as its packages, no network, the repository read-only, and one writable mount, this check's scratch
folder, through which the model goes in (a copy) and the outputs come out.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path

import numpy as np

from runner.core.errors import EnvError
from runner.core.status import derive
from runner.harness.loading import compare
from runner.harness.protocol import calls_for

from .backends import Backend
from .catalog import SCENARIO_DIR
from .grid import Row
from .workers import RowSession

LOAD_TIMEOUT = 120.0


def _row_records(
    row: Row,
    backend: Backend,
    model: Path,
    input_path: Path | None,
    serve: Path | None,
    work: Path,
    ids: count,
    lock: threading.Lock,
    timeout: float,
    written: str | None = None,
) -> list[dict]:
    base = {"row": row.id, "max_abs_diff": None, "output": None, "format": "model", "written": written}
    # every call that reads what the file is, but load_weights: check has no code to rebuild the model from
    options = [o for o in calls_for("model", written) if o != "load_weights"]
    try:
        env = backend.prepare(row)
    except EnvError as exc:
        error = {"type": "EnvError", "message": str(exc), "traceback": ""}
        return [dict(base, option=o, outcome="env_error", stage="env", error=error, durations={}) for o in options]
    session = RowSession(env, "fork", scenario_dir=SCENARIO_DIR, log_path=work / f"check-{row.id}.log")
    records = []
    try:
        for option in options:
            with lock:
                request_id = next(ids)
            out = work / f"{row.id}-{option}.npy"
            request = {
                "id": request_id,
                "kind": "check",
                "model": str(model.resolve()),
                "option": option,
                "input": str(input_path.resolve()) if input_path else None,
                "serve_file": str(serve.resolve()) if serve else None,
                "written": written,
                "format": "model",
                "out": str(out),
                "timeout": timeout,
            }
            answer = session.ask(request, timeout)
            records.append(
                dict(
                    base,
                    option=option,
                    call=answer.get("call"),
                    outcome=answer["outcome"],
                    stage=answer.get("stage", "load"),
                    error=answer.get("error"),
                    durations=answer.get("durations") or {},
                    mode=answer.get("mode"),
                    output=str(out) if out.exists() else None,
                    code_ran=answer.get("code_ran"),
                    events=answer.get("events"),
                    events_note=answer.get("events_note"),
                )
            )
    finally:
        session.close()
    return records


def _compare(records: list[dict], reference: str | None) -> str | None:
    """Outputs against the reference row's (its first option that produced one); returns the row compared to."""
    ref = next((r for r in records if r["row"] == reference and r["output"]), None)
    if ref is None:
        return None
    y_ref = np.load(ref["output"], allow_pickle=False)
    for r in records:
        if r["outcome"] != "ok" or not r["output"]:
            continue
        r["max_abs_diff"], error = compare(np.load(r["output"], allow_pickle=False), y_ref, reference)
        if error is not None:
            r.update(outcome="wrong_output", stage="compare", error=error)
    return reference


def check(
    model: Path,
    rows: list[Row],
    backend: Backend,
    *,
    reference: str | None,
    input_path: Path | None = None,
    serve: Path | None = None,
    jobs: int = 2,
    timeout: float = LOAD_TIMEOUT,
    written: str | None = None,
    sandbox: bool = False,
) -> dict:
    """Per row: the records (one per option) and a status by the matrix's own rules; and the wall time.

    ``sandbox``: every load in a container (``backend`` then only says where envs live, its ``home``)."""
    start = time.monotonic()
    shown = model
    ids, lock = count(1), threading.Lock()
    with tempfile.TemporaryDirectory(prefix="kc-check-") as folder:
        work = Path(folder)
        if sandbox:
            from .container import SandboxBackend

            backend = SandboxBackend(home=getattr(backend, "home", None), rw=(work,))
            model = _into(work, model)
            input_path = _into(work, input_path) if input_path else None
            serve = _into(work, serve) if serve else None
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            per_row = list(
                pool.map(
                    lambda row: _row_records(row, backend, model, input_path, serve, work, ids, lock, timeout, written),
                    rows,
                )
            )
        records = [r for recs in per_row for r in recs]
        compared = _compare(records, reference)
    for r in records:
        r.pop("output", None)
    verdicts = []
    for row, recs in zip(rows, per_row, strict=True):
        cell = derive(recs, "")
        verdicts.append({"row": row.id, "label": row.label, **cell, "records": recs})
    return {
        "model": str(shown),
        "reference": compared,
        "rows": verdicts,
        "sandbox": sandbox,
        "wall_s": round(time.monotonic() - start, 1),
    }


def _into(work: Path, path: Path) -> Path:
    """A copy of ``path`` in the check's scratch folder (the sandbox's one writable mount): what goes in."""
    inside = work / "in" / path.name
    inside.parent.mkdir(exist_ok=True)
    (shutil.copytree if path.is_dir() else shutil.copy2)(path, inside)
    return inside
