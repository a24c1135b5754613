"""Progress by phase, and a time-left figure from this run's own costs (runner/run/progress.py)."""

from __future__ import annotations

import io
import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from runner.run.catalog import load_catalog
from runner.run.engine import Engine
from runner.run.grid import parse_grid
from runner.run.progress import FORK_S, Estimate, PlainProgress, prior_costs
from runner.run.state import failing
from tests.test_sessions import FAKE, GRID, SCENARIO, FakeBackend


def _cells(text: str) -> list[tuple[int, int, int]]:
    return [tuple(map(int, m)) for m in re.findall(r"cells (\d+)/(\d+).*?(\d+) failing", text)]  # type: ignore[misc]


def test_lines_go_by_phase_and_the_last_cell_forces_one() -> None:
    log, tty = io.StringIO(), io.StringIO()
    progress = PlainProgress(every=3600, stream=log, terminal=tty)
    progress.start(3)
    progress.envs(2)
    progress.env_done("a", "built")
    progress.env_done("b", "reused")
    progress.plan(saves=1, cells=Counter({("a", True): 3}), slots=2)
    progress.advance("a", 1, 1, seconds=1.0, same=True)  # within `every`: no line
    progress.advance("a", 2, 0, seconds=2.0, same=True)  # the last cell: a line
    text = tty.getvalue()
    assert "starting" in text.split("\n")[0]
    assert _cells(text) == [(0, 3, 0), (3, 3, 1)] and log.getvalue() == ""
    assert text.count("\r\x1b[K") == 3  # each line first clears tox's spinner
    # without a terminal (CI, a pipe) the same lines go to the log
    plain = io.StringIO()
    progress = PlainProgress(every=0, stream=plain)
    progress.start(2)
    progress.envs(1)
    progress.env_done("a", "reused")
    assert "building envs: 1/1 (reused 1)" in plain.getvalue()


def test_no_cell_estimate_before_a_few_cells_and_cached_cells_are_not_speed() -> None:
    est = Estimate()
    est.envs(4)
    est.env_done("built")
    assert "building envs: 1/4" in est.line(10.0) and "cells" not in est.line(10.0)
    est.plan(saves=10, cells=Counter({("r", False): 100}), slots=2)
    est.advance("r", 50, 0, cached=True, same=False)  # answered by the cache: no speed
    assert est.left_s() is None and "left" not in est.line(60.0)
    est.advance("r", 1, 0, cached=False, same=False)
    assert est.left_s() is None  # one cell is noise: no estimate before a few
    est.saved()
    for _ in range(9):
        est.advance("r", 1, 0, cached=False, same=False)
    # with no last run to weigh cells by, this run's rate: 10 cells in 100 s, 90 left
    assert est.left_s(now=est.planned_at + 100.0) == pytest.approx(900.0)


def test_each_cell_weighs_what_its_kind_cost_in_the_last_run() -> None:
    """A run meets the cheap rows first: at a plain cell rate the dear rows would look as cheap
    (10 old cells in 10 s: 200 left, 200 s); weighed by the last run's costs, a new cell weighs
    ten old ones."""
    est = Estimate()
    est.priors = {("old", True): 0.05, ("new", False): 0.5, ("other", False): 0.2}
    est.plan(saves=0, cells=Counter({("old", True): 100, ("new", False): 100, ("unknown", False): 10}), slots=2)
    for _ in range(10):
        est.advance("old", 1, 0, cached=False, same=True)
    usual = (0.05 + 0.5 + 0.2) / 3  # a kind the last run did not have weighs the mean
    assert est.left_s(now=est.planned_at + 10.0) == pytest.approx(10.0 * (90 * 0.05 + 100 * 0.5 + 10 * usual) / 0.5)
    est.priors = {}
    assert est.left_s(now=est.planned_at + 10.0) == pytest.approx(10.0 * 200 / 10)


def test_prior_costs_are_a_cells_calls_plus_a_fork_per_call_made_in_a_child(tmp_path: Path) -> None:
    def rec(save: str, load: str, mode: str = "fork", **durations: float) -> dict:
        return {"save_row": save, "load_row": load, "mode": mode, "durations": durations}

    results = tmp_path / "results.json"
    results.write_text(
        json.dumps(
            {
                "records": [
                    rec("a", "a", load_s=0.2, call_s=0.1, save_s=9.0),
                    rec("a", "a", load_s=0.3),
                    rec("a", "b"),  # no call made (a cell with no artifact)
                    rec("a", "b", mode="parent", load_s=0.01),  # answered in the parent: no fork
                ],
                "cells": [{"save_row": "a", "load_row": "a"}, {"save_row": "a", "load_row": "b"}],
            }
        )
    )
    costs = prior_costs(results)
    assert costs[("a", True)] == pytest.approx(0.6 + 2 * FORK_S) and costs[("b", False)] == pytest.approx(0.01)
    assert prior_costs(tmp_path / "missing.json") == {}
    results.write_text("{not json")
    assert prior_costs(results) == {}


def _engine(tmp_path: Path, progress: PlainProgress | None, sleep: float) -> tuple[Engine, list]:
    scenario_dir = tmp_path / "scenarios"
    scenario_dir.mkdir(exist_ok=True)
    for sc in ("plain", "other", "third"):
        (scenario_dir / f"{sc}.py").write_text(SCENARIO.format(name=sc))
    rows = list(parse_grid(GRID).rows)
    engine = Engine(
        backend=FakeBackend(FAKE_SLEEP=str(sleep)),
        work=tmp_path / "work",
        scenarios=load_catalog(scenario_dir),
        formats=["h5", "keras", "savedmodel", "weights"],
        jobs=2,
        harness=FAKE,
        progress=progress,
    )
    return engine, rows


class _Stop(PlainProgress):
    def __init__(self, n: int, stream: io.StringIO) -> None:
        super().__init__(every=0.2, stream=stream)
        self.n, self.engine = n, None

    def advance(self, row: str, n: int, failures: int, **kw: object) -> None:
        super().advance(row, n, failures, **kw)  # type: ignore[arg-type]
        if self.figures.cells_done >= self.n and self.engine is not None:
            self.engine.stopping.set()


def test_a_resumed_run_estimates_its_remaining_time_within_a_factor_of_two(tmp_path: Path) -> None:
    """Interrupt a run of the fake harness (each load 0.6 s), resume it: the resumed run's first
    estimate is within 2x of the time it then takes, though half of its cells come from the cache."""
    first_log = io.StringIO()
    stop = _Stop(12, first_log)
    engine, rows = _engine(tmp_path, stop, 0.6)
    stop.engine = engine
    first = engine.run(rows, [(r.id, r.id) for r in rows] + [(rows[0].id, rows[1].id)])
    assert 12 <= first.ran < 36
    log = io.StringIO()
    progress = PlainProgress(every=0.2, stream=log)
    again, _ = _engine(tmp_path, progress, 0.6)
    started = time.monotonic()
    second = again.run(rows, [(r.id, r.id) for r in rows] + [(rows[0].id, rows[1].id)])
    took = time.monotonic() - started
    assert second.cached == first.ran and second.ran + second.cached == 36
    lines = [line for line in log.getvalue().splitlines() if "left" in line and "cells" in line]
    assert lines, log.getvalue()
    m = re.search(r"(\d+)m(\d+)s elapsed, ~(\d+)m(\d+)s left", lines[0])
    assert m is not None
    at = int(m[1]) * 60 + int(m[2])
    left = int(m[3]) * 60 + int(m[4])
    real = took - at
    assert real / 2 <= max(left, 1) <= real * 2 + 1, (lines[0], took)
    assert "from the cache" in lines[0]


def test_failing_follows_the_status_rules() -> None:
    def rec(option: str, outcome: str) -> dict:
        return {"option": option, "outcome": outcome, "error": None, "written": "hdf5"}

    assert failing([rec("default", "load_error"), rec("custom_objects", "ok")]) == 0  # pass with custom_objects
    assert failing([rec("default", "wrong_output"), rec("custom_objects", "ok")]) == 1
    assert failing([rec("default", "load_error"), rec("compile_off", "load_error")]) == 1
