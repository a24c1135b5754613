"""Running a plan: envs, one save process per row, one load worker per load row.

1. Envs: ``backend.prepare(row)`` for every row the pairs touch, in parallel; a row
   that cannot be built makes each of its cells an ``env_error`` record carrying the
   one-line reason.
2. Cache: a cell whose key (save lock, load lock, scenario source, harness source)
   is unchanged comes from the store and is not run again.
3. Saves: one ``harness.py save`` process per save row, for the scenarios that have
   no artifact yet (TensorFlow is imported once per row, not per cell).
4. Loads: one ``harness.py load`` worker per load row takes every artifact paired
   with it, one after another, each with a fresh serving-side ``__main__``; a hang or
   an interpreter crash costs that one request (``timeout`` / ``crash``) and the
   worker is restarted. Options are tried lazily on cross-env pairs: the other
   options only when the default load is not ``ok`` (they cannot change a passing
   cell's status). Byte-identical artifacts are loaded once per load row.
5. Each cell's records go to the store the moment its last option is done.

``isolate=True`` is the naive reference: a fresh interpreter for every single load,
every option tried. The equivalence test and ``bench/`` compare the two.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .backends import Backend, Env
from .catalog import SCENARIO_DIR, Scenario, harness_hash
from .errors import EnvError
from .grid import Row
from .model import OPTIONS
from .pairs import Pair
from .store import Store, cache_key
from .workers import HarnessProcess, Interrupted, WorkerDied

log = logging.getLogger("keras_compat")

READY_TIMEOUT = 600.0  # importing TF on a cold disk
SAVE_TIMEOUT = 600.0  # one scenario: build, fit, predict, four saves
LOAD_TIMEOUT = 60.0  # one load + call: the slowest real one measured 13.7 s (full grid); a hang is cut at 60 s
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}  # mirrors scenarios/harness.py


@dataclass
class RowRun:
    """What happened to one row's env in this run."""

    row: Row
    env: Env | None = None
    error: str | None = None
    timings: dict = field(default_factory=dict)

    @property
    def ready(self) -> Env:
        """The built env (only asked for rows whose env did not fail)."""
        assert self.env is not None, f"{self.row.id}: env not built"
        return self.env


@dataclass
class RunResult:
    rows: list[RowRun]
    records: list[dict]
    ran: int = 0
    cached: int = 0
    loads: int = 0  # load requests actually sent to a worker
    deduped: int = 0
    worker_starts: int = 0
    retried: int = 0  # loads tried again in a fresh worker after a crash or a timeout
    timings: dict = field(default_factory=dict)


class Progress:
    """What the engine reports as it goes; the CLI plugs rich in here."""

    def start(self, total: int) -> None: ...
    def advance(self, row: str, n: int, failures: int) -> None: ...
    def note(self, message: str) -> None: ...


def _record(scenario: str, fmt: str, save_row: str, load_row: str, option: str, **fields) -> dict:
    base = {
        "scenario": scenario, "format": fmt, "save_row": save_row, "load_row": load_row, "option": option,
        "outcome": "ok", "stage": "compare", "written": None, "error": None, "max_abs_diff": None,
        "tolerance": dict(TOLERANCE), "durations": {},
    }
    base.update(fields)
    return base


@dataclass
class _Cell:
    scenario: str
    fmt: str
    save_row: str
    load_row: str
    key: str
    lazy: bool
    records: dict = field(default_factory=dict)  # option -> record
    wanted: tuple = OPTIONS

    def done(self) -> bool:
        if self.lazy:
            return self.next_option() is None
        return all(o in self.records for o in self.wanted)

    def next_option(self) -> str | None:
        """Lazy cells try the options one by one, in ``OPTIONS`` order, and stop at the first
        of default/custom_objects/registered/safe_mode_off that works: the options after it
        cannot change the cell's status, option or fix (``runner/status.py``), so they are not
        loaded. ``compile_off`` is tried only when none of those work."""
        for option in OPTIONS:
            record = self.records.get(option)
            if record is None:
                return option
            if option != "compile_off" and record["outcome"] == "ok":
                return None
        return None


class Engine:
    def __init__(self, *, backend: Backend, work: Path, scenarios: dict[str, Scenario], formats: list[str],
                 jobs: int = 2, progress: Progress | None = None, load_timeout: float = LOAD_TIMEOUT,
                 save_timeout: float = SAVE_TIMEOUT, lazy: str = "cross", isolate: bool = False,
                 use_cache: bool = True):
        self.backend = backend
        self.work = work
        self.scenarios = scenarios
        self.formats = formats
        self.jobs = max(1, jobs)
        self.progress = progress or Progress()
        self.store = Store(work / "cells.jsonl")
        self.harness_hash = harness_hash()
        self.load_timeout = load_timeout
        self.save_timeout = save_timeout
        self.lazy = lazy  # "cross": lazy on cross-env pairs only | "always" | "never"
        self.isolate = isolate
        self.use_cache = use_cache
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self.stopping = threading.Event()  # set on Ctrl-C / SIGTERM: in-flight work is dropped, not recorded
        dirs = {s.path.parent for s in scenarios.values()}
        if len(dirs) > 1:
            raise ValueError("all scenarios of a run live in one folder")
        self.scenario_dir = dirs.pop() if dirs else SCENARIO_DIR

    # -- public -----------------------------------------------------------
    def run(self, rows: list[Row], pairs: list[Pair] | None = None) -> RunResult:
        try:
            return self._run(rows, pairs)
        except BaseException:
            self.stopping.set()  # workers see it within a second, kill their process and record nothing
            raise

    def _run(self, rows: list[Row], pairs: list[Pair] | None = None) -> RunResult:
        pairs = pairs if pairs is not None else [(r.id, r.id) for r in rows if not r.load_only]
        involved = [r for r in rows if any(r.id in p for p in pairs)]
        result = RunResult(rows=[], records=[])
        self.progress.start(len(pairs) * len(self.scenarios) * len(self.formats))
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(self.jobs, 4)) as pool:
            runs = {run.row.id: run for run in pool.map(self._prepare, involved)}
        result.rows = [runs[r.id] for r in involved]
        result.timings["envs_s"] = round(time.monotonic() - t0, 1)

        # cells: cached, decided by a failed env, or pending
        pending: list[_Cell] = []
        for save_id, load_id in pairs:
            save_run, load_run = runs[save_id], runs[load_id]
            for sc in self.scenarios:
                for fmt in self.formats:
                    if save_run.error or load_run.error:
                        bad = save_run if save_run.error else load_run
                        which = "save" if save_run.error else "load"
                        msg = f"{which} env {bad.row.id}: {bad.error}" if save_id != load_id else bad.error
                        recs = [_record(sc, fmt, save_id, load_id, o, outcome="env_error", stage="env",
                                        error={"type": "EnvError", "message": msg, "traceback": ""}) for o in OPTIONS]
                        result.records.extend(recs)
                        self.progress.advance(load_id, 1, 1)
                        continue
                    key = cache_key(save_run.ready.lock_hash, load_run.ready.lock_hash, self.scenarios[sc].hash,
                                    self.harness_hash)
                    cached = self.store.get((sc, fmt, save_id, load_id), key) if self.use_cache else None
                    if cached is not None:
                        result.records.extend(cached)
                        result.cached += 1
                        self.progress.advance(load_id, 1, int(cached[0]["outcome"] != "ok"))
                        continue
                    lazy = self.lazy == "always" or (self.lazy == "cross" and save_id != load_id)
                    pending.append(_Cell(sc, fmt, save_id, load_id, key, lazy))
        if not pending:
            result.timings["total_s"] = round(time.monotonic() - t0, 1)
            return result

        # saves, per save row
        t1 = time.monotonic()
        need: dict[str, set[str]] = {}
        for cell in pending:
            need.setdefault(cell.save_row, set()).add(cell.scenario)
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            metas_list = list(pool.map(lambda sid: (sid, self._save(runs[sid].ready, sorted(need[sid]))), need))
        metas = dict(metas_list)
        result.timings["saves_s"] = round(time.monotonic() - t1, 1)

        # cells decided by the save side; the rest become load requests per load row
        t2 = time.monotonic()
        by_load: dict[str, list[_Cell]] = {}
        for cell in pending:
            meta = metas[cell.save_row][cell.scenario]
            fmeta = meta.get("formats", {}).get(cell.fmt)
            if meta["outcome"] != "ok" or fmeta is None or fmeta["outcome"] != "ok":
                if meta["outcome"] != "ok" or fmeta is None:
                    outcome = {"ok": "build_error"}.get(meta["outcome"], meta["outcome"])
                    fields = {"outcome": outcome, "stage": meta.get("stage", "build"), "error": meta.get("error"),
                              "durations": dict(meta.get("stages", {}))}
                else:
                    fields = {"outcome": fmeta["outcome"], "stage": "save", "written": fmeta.get("written"),
                              "error": fmeta.get("error"), "durations": {"save_s": fmeta.get("save_s")}}
                for o in OPTIONS:
                    cell.records[o] = _record(cell.scenario, cell.fmt, cell.save_row, cell.load_row, o, **fields)
                self._finish(cell, result)
                continue
            by_load.setdefault(cell.load_row, []).append(cell)
        # Longest first, and big load rows (the upgrade targets take every row's artifacts) split in
        # chunks of their own worker, so the last minutes do not run on one core.
        total = sum(len(c) for c in by_load.values())
        chunk = max(150, total // (self.jobs * 6) + 1)
        tasks = [(lid, cells[i:i + chunk]) for lid, cells in by_load.items() for i in range(0, len(cells), chunk)]
        tasks.sort(key=lambda t: -len(t[1]))
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            list(pool.map(lambda t: self._load_row(runs[t[0]].ready, t[1], metas, result), tasks))
        result.timings["loads_s"] = round(time.monotonic() - t2, 1)
        result.timings["total_s"] = round(time.monotonic() - t0, 1)
        return result

    # -- envs -------------------------------------------------------------
    def _prepare(self, row: Row) -> RowRun:
        run = RowRun(row=row)
        start = time.monotonic()
        try:
            run.env = self.backend.prepare(row)
        except EnvError as exc:
            run.error = str(exc)
        run.timings["env_s"] = round(time.monotonic() - start, 2)
        return run

    def artifact_root(self, env: Env) -> Path:
        return self.work / "artifacts" / f"{env.row_id}-{env.lock_hash[:10]}-{self.harness_hash[:8]}"

    def artifact_dir(self, env: Env, sc: str) -> Path:
        return self.artifact_root(env) / f"{sc}-{self.scenarios[sc].hash[:10]}"

    # -- saving -----------------------------------------------------------
    def _save(self, env: Env, scenarios: list[str]) -> dict[str, dict]:
        root = self.artifact_root(env)
        metas: dict[str, dict] = {}
        pending = []
        for sc in scenarios:
            meta = self._read_meta(self.artifact_dir(env, sc))
            if meta is not None:
                metas[sc] = meta
            else:
                pending.append(sc)
        root.mkdir(parents=True, exist_ok=True)
        staging = root / "_staging"
        for sc in pending:  # older versions of a scenario about to be re-saved point at the same folder
            for stale in root.glob(f"{sc}-*"):
                if stale.is_symlink():
                    stale.unlink()
        while pending:
            proc = HarnessProcess(env, ["save", "--out", str(staging), "--scenarios", ",".join(pending),
                                        "--formats", ",".join(self.formats)], stderr_path=root / "save.log",
                                  scenario_dir=self.scenario_dir, stop=self.stopping)
            current = None
            try:
                proc.read(READY_TIMEOUT)
                while pending:
                    msg = proc.read(self.save_timeout)
                    if msg.get("event") == "start":
                        current = msg["scenario"]
                    elif msg.get("event") == "saved":
                        sc = msg["scenario"]
                        metas[sc] = self._adopt(staging / sc, env, sc)
                        pending.remove(sc)
                        current = None
                    elif msg.get("event") == "done":
                        break
                proc.close()
            except Interrupted:
                return metas
            except WorkerDied as died:
                failed = current or pending[0]
                metas[failed] = {"outcome": died.kind, "stage": "build", "formats": {},
                                 "error": {"type": "WorkerDied", "message": died.detail, "traceback": ""}}
                pending.remove(failed)
                log.warning("%s: save of %s: %s", env.row_id, failed, died.detail)
                continue
            for sc in pending:  # the process ended without saving these: never loop forever
                metas[sc] = {"outcome": "crash", "stage": "build", "formats": {},
                             "error": {"type": "WorkerDied", "message": "the save process ended early",
                                       "traceback": ""}}
            pending = []
        return metas

    def _adopt(self, staged: Path, env: Env, sc: str) -> dict:
        # The artifact stays where the harness wrote it: a saved model may hold absolute paths into
        # its folder (a hub.KerasLayer stores its module's path), so moving it would break the model.
        # The scenario-versioned name is a symlink to it.
        final = self.artifact_dir(env, sc)
        if final.is_symlink() or final.is_file():
            final.unlink()
        elif final.exists():
            shutil.rmtree(final)
        final.symlink_to(staged.relative_to(final.parent) if staged.is_relative_to(final.parent) else staged)
        missing = {"type": "MissingMeta", "message": "meta.json missing", "traceback": ""}
        return self._read_meta(final) or {"outcome": "crash", "stage": "save", "formats": {}, "error": missing}

    @staticmethod
    def _read_meta(directory: Path) -> dict | None:
        try:
            return json.loads((directory / "meta.json").read_text())
        except (OSError, ValueError):
            return None

    # -- loading ----------------------------------------------------------
    def _load_row(self, env: Env, cells: list[_Cell], metas: dict[str, dict[str, dict]], result: RunResult) -> None:
        try:
            self._load_cells(env, cells, metas, result)
        except Interrupted:
            return  # the run is stopping: what was in flight is not an outcome

    def _load_cells(self, env: Env, cells: list[_Cell], metas: dict[str, dict[str, dict]], result: RunResult) -> None:
        queue: deque[tuple[_Cell, str]] = deque()
        for cell in cells:
            options = ("default",) if cell.lazy else OPTIONS
            queue.extend((cell, o) for o in options)
        answered: dict[tuple, dict] = {}  # identical artifact + option -> the worker's answer
        # A load that kills or hangs its worker is tried once more in a fresh worker before it
        # is recorded: state left behind by earlier loads in the same process can make a later
        # load hang (measured: a failed tf-keras 2.16 .keras load in TF 2.15 makes the next
        # custom_objects load loop forever), and a fresh process has no such state.
        retried: set[tuple[int, str]] = set()
        worker: HarnessProcess | None = None
        log_path = self.work / "logs" / f"load-{env.row_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        while queue:
            if self.stopping.is_set():
                break
            cell, option = queue.popleft()
            meta = metas[cell.save_row][cell.scenario]
            fmeta = meta["formats"][cell.fmt]
            saver = next(r.ready for r in result.rows if r.row.id == cell.save_row)
            art = self.artifact_dir(saver, cell.scenario)
            dedupe = (fmeta.get("sha256"), meta.get("ref_sha256"), cell.scenario, cell.fmt, option)
            answer = answered.get(dedupe) if fmeta.get("sha256") and meta.get("ref_sha256") else None
            if answer is not None:
                with self._lock:
                    result.deduped += 1
            else:
                if worker is None:
                    worker = HarnessProcess(env, ["load"], stderr_path=log_path, stdin=True,
                                            scenario_dir=self.scenario_dir, stop=self.stopping)
                    with self._lock:
                        result.worker_starts += 1
                    try:
                        worker.read(READY_TIMEOUT)
                    except WorkerDied as died:
                        worker = None
                        answer = {"outcome": died.kind, "stage": "load", "durations": {},
                                  "error": {"type": "WorkerDied", "traceback": "",
                                            "message": f"the load worker did not start: {died.detail}"}}
                if answer is None:
                    request = {"id": next(self._ids), "scenario": cell.scenario, "format": cell.fmt,
                               "option": option, "artifact_dir": str(art),
                               "scenario_file": str(self.scenarios[cell.scenario].path)}
                    with self._lock:
                        result.loads += 1
                    try:
                        worker.send(request)  # type: ignore[union-attr]
                        while True:
                            msg = worker.read(self.load_timeout)  # type: ignore[union-attr]
                            if msg.get("event") == "record" and msg.get("id") == request["id"]:
                                break
                        answer = {k: msg.get(k) for k in ("outcome", "stage", "error", "max_abs_diff", "durations")}
                        answered[dedupe] = answer
                    except WorkerDied as died:
                        worker.kill()  # type: ignore[union-attr]
                        worker = None
                        if (id(cell), option) not in retried and not self.stopping.is_set():
                            retried.add((id(cell), option))
                            with self._lock:
                                result.retried += 1
                            queue.appendleft((cell, option))
                            continue
                        answer = {"outcome": died.kind, "stage": "load", "durations": {},
                                  "error": {"type": "WorkerDied", "message": died.detail, "traceback": ""}}
                    if self.isolate and worker is not None:
                        worker.close()
                        worker = None
            durations = dict(answer.get("durations") or {})
            durations["save_s"] = fmeta.get("save_s")
            cell.records[option] = _record(cell.scenario, cell.fmt, cell.save_row, cell.load_row, option,
                                           outcome=answer["outcome"], stage=answer["stage"], error=answer.get("error"),
                                           max_abs_diff=answer.get("max_abs_diff"), written=fmeta.get("written"),
                                           durations=durations)
            if cell.lazy and (following := cell.next_option()) is not None:
                queue.append((cell, following))
            if cell.done():
                self._finish(cell, result)
        if worker is not None:
            worker.close()

    def _finish(self, cell: _Cell, result: RunResult) -> None:
        recs = [cell.records[o] for o in OPTIONS if o in cell.records]
        with self._lock:
            result.records.extend(recs)
            result.ran += 1
        self.store.put((cell.scenario, cell.fmt, cell.save_row, cell.load_row), cell.key, recs)
        self.progress.advance(cell.load_row, 1, int(recs[0]["outcome"] != "ok"))
