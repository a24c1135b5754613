"""Running a plan: envs, then every save and every load in a process of its own.

1. Envs: ``backend.prepare(row)`` for every row the pairs touch, in parallel; a row
   that cannot be built makes each of its cells an ``env_error`` record carrying the
   one-line reason.
2. Artifacts and cache: artifacts of earlier runs are verified against their manifests
   (runner/run/artifacts.py); a cell whose key (save lock, load lock, scenario source,
   harness source) is unchanged and whose records name the artifact that is there now
   comes from the store and is not run again. Anything else is pending.
3. Saves and loads (runner/run/schedule.py): one budget of CPU slots across every row;
   each request is a child forked from its row's warmed-up harness, several at once.
   Rows with the most load work start first; a load waits for the save it reads.
4. Each cell's records go to the store the moment its last call is done; at the end a
   self-check holds every cell of one save to one artifact.

``engine="fresh"`` is the reference: a fresh interpreter for every single request.
``shuffle=SEED`` runs saves and loads in another order: with isolated requests the
records do not change (``bench/orders.py`` checks it on the whole grid).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runner.core.errors import EnvError, HarnessDefect, SelectionError
from runner.core.results import utc_now
from runner.core.status import plain_call

from .artifacts import Artifacts
from .backends import Backend, Env
from .bundle import read_bundles
from .catalog import SCENARIO_DIR, Scenario, harness_hash, measured_in
from .grid import Row
from .pairs import Pair
from .schedule import Plan, Scheduler
from .state import PendingCell, Progress, RowRun, RunResult, failing, new_record
from .store import Store, WorkLock, cache_key
from .workers import HARNESS_ARGV
from .workers import Engine as EngineKind

log = logging.getLogger("keras_compat")

SAVE_TIMEOUT = 600.0  # one scenario: build, fit, predict, four saves
LOAD_TIMEOUT = 60.0  # one load + call: the slowest real one measured 13.7 s (full grid); a hang is cut at 60 s
STAGES = ("all", "save", "load")


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
        lazy: str = "always",
        engine: EngineKind = "fork",
        shuffle: int | None = None,
        use_cache: bool = True,
        harness: tuple[str, ...] = HARNESS_ARGV,
        run_id: str | None = None,
        max_live: int | None = None,
        stage: str = "all",
        bundles: list[Path] | None = None,
    ):
        self.backend = backend
        self.work = work
        self.scenarios = scenarios
        self.formats = formats
        self.jobs = max(1, jobs)  # CPU slots: requests in flight at once, over every row
        self.max_live = max_live or max(4, 2 * self.jobs + 2)  # warmed-up harnesses alive at once (memory)
        self.progress = progress or Progress()
        self.store = Store(work / "cells.jsonl")
        self.harness_hash = harness_hash()
        self.artifacts = Artifacts(work, scenarios, self.harness_hash)
        self.load_timeout = load_timeout
        self.save_timeout = save_timeout
        # "always": every cell stops at its first call that works (the calls after it cannot change its status,
        # call or fix), but a canary's, whose question is what each call runs | "cross": on cross-env pairs only |
        # "never"
        self.lazy = lazy
        self.engine = engine
        self.shuffle = shuffle
        self.use_cache = use_cache
        self.harness = harness
        self.run_id = run_id  # this run's start time: each cell it measures is cached under it
        # "all": saves and loads; "save": the saves only (the nightly's save jobs); "load": the loads only, of
        # artifacts saved by save jobs (``bundles``: save row -> its env as the save job recorded it, not built here)
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        self.stage = stage
        self.bundle_dirs = list(bundles or [])  # the save jobs' folders (runner/run/bundle.py), read under the lock
        self.bundles: dict[str, Env] = {}
        self.bundle_errors: dict[str, str] = {}  # save rows whose save job could not build them
        self.stopping = threading.Event()  # set on Ctrl-C / SIGTERM: in-flight work is dropped, not recorded
        dirs = {s.path.parent for s in scenarios.values()}
        if len(dirs) > 1:
            raise ValueError("all scenarios of a run live in one folder")
        self.scenario_dir = dirs.pop() if dirs else SCENARIO_DIR

    # -- public -----------------------------------------------------------
    def run(self, rows: list[Row], pairs: list[Pair] | None = None) -> RunResult:
        with WorkLock(self.work):
            started = time.monotonic()
            if self.run_id:
                self.store.record_run(self.run_id, None, None)
            if self.bundle_dirs:
                self.bundles, self.bundle_errors = read_bundles(
                    self.bundle_dirs, self.work, self.artifacts, self.scenarios
                )
            try:
                result = self._run(rows, pairs)
            except BaseException:
                self.stopping.set()  # workers see it within a second, kill their process and record nothing
                raise
            if self.run_id:
                self.store.record_run(self.run_id, utc_now(), round(time.monotonic() - started, 1))
            return result

    def _run(self, rows: list[Row], pairs: list[Pair] | None = None) -> RunResult:
        pairs = pairs if pairs is not None else [(r.id, r.id) for r in rows if not r.load_only]
        involved = [r for r in rows if any(r.id in p for p in pairs)]
        self._loads_here = {load for _, load in pairs}
        result = RunResult(rows=[], records=[])
        self.progress.start(sum(len(self._scenarios_of(p)) for p in pairs) * len(self.formats))
        t0 = time.monotonic()
        self.progress.envs(len(involved))
        with ThreadPoolExecutor(max_workers=max(self.jobs, 4)) as pool:
            runs = {run.row.id: run for run in pool.map(self._prepare, involved)}
        result.rows = [runs[r.id] for r in involved]
        result.timings["envs_s"] = round(time.monotonic() - t0, 1)

        plan = Plan(rows=[r.id for r in involved if runs[r.id].env is not None], order=[r.id for r in involved])
        # earlier runs' artifacts that are complete (their manifest verifies)
        savers = {pair[0] for pair in pairs}
        for sid in savers:
            env = runs[sid].env
            if env is None:
                continue
            for sc in self.scenarios:
                found = self.artifacts.complete(env, sc)
                if found is not None:
                    plan.metas[(sid, sc)], plan.digests[(sid, sc)] = found
        if self.stage == "save":
            plan.saves = [(sid, sc) for sid in sorted(savers) if runs[sid].env is not None for sc in self.scenarios]
            pairs = []
        missing = [k for k in {(p[0], sc) for p in pairs for sc in self.scenarios} if k[0] in self.bundles]
        missing = [k for k in missing if k not in plan.metas and runs[k[0]].env is self.bundles[k[0]]]
        if self.stage == "load" and missing:
            sid, sc = sorted(missing)[0]
            raise SelectionError(
                f"--stage load: no complete artifact of {sc} saved in {sid} in the artifacts given "
                f"({len(missing)} missing): pass the folder its save job wrote, or run that save job again"
            )
        for save_id, load_id in pairs:
            save_run, load_run = runs[save_id], runs[load_id]
            for sc in self._scenarios_of((save_id, load_id)):
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
                        self.progress.advance(load_id, 1, 1, cached=True)
                        continue
                    key = cache_key(
                        save_run.ready.lock_hash, load_run.ready.lock_hash, self.scenarios[sc].hash, self.harness_hash
                    )
                    cached = self.store.get((sc, fmt, save_id, load_id), key) if self.use_cache else None
                    digest = plan.digests.get((save_id, sc))
                    if cached is not None and digest is not None and all(r.get("artifact") == digest for r in cached):
                        result.records.extend(cached)
                        result.cached += 1
                        result.measured[self.store.measured_by((sc, fmt, save_id, load_id))] += 1
                        self.progress.advance(load_id, 1, failing(cached), cached=True)
                        continue
                    lazy = not self.scenarios[sc].canary and (
                        self.lazy == "always" or (self.lazy == "cross" and save_id != load_id)
                    )
                    plan.cells.append(PendingCell(sc, fmt, save_id, load_id, key, lazy))
        if plan.cells or plan.saves:
            rng = random.Random(self.shuffle) if self.shuffle is not None else None
            scheduler = Scheduler(self, runs, plan, result, rng)
            scheduler.run()
            result.timings.update(scheduler.timings)
            result.processes = scheduler.counts
            result.no_fork = dict(scheduler.no_fork)
            result.slots = scheduler.slots_summary()
        if not self.stopping.is_set():
            self.self_check(result.records)
        result.timings["total_s"] = round(time.monotonic() - t0, 1)
        return result

    def _scenarios_of(self, pair: Pair) -> list[str]:
        return measured_in(pair, self.scenarios)

    # -- envs -------------------------------------------------------------
    def _prepare(self, row: Row) -> RowRun:
        run = RowRun(row=row)
        if self.stage == "load" and row.id not in self._loads_here:
            if row.id in self.bundles:  # saved by a save job: its lock as that job recorded it; nothing built
                run.env = self.bundles[row.id]
            else:
                run.error = self.bundle_errors.get(row.id) or "no save job's artifacts name this row (--artifacts)"
            self.progress.env_done(row.id, "failed" if run.error else "from a save job")
            return run
        start = time.monotonic()
        try:
            run.env = self.backend.prepare(row)
        except EnvError as exc:
            run.error = str(exc)
        run.timings["env_s"] = round(time.monotonic() - start, 2)
        how = "failed" if run.error else "reused" if getattr(run.env, "reused", False) else "built"
        self.progress.env_done(row.id, how)
        return run

    # -- the end-of-run self-check ------------------------------------------
    @staticmethod
    def self_check(records: list[dict]) -> None:
        """Every cell of one save rests on one artifact, and none on a file missing from the artifacts folder.

        A violation means keras-compat measured something other than one save: the run fails with
        the cells named, and publishes nothing.
        """
        digests: dict[tuple[str, str], set] = {}
        missing = []
        for r in records:
            if r["outcome"] == "env_error":
                continue
            digests.setdefault((r["save_row"], r["scenario"]), set()).add(r.get("artifact"))
            if _missing_artifact_file(r.get("error")):
                missing.append(r)
        mixed = {k: v for k, v in digests.items() if len(v) > 1}
        if mixed:
            (row, sc), found = next(iter(sorted(mixed.items())))
            raise HarnessDefect(
                f"self-check: {len(mixed)} save(s) reached their cells as more than one artifact, first {sc} saved in "
                f"{row} ({len(found)} digests); nothing was published: delete {row}'s artifacts and run again"
            )
        if missing:
            r = missing[0]
            raise HarnessDefect(
                f"self-check: {len(missing)} record(s) rest on a file missing from the artifacts folder, first "
                f"{r['scenario']} {r['format']} saved in {r['save_row']}, loaded in {r['load_row']} ({r['option']}); "
                "nothing was published"
            )


def _missing_artifact_file(error: dict | None) -> bool:
    """An error that says a file in the artifacts folder is not there (not Keras 3's "File not found"
    for a file that is there but is not a zip: that one is a finding)."""
    message = (error or {}).get("message") or ""
    if "<artifacts>" not in message:
        return False
    return "SavedModel file does not exist" in message or (
        (error or {}).get("type") in ("FileNotFoundError", "NotFoundError", "OSError")
        and ("No such file or directory" in message or "errno = 2" in message)
    )
