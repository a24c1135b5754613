"""Saves and loads over one budget of CPU slots, every row's harness forking children at once.

``jobs`` slot threads pull tasks: a save (one scenario in one row) or a load (one call on one
cell's artifact, in the cell's load row). A task holds one slot while its child runs, so the
machine is never asked for more than ``jobs`` requests at once, and a warmed-up harness may have
several children running (each still one request in a process of its own). A harness start
(TensorFlow's import, the warm-up, the fork check) holds a slot too.

Which task next: a ready task on a running harness, saves first (loads wait on them), then the
row with the most load work left (the newest rows are the targets of most pairs: they go first
and stay warm); else a harness is started for the row with the most work that has a ready task.
At most ``max_live`` harnesses run at once (memory): when one more is needed, an idle one with
little work left is closed (its later tasks start it again). A harness whose row has no work
left is closed at once.

Each slot's time goes to a timeline (busy, idle, waiting on saves), summarised at the end.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter, deque

from .execute import Executor
from .state import PendingCell, Plan, RowRun, Runner, RunResult, SaveKey, Task
from .timeline import Timeline
from .workers import Interrupted, RowSession

log = logging.getLogger("keras_compat")


class RowWork:
    """One row's queue of ready tasks, its harness session and how much load work it has left."""

    def __init__(self, row_id: str, session: RowSession, rank: int):
        self.id, self.session, self.rank = row_id, session, rank
        self.saves: deque[Task] = deque()
        self.loads: deque[Task] = deque()
        self.open_cells = 0  # unfinished cells loaded in this row (ready or waiting on a save)
        self.inflight = 0
        self.starting = False
        self.closing = False

    @property
    def ready(self) -> bool:
        return bool(self.saves or self.loads)


class Scheduler(Executor):
    def __init__(
        self, engine: Runner, runs: dict[str, RowRun], plan: Plan, result: RunResult, rng: random.Random | None
    ):
        self.e = engine
        self.runs = runs
        self.plan = plan
        self.result = result
        self.rng = rng
        self.cv = threading.Condition()
        self.counts: Counter = Counter()
        self._count_lock = threading.Lock()
        self.no_fork: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.timeline = Timeline(engine.jobs)
        self.ids = iter(range(1, 1 << 62))
        self.works: dict[str, RowWork] = {}
        for rank, rid in enumerate(plan.order):
            if rid in plan.rows:
                self.works[rid] = RowWork(rid, self._session(rid), rank)
        self.blocked: dict[SaveKey, list[PendingCell]] = {}
        self.cells_of_save: dict[SaveKey, list[PendingCell]] = {}
        self.manifests: dict[SaveKey, dict] = {}
        self.done: dict[tuple, list[dict]] = {}
        self.answered: dict[tuple, dict] = {}
        self.deferred: dict[tuple, list[Task]] = {}  # dedupe key in flight -> tasks waiting for its answer
        self.resaved: set[SaveKey] = set()
        self.fatal: BaseException | None = None
        self.t0 = time.monotonic()
        self.saves_left = 0

    def slots_summary(self) -> dict[str, float]:
        return self.timeline.summary(self.timings.get("schedule_s"))

    # -- setup --------------------------------------------------------------
    def _session(self, rid: str) -> RowSession:
        log_path = self.e.work / "logs" / f"row-{rid}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        return RowSession(
            self.runs[rid].ready,
            self.e.engine,
            scenario_dir=self.e.scenario_dir,
            log_path=log_path,
            harness=self.e.harness,
            stop=self.e.stopping,
            counts=self.counts,
            lock=self._count_lock,
        )

    def _queue_cells(self) -> None:
        cells = list(self.plan.cells)
        if self.rng is not None:
            self.rng.shuffle(cells)
        saves: list[SaveKey] = []
        for cell in cells:
            key = (cell.save_row, cell.scenario)
            self.cells_of_save.setdefault(key, []).append(cell)
            self.works[cell.load_row].open_cells += 1
            if key in self.plan.metas:
                self._release(cell)
            else:
                if key not in self.blocked:
                    saves.append(key)
                self.blocked.setdefault(key, []).append(cell)
        saves += [k for k in self.plan.saves if k not in self.plan.metas and k not in self.blocked and k not in saves]
        if self.rng is not None:
            self.rng.shuffle(saves)
        for sid, sc in saves:
            self.works[sid].saves.append(Task("save", sid, sc))
        self.saves_left = len(saves)
        self.e.progress.plan(
            saves=len(saves),
            cells=Counter((c.load_row, c.save_row == c.load_row) for c in cells),
            slots=self.e.jobs,
        )

    # -- running ------------------------------------------------------------
    def run(self) -> None:
        with self.cv:
            self._queue_cells()
        threads = [threading.Thread(target=self._slot, args=(i,), daemon=True) for i in range(self.e.jobs)]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.5)
        finally:
            for work in self.works.values():
                work.session.close()
                if work.session.fork_error:
                    self.no_fork[work.id] = work.session.fork_error
            self.timings["schedule_s"] = round(time.monotonic() - self.t0, 1)
            self.timeline.write(self.e.work / "logs" / "slots.jsonl")
        self.result.records.extend(r for recs in self.done.values() for r in recs)
        if self.fatal is not None:
            raise self.fatal

    def _slot(self, slot: int) -> None:
        while True:
            act = self._next(slot)
            if act is None:
                return
            kind, work, task = act
            started = time.monotonic()
            try:
                if kind == "start":
                    self._start(work)
                elif kind == "close":
                    work.session.close()
                elif task is not None and task.kind == "save":
                    self._save(work, task)
                elif task is not None:
                    self._load(work, task)
            except Interrupted:
                pass
            except BaseException as exc:  # noqa: BLE001 - keras-compat's own failure: stop and raise it after
                with self.cv:
                    self.fatal = self.fatal or exc
                self.e.stopping.set()
            finally:
                what = task.kind if task is not None else kind
                self.timeline.span(slot, "busy", started, f"{what} {work.id}" + (f" {task.scenario}" if task else ""))
                with self.cv:
                    work.inflight -= 1
                    if kind == "start":
                        work.starting = False
                    if kind == "close":
                        work.closing = False
                    self.cv.notify_all()
                self._close_if_finished(work)

    def _next(self, slot: int) -> tuple[str, RowWork, Task | None] | None:
        with self.cv:
            while True:
                if self.e.stopping.is_set():
                    return None
                act = self._pick()
                if act is not None:
                    act[1].inflight += 1
                    return act
                if self._finished():
                    return None
                state = "waiting_on_saves" if self.blocked else "idle"
                began = time.monotonic()
                self.cv.wait(0.5)
                self.timeline.span(slot, state, began, "")

    def _available(self, work: RowWork) -> bool:
        session = work.session
        return self.e.engine != "fork" or session.live or session.fork_error is not None

    def _pick(self) -> tuple[str, RowWork, Task | None] | None:
        works = list(self.works.values())
        ready = [w for w in works if w.ready and not w.closing and self._available(w)]
        for w in sorted(ready, key=lambda w: (not w.saves, -w.open_cells, w.rank)):
            task = self._take(w)
            if task is not None:
                return "task", w, task
        starters = [w for w in works if w.ready and not w.starting and not w.closing and not self._available(w)]
        if not starters:
            return None
        live = sum(1 for w in works if w.session.live or w.starting)
        if live >= self.e.max_live:
            victim = self._victim()
            if victim is None:
                return None
            victim.closing = True
            return "close", victim, None
        w = max(starters, key=lambda w: (w.open_cells + len(w.saves), -w.rank))
        w.starting = True
        return "start", w, None

    def _victim(self) -> RowWork | None:
        """An idle harness to close for room: not among the rows with the most load work left, and with
        the least work left of the others."""
        live = [w for w in self.works.values() if w.session.live and not w.starting and not w.closing]
        keep = {w.id for w in sorted(live, key=lambda w: -w.open_cells)[: max(1, self.e.max_live // 2)]}
        idle = [w for w in live if w.inflight == 0 and not w.ready and w.id not in keep]
        return min(idle, key=lambda w: (w.open_cells, -w.rank)) if idle else None

    def _take(self, w: RowWork) -> Task | None:
        if w.saves:
            return w.saves.popleft()
        for _ in range(len(w.loads)):
            task = w.loads.popleft()
            cell = task.cell
            assert cell is not None
            if cell.gen != task.gen:
                continue  # its artifact was saved again: the cell was queued anew
            key = self._dedupe_key(task)
            if key is not None and key in self.deferred:
                self.deferred[key].append(task)  # the same load is in flight: its answer serves this one
                continue
            if key is not None and key not in self.answered:
                self.deferred[key] = []
            return task
        return None

    def _finished(self) -> bool:
        busy = any(w.inflight or w.starting or w.ready for w in self.works.values())
        return not busy and not self.blocked

    def _close_if_finished(self, work: RowWork) -> None:
        with self.cv:
            finished = not work.open_cells and not work.ready and not work.inflight and work.session.live
            finished = finished and not any(key[0] == work.id for key in self.blocked)
        if finished:
            work.session.close()

    def _start(self, work: RowWork) -> None:
        started = time.monotonic()
        try:
            work.session.start()
        except Exception as exc:  # noqa: BLE001 - a harness that does not start: its requests say so, one by one
            log.warning("%s: the harness did not start: %s", work.id, exc)
        self.e.progress.started(work.id, time.monotonic() - started)
