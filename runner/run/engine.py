"""Running a plan: envs, then every save and every load in a process of its own.

1. Envs: ``backend.prepare(row)`` for every row the pairs touch, in parallel; a row
   that cannot be built makes each of its cells an ``env_error`` record carrying the
   one-line reason.
2. Cache: a cell whose key (save lock, load lock, scenario source, harness source)
   is unchanged comes from the store and is not run again.
3. Saves: per save row, one harness imports TensorFlow once, warms up, and forks a
   child per scenario (``runner/run/workers.py``, ``runner/harness/server.py``): one
   scenario's globals, registrations and layer-name counters never reach the next.
4. Loads: per load row (big rows in chunks), one warmed-up harness forks a child per
   load; the child runs the scenario's serve cell, loads, calls and compares. A child
   that crashes or hangs is confirmed in a fresh interpreter. Options are tried
   lazily on cross-env pairs: the other options only when the default load is not
   ``ok`` (they cannot change a passing cell's status). Byte-identical artifacts are
   loaded once per load row (each load is a fresh process, so the answer is the same).
5. Each cell's records go to the store the moment its last option is done.

``engine="fresh"`` is the reference: a fresh interpreter for every single request.
``shuffle=SEED`` runs saves and loads in another order: with isolated requests the
records do not change (``bench/orders.py`` checks it on the whole grid).
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runner.core.errors import EnvError
from runner.core.status import plain_call
from runner.core.vocab import OPTIONS
from runner.harness.protocol import ATOL, RTOL, calls_for

from .artifacts import Artifacts, no_artifact, read_meta
from .backends import Backend, Env
from .catalog import SCENARIO_DIR, Scenario, harness_hash
from .grid import Row
from .pairs import Pair
from .state import PendingCell, Progress, RowRun, RunResult, failing, new_record
from .store import Store, cache_key
from .workers import HARNESS_ARGV, Interrupted, RowSession
from .workers import Engine as EngineKind

log = logging.getLogger("keras_compat")

SAVE_TIMEOUT = 600.0  # one scenario: build, fit, predict, four saves
LOAD_TIMEOUT = 60.0  # one load + call: the slowest real one measured 13.7 s (full grid); a hang is cut at 60 s


class Engine:
    def __init__(
        self,
        *,
        backend: Backend,
        work: Path,
        scenarios: dict[str, Scenario],
        formats: list[str],
        jobs: int = 2,
        progress: Progress | None = None,
        load_timeout: float = LOAD_TIMEOUT,
        save_timeout: float = SAVE_TIMEOUT,
        lazy: str = "cross",
        engine: EngineKind = "fork",
        shuffle: int | None = None,
        use_cache: bool = True,
        harness: tuple[str, ...] = HARNESS_ARGV,
        run_id: str | None = None,
    ):
        self.backend = backend
        self.work = work
        self.scenarios = scenarios
        self.formats = formats
        self.jobs = max(1, jobs)
        self.progress = progress or Progress()
        self.store = Store(work / "cells.jsonl")
        self.harness_hash = harness_hash()
        self.artifacts = Artifacts(work, scenarios, self.harness_hash)
        self.load_timeout = load_timeout
        self.save_timeout = save_timeout
        self.lazy = lazy  # "cross": lazy on cross-env pairs only | "always" | "never"
        self.engine = engine
        self.shuffle = shuffle
        self.use_cache = use_cache
        self.harness = harness
        self.run_id = run_id  # this run's start time: each cell it measures is cached under it
        self._counts: Counter = Counter()
        self._no_fork: dict[str, str] = {}
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
        pending: list[PendingCell] = []
        for save_id, load_id in pairs:
            save_run, load_run = runs[save_id], runs[load_id]
            for sc in self.scenarios:
                for fmt in self.formats:
                    if save_run.error or load_run.error:
                        bad = save_run if save_run.error else load_run
                        which = "save" if save_run.error else "load"
                        msg = f"{which} env {bad.row.id}: {bad.error}" if save_id != load_id else bad.error
                        recs = [
                            new_record(
                                sc,
                                fmt,
                                save_id,
                                load_id,
                                plain_call(fmt),
                                outcome="env_error",
                                stage="env",
                                error={"type": "EnvError", "message": msg, "traceback": ""},
                            )
                        ]
                        result.records.extend(recs)
                        result.measured[self.run_id] += 1
                        self.progress.advance(load_id, 1, 1)
                        continue
                    key = cache_key(
                        save_run.ready.lock_hash, load_run.ready.lock_hash, self.scenarios[sc].hash, self.harness_hash
                    )
                    cached = self.store.get((sc, fmt, save_id, load_id), key) if self.use_cache else None
                    if cached is not None:
                        result.records.extend(cached)
                        result.cached += 1
                        result.measured[self.store.measured_by((sc, fmt, save_id, load_id))] += 1
                        self.progress.advance(load_id, 1, failing(cached))
                        continue
                    lazy = self.lazy == "always" or (self.lazy == "cross" and save_id != load_id)
                    pending.append(PendingCell(sc, fmt, save_id, load_id, key, lazy))
        if not pending:
            result.timings["total_s"] = round(time.monotonic() - t0, 1)
            return result
        rng = random.Random(self.shuffle) if self.shuffle is not None else None
        if rng is not None:
            rng.shuffle(pending)

        # 1. per save row, one harness: its saves, the loads of its own artifacts (same-env cells), then
        #    the loads of other rows' artifacts that are saved by then (rows run oldest first, so a row's
        #    previous release usually is): each row pays TensorFlow's import and the warm-up once.
        t1 = time.monotonic()
        need: dict[str, set[str]] = {}
        same: dict[str, list[PendingCell]] = {}
        cross: dict[str, list[PendingCell]] = {}
        for cell in pending:
            need.setdefault(cell.save_row, set()).add(cell.scenario)
            (same if cell.save_row == cell.load_row else cross).setdefault(cell.load_row, []).append(cell)
        order = {sid: sorted(need[sid]) for sid in need}
        if rng is not None:
            for scenarios in order.values():
                rng.shuffle(scenarios)
        metas: dict[str, dict[str, dict]] = {}

        def row_task(sid: str) -> None:
            env = runs[sid].ready
            session = self._session(env, "row")
            try:
                metas[sid] = self._save(env, order[sid], session)
                if not self.stopping.is_set():
                    cells = [c for c in same.get(sid, []) if not self._decided_at_save(c, metas, result)]
                    self._load_cells(session, cells, metas, result, rng)
                if not self.stopping.is_set():
                    ready = [c for c in cross.get(sid, []) if c.save_row in metas]
                    for c in ready:
                        c.claimed = True
                    cells = [c for c in ready if not self._decided_at_save(c, metas, result)]
                    self._load_cells(session, cells, metas, result, rng)
            except Interrupted:
                return  # the run is stopping: what was in flight is not an outcome
            finally:
                self._end_session(session)

        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            list(pool.map(row_task, [r.id for r in involved if r.id in need]))  # grid order: oldest first
        result.timings["rows_s"] = round(time.monotonic() - t1, 1)
        if self.stopping.is_set():
            return result

        # 2. the loads of other rows' artifacts (cross-env cells), per load row
        t2 = time.monotonic()
        by_load: dict[str, list[PendingCell]] = {}
        for cell in pending:
            if cell.save_row != cell.load_row and not cell.claimed and not self._decided_at_save(cell, metas, result):
                by_load.setdefault(cell.load_row, []).append(cell)
        # Longest first, and big load rows (the upgrade targets take every row's artifacts) split in
        # chunks of their own harness, so the last minutes do not run on one core.
        total = sum(len(c) for c in by_load.values())
        chunk = max(300, total // (self.jobs * 3) + 1)
        tasks = [(lid, cells[i : i + chunk]) for lid, cells in by_load.items() for i in range(0, len(cells), chunk)]
        tasks.sort(key=lambda t: -len(t[1]))
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            list(pool.map(lambda t: self._load_row(runs[t[0]].ready, t[1], metas, result, rng), tasks))
        result.timings["cross_s"] = round(time.monotonic() - t2, 1)
        result.timings["total_s"] = round(time.monotonic() - t0, 1)
        result.processes = self._counts
        result.no_fork = dict(self._no_fork)
        return result

    def _decided_at_save(self, cell: PendingCell, metas: dict[str, dict[str, dict]], result: RunResult) -> bool:
        """Finish a cell whose artifact does not exist (build, save error, unsupported); True if so."""
        fields = no_artifact(metas[cell.save_row][cell.scenario], cell.fmt)
        if fields is None:
            return False
        option = plain_call(cell.fmt)  # nothing could be called: one record says why
        cell.records[option] = new_record(cell.scenario, cell.fmt, cell.save_row, cell.load_row, option, **fields)
        cell.queued.add(option)
        self._finish(cell, result)
        return True

    def _session(self, env: Env, log_name: str) -> RowSession:
        log_path = self.work / "logs" / f"{log_name}-{env.row_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        return RowSession(
            env,
            self.engine,
            scenario_dir=self.scenario_dir,
            log_path=log_path,
            harness=self.harness,
            stop=self.stopping,
            counts=self._counts,
            lock=self._lock,
        )

    def _end_session(self, session: RowSession) -> None:
        session.close()
        if session.fork_error:
            with self._lock:
                self._no_fork[session.env.row_id] = session.fork_error

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

    # -- saving -----------------------------------------------------------
    def _save(self, env: Env, scenarios: list[str], session: RowSession) -> dict[str, dict]:
        """Each scenario's save in a child of the row's warmed-up harness; its meta dict per scenario."""
        metas: dict[str, dict] = {}
        pending = []
        for sc in scenarios:
            meta = read_meta(self.artifacts.dir(env, sc))
            if meta is not None:
                metas[sc] = meta
            else:
                pending.append(sc)
        if not pending:
            return metas
        staging = self.artifacts.staging(env, pending)
        try:
            for sc in pending:
                if self.stopping.is_set():
                    break
                request = {
                    "id": next(self._ids),
                    "kind": "save",
                    "scenario": sc,
                    "scenario_file": str(self.scenarios[sc].path),
                    "out": str(staging / sc),
                    "formats": list(self.formats),
                    "timeout": self.save_timeout,
                }
                answer = session.ask(request, self.save_timeout, stage="build")
                if answer["outcome"] in ("crash", "timeout"):
                    log.warning("%s: save of %s: %s", env.row_id, sc, answer["error"]["message"])
                    metas[sc] = {
                        "outcome": answer["outcome"],
                        "stage": "build",
                        "formats": {},
                        "error": answer["error"],
                        "mode": answer.get("mode"),
                    }
                else:
                    metas[sc] = self.artifacts.adopt(staging / sc, env, sc, mode=answer.get("mode"))
        except Interrupted:
            return metas
        return metas

    # -- loading ----------------------------------------------------------
    def _load_row(
        self,
        env: Env,
        cells: list[PendingCell],
        metas: dict[str, dict[str, dict]],
        result: RunResult,
        rng: random.Random | None = None,
    ) -> None:
        session = self._session(env, "load")
        try:
            self._load_cells(session, cells, metas, result, rng)
        except Interrupted:
            return  # the run is stopping: what was in flight is not an outcome
        finally:
            self._end_session(session)

    def _load_cells(
        self,
        session: RowSession,
        cells: list[PendingCell],
        metas: dict[str, dict[str, dict]],
        result: RunResult,
        rng: random.Random | None,
    ) -> None:
        entries = []
        for cell in cells:
            written = metas[cell.save_row][cell.scenario]["formats"][cell.fmt].get("written")
            cell.calls = calls_for(cell.fmt, written)
            for option in cell.first():
                cell.queued.add(option)
                entries.append((cell, option))
        if rng is not None:
            rng.shuffle(entries)
        queue: deque[tuple[PendingCell, str]] = deque(entries)
        answered: dict[tuple, dict] = {}  # identical artifact + option -> the answer (each load is isolated)
        savers = {r.row.id: r.env for r in result.rows if r.env is not None}
        while queue:
            if self.stopping.is_set():
                break
            cell, option = queue.popleft()
            meta = metas[cell.save_row][cell.scenario]
            fmeta = meta["formats"][cell.fmt]
            art = self.artifacts.dir(savers[cell.save_row], cell.scenario)  # type: ignore[arg-type]
            dedupe = (fmeta.get("sha256"), meta.get("ref_sha256"), cell.scenario, cell.fmt, option)
            answer = answered.get(dedupe) if fmeta.get("sha256") and meta.get("ref_sha256") else None
            if answer is not None:
                with self._lock:
                    result.deduped += 1
            else:
                request = {
                    "id": next(self._ids),
                    "kind": "load",
                    "scenario": cell.scenario,
                    "format": cell.fmt,
                    "option": option,
                    "artifact_dir": str(art),
                    "written": fmeta.get("written"),
                    "timeout": self.load_timeout,
                    "scenario_file": str(self.scenarios[cell.scenario].path),
                }
                with self._lock:
                    result.loads += 1
                answer = session.ask(request, self.load_timeout)
                answered[dedupe] = answer
            durations = dict(answer.get("durations") or {})
            durations["save_s"] = fmeta.get("save_s")
            cell.records[option] = new_record(
                cell.scenario,
                cell.fmt,
                cell.save_row,
                cell.load_row,
                option,
                outcome=answer["outcome"],
                stage=answer["stage"],
                error=answer.get("error"),
                max_abs_diff=answer.get("max_abs_diff"),
                written=fmeta.get("written"),
                durations=durations,
                mode=answer.get("mode"),
                tolerance=answer.get("tolerance") or {"rtol": RTOL, "atol": ATOL},
                **({"code_ran": answer["code_ran"]} if answer.get("code_ran") else {}),
                **({"call": answer["call"]} if answer.get("call") else {}),
            )
            if (following := cell.next_option()) is not None:
                cell.queued.add(following)
                queue.append((cell, following))
            if cell.done():
                self._finish(cell, result)

    def _finish(self, cell: PendingCell, result: RunResult) -> None:
        recs = [cell.records[o] for o in OPTIONS if o in cell.records]
        defect = next((r for r in recs if (r.get("error") or {}).get("origin") == "harness"), None)
        if defect is not None:  # keras-compat's own code failed: not a finding, never stored or published
            log.error(
                "harness defect in %s %s saved in %s, loaded in %s (%s): %s: %s",
                cell.scenario,
                cell.fmt,
                cell.save_row,
                cell.load_row,
                defect["option"],
                defect["error"]["type"],
                defect["error"]["message"],
            )
            with self._lock:
                result.defects.append(defect)
            self.progress.advance(cell.load_row, 1, 1)
            return
        with self._lock:
            result.records.extend(recs)
            result.ran += 1
            result.measured[self.run_id] += 1
        self.store.put((cell.scenario, cell.fmt, cell.save_row, cell.load_row), cell.key, recs, run=self.run_id)
        self.progress.advance(cell.load_row, 1, failing(recs))
