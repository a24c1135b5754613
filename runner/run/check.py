"""``keras-compat check MODEL``: a team's own model file loaded in every selected environment.

Each load runs in a child of that environment's warmed-up harness (the matrix's own
machinery: a crash or hang is asked again in a fresh interpreter), from a private copy of
the file, with every call a user writes that reads what the file is (``load_model`` plain,
``safe_mode=False``, ``compile=False``, TFSMLayer / ``tf.saved_model.load`` for a SavedModel; with
``--serve FILE.py``, the team's loading code run in the child, also its ``CUSTOM_OBJECTS``, alone and
with ``safe_mode=False``, and its ``register()``), under a time limit. The child calls the model (on
``--input``: a .npy, or a .npz with one array per input name; else seeded data of each input's shape)
and writes the output; the outputs are compared here, as arrays, with the environment nearest to the
versions the file was saved with that loaded it (or, when no row matches its saver, with each other).
A verdict says "computes the same" only where that comparison happened. The orchestrator never loads
the model itself.

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


def _compare(records: list[dict], references: list[str]) -> tuple[str | None, str]:
    """Every output against the reference's: the first of ``references`` (the rows nearest to the versions the
    file was saved with, best first) whose load produced an output. With no candidate (no row matches the
    saver), the rows are compared with each other: with the first row that produced an output. Returns the
    row compared with and how it was chosen ("saved_in" for the first candidate, "nearest", "each_other",
    or "none" when nothing produced an output)."""
    outputs = [r for r in records if r["output"] and r["outcome"] == "ok"]
    ref, how = None, "none"
    for i, row in enumerate(references):
        ref = next((r for r in outputs if r["row"] == row), None)
        if ref is not None:
            how = "saved_in" if i == 0 else "nearest"
            break
    if ref is None and not references and outputs:
        ref, how = outputs[0], "each_other"
    if ref is None:
        return None, how
    y_ref = np.load(ref["output"], allow_pickle=False)
    for r in outputs:
        r["max_abs_diff"], error = compare(np.load(r["output"], allow_pickle=False), y_ref, ref["row"])
        r["compared_with"] = ref["row"]
        if error is not None:
            r.update(outcome="wrong_output", stage="compare", error=error)
    return ref["row"], how


def check(
    model: Path,
    rows: list[Row],
    backend: Backend,
    *,
    references: list[str],
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
        compared, how = _compare(records, references)
    for r in records:
        r.pop("output", None)
    verdicts = []
    for row, recs in zip(rows, per_row, strict=True):
        cell = derive(recs, "")
        rests = next((r for r in recs if r["option"] == cell["option"]), {})
        verdicts.append(
            {
                "row": row.id,
                "label": row.label,
                **cell,
                "call": rests.get("call"),
                # a working status is "computes the same" only where the outputs were compared
                "compared_with": rests.get("compared_with"),
                "records": recs,
            }
        )
    return {
        "model": str(shown),
        "reference": compared,
        "reference_how": how,
        "references_wanted": list(references[:1]),
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
