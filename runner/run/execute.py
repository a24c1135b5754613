"""What a slot does with a task: a save, a load call, and a cell once its last call is made.

The methods of :class:`Executor` run in the scheduler's slot threads (runner/run/schedule.py)
and share its state under its condition lock: a save's artifact gets its manifest and frees the
loads that wait on it; a load verifies the files it reads, makes one call in a forked child and
queues the cell's next call (or finishes the cell); a damaged artifact is saved again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from typing import Any

from runner.core.errors import HarnessDefect
from runner.core.status import plain_call
from runner.core.vocab import OPTIONS
from runner.harness.protocol import ATOL, RTOL, calls_for

from .artifacts import no_artifact, read_manifest, reads_of
from .state import PendingCell, Plan, RowRun, Runner, RunResult, SaveKey, Task, failing, new_record

log = logging.getLogger("keras_compat")


class Executor:
    """The scheduler's state, and the work a slot thread does with it (under ``cv``)."""

    e: Runner
    runs: dict[str, RowRun]
    plan: Plan
    result: RunResult
    rng: random.Random | None
    cv: threading.Condition
    counts: Counter
    _count_lock: threading.Lock
    works: dict[str, Any]
    blocked: dict[SaveKey, list[PendingCell]]
    cells_of_save: dict[SaveKey, list[PendingCell]]
    manifests: dict[SaveKey, dict]
    done: dict[tuple, list[dict]]
    answered: dict[tuple, dict]
    deferred: dict[tuple, list[Task]]
    resaved: set[SaveKey]
    fatal: BaseException | None
    saves_left: int
    ids: Any  # request ids, shared by every slot

    def _release(self, cell: PendingCell) -> None:
        """A cell whose save is known: finished now if its artifact was never written, else its first calls queue."""
        meta = self.plan.metas[(cell.save_row, cell.scenario)]
        fields = no_artifact(meta, cell.fmt)
        if fields is not None:
            option: str = plain_call(cell.fmt)  # nothing could be called: one record says why
            cell.records[option] = self._record(cell, option, **fields)
            cell.queued.add(option)
            self._finish(cell)
            return
        cell.calls = calls_for(cell.fmt, meta["formats"][cell.fmt].get("written"))
        for option in cell.first():
            cell.queued.add(option)
            self.works[cell.load_row].loads.append(Task("load", cell.load_row, cell.scenario, cell, option, cell.gen))

    # -- saves ----------------------------------------------------------------
    def _save(self, work: Any, task: Task) -> None:
        env = self.runs[work.id].ready
        sc = task.scenario
        folder = self.e.artifacts.fresh_folder(env, sc)
        request = {
            "id": next(self.ids),
            "kind": "save",
            "scenario": sc,
            "scenario_file": str(self.e.scenarios[sc].path),
            "out": str(folder),
            "formats": list(self.e.formats),
            "timeout": self.e.save_timeout,
        }
        started = time.monotonic()
        answer = work.session.ask(request, self.e.save_timeout, stage="build")
        if answer["outcome"] in ("crash", "timeout"):
            log.warning("%s: save of %s: %s", work.id, sc, answer["error"]["message"])
            meta = {"outcome": answer["outcome"], "stage": "build", "formats": {}, "error": answer["error"]}
            meta["mode"], digest, manifest = answer.get("mode"), None, None
        else:
            meta, digest = self.e.artifacts.adopt(folder, mode=answer.get("mode"))
            manifest = read_manifest(folder)
        self.e.progress.saved(work.id, time.monotonic() - started)
        with self.cv:
            key = (work.id, sc)
            self.plan.metas[key], self.plan.digests[key] = meta, digest
            if manifest is not None:
                self.manifests[key] = manifest
            self.saves_left -= 1
            for cell in self.blocked.pop(key, []):
                self._release(cell)
            self.cv.notify_all()

    # -- loads ----------------------------------------------------------------
    def _dedupe_key(self, task: Task) -> tuple | None:
        cell = task.cell
        assert cell is not None
        meta = self.plan.metas[(cell.save_row, cell.scenario)]
        sha = meta["formats"][cell.fmt].get("sha256")
        if not sha or not meta.get("ref_sha256"):
            return None
        return (cell.load_row, sha, meta["ref_sha256"], cell.scenario, cell.fmt, task.option)

    def _load(self, work: Any, task: Task) -> None:
        cell, option = task.cell, task.option
        assert cell is not None and option is not None
        save_key = (cell.save_row, cell.scenario)
        with self.cv:
            meta = self.plan.metas[save_key]
            manifest = self.manifests.get(save_key) or read_manifest(
                self.e.artifacts.dir(self.runs[cell.save_row].ready, cell.scenario)
            )
            dedupe = self._dedupe_key(task)
            answer = self.answered.get(dedupe) if dedupe is not None else None
        fmeta = meta["formats"][cell.fmt]
        started = time.monotonic()
        if answer is not None:
            with self._count_lock:
                self.result.deduped += 1
        else:
            request = {
                "id": next(self.ids),
                "kind": "load",
                "scenario": cell.scenario,
                "format": cell.fmt,
                "option": option,
                "artifact_dir": str(self.e.artifacts.dir(self.runs[cell.save_row].ready, cell.scenario)),
                "written": fmeta.get("written"),
                "verify": reads_of(manifest, cell.fmt) if manifest else {},
                "timeout": self.e.load_timeout,
                "scenario_file": str(self.e.scenarios[cell.scenario].path),
            }
            with self._count_lock:
                self.result.loads += 1
            answer = work.session.ask(request, self.e.load_timeout)
            if answer.get("artifact_damaged"):
                self._damaged(save_key, answer["error"]["message"], dedupe)
                return
        seconds = time.monotonic() - started
        durations = dict(answer.get("durations") or {})
        durations["save_s"] = fmeta.get("save_s")
        record = self._record(
            cell,
            option,
            outcome=answer["outcome"],
            stage=answer["stage"],
            error=answer.get("error"),
            max_abs_diff=answer.get("max_abs_diff"),
            written=fmeta.get("written"),
            durations=durations,
            mode=answer.get("mode"),
            tolerance=answer.get("tolerance") or {"rtol": RTOL, "atol": ATOL},
            **({"code_ran": answer["code_ran"], "events": answer.get("events")} if answer.get("code_ran") else {}),
            **({"call": answer["call"]} if answer.get("call") else {}),
        )
        with self.cv:
            if dedupe is not None and dedupe not in self.answered:
                self.answered[dedupe] = answer
                for waiting in self.deferred.pop(dedupe, []):
                    self.works[waiting.row].loads.appendleft(waiting)
            if cell.gen != task.gen:
                return  # its artifact was saved again meanwhile: the cell runs anew
            cell.records[option] = record
            cell.seconds += seconds
            following = cell.next_option()
            if following is not None:
                cell.queued.add(following)
                work.loads.appendleft(Task("load", work.id, cell.scenario, cell, following, cell.gen))
            if cell.done():
                self._finish(cell)
            self.cv.notify_all()

    def _record(self, cell: PendingCell, option: str, **fields: Any) -> dict:
        digest = self.plan.digests.get((cell.save_row, cell.scenario))
        return new_record(cell.scenario, cell.fmt, cell.save_row, cell.load_row, option, artifact=digest, **fields)

    def _damaged(self, key: SaveKey, why: str, dedupe: tuple | None) -> None:
        """A load found its artifact changed or incomplete: not a finding. The scenario is saved again
        (once) and every cell of that save runs anew, so that all of them rest on one artifact."""
        sid, sc = key
        log.warning("%s: the artifact of %s is damaged (%s): saving it again", sid, sc, why)
        with self.cv:
            if dedupe is not None:
                for waiting in self.deferred.pop(dedupe, []):
                    self.works[waiting.row].loads.appendleft(waiting)
            if key in self.resaved:
                self.fatal = self.fatal or HarnessDefect(
                    f"the artifact of {sc} saved in {sid} was damaged again after it was saved anew ({why}): "
                    "is another process writing into the work folder?"
                )
                self.e.stopping.set()
                return
            if key in self.blocked:
                return  # another load saw it first: the save is queued
            self.resaved.add(key)
            self.e.artifacts.forget(self.runs[sid].ready, sc)
            self.plan.metas.pop(key, None)
            self.plan.digests.pop(key, None)
            self.manifests.pop(key, None)
            for cell in self.cells_of_save.get(key, []):
                cell_key = (cell.scenario, cell.fmt, cell.save_row, cell.load_row)
                if self.done.pop(cell_key, None) is not None:
                    self.result.ran -= 1
                    self.result.measured[self.e.run_id] -= 1
                    self.works[cell.load_row].open_cells += 1
                cell.gen += 1
                cell.records, cell.queued, cell.seconds = {}, set(), 0.0
                self.blocked.setdefault(key, []).append(cell)
            self.works[sid].saves.appendleft(Task("save", sid, sc))
            self.saves_left += 1
            self.cv.notify_all()

    def _finish(self, cell: PendingCell) -> None:
        """A cell with its last call made (called with the lock held)."""
        recs = [cell.records[o] for o in OPTIONS if o in cell.records]
        self.works[cell.load_row].open_cells -= 1
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
            self.result.defects.append(defect)
            self.e.progress.advance(cell.load_row, 1, 1)
            return
        self.done[(cell.scenario, cell.fmt, cell.save_row, cell.load_row)] = recs
        self.result.ran += 1
        self.result.measured[self.e.run_id] += 1
        self.e.store.put((cell.scenario, cell.fmt, cell.save_row, cell.load_row), cell.key, recs, run=self.e.run_id)
        self.e.progress.advance(
            cell.load_row, 1, failing(recs), seconds=cell.seconds, same=cell.save_row == cell.load_row
        )
