"""The nightly's two stages over artifacts: save jobs, then load shards, merged: the same cells as one run.

Every job uses the same work folder, emptied before it (a fresh runner checks out to the same place).
The fake harness stands in for TensorFlow (plumbing only).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.core.errors import SelectionError
from runner.run.bundle import BundleError, write_bundle
from runner.run.catalog import load_catalog
from runner.run.collect import build_results
from runner.run.engine import Engine
from runner.run.grid import parse_grid
from runner.run.merge import merge_results
from runner.run.pairs import plan_pairs, save_groups, shard
from tests.test_sessions import FAKE, GRID3, SCENARIO, FakeBackend


def _engine(tmp_path: Path, work: Path, **kw) -> Engine:
    scenario_dir = tmp_path / "scenarios"
    scenario_dir.mkdir(parents=True, exist_ok=True)
    for sc in ("plain", "needs_custom"):
        (scenario_dir / f"{sc}.py").write_text(SCENARIO.format(name=sc))
    return Engine(
        backend=FakeBackend(),
        work=work,
        scenarios=load_catalog(scenario_dir),
        formats=["h5", "keras"],
        jobs=2,
        harness=FAKE,
        **kw,
    )


def _results(engine: Engine, run) -> dict:
    return build_results(
        run,
        engine.scenarios,
        engine.formats,
        started="2026-12-02T00:00:00Z",
        wall_s=1.0,
        pairs="all",
        selection={"rows": ["*"], "scenarios": ["*"], "formats": ["*"]},
        command="test",
    )


def _cells(results: dict) -> dict:
    return {
        (c["scenario"], c["format"], c["save_row"], c["load_row"]): (c["status"], c["option"]) for c in results["cells"]
    }


def _fresh(work: Path) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    return work


def test_save_jobs_then_load_shards_give_the_one_machine_cells(tmp_path: Path) -> None:
    rows = list(parse_grid(GRID3).rows)
    work = tmp_path / "work"
    bundles = []
    for i, group in enumerate(save_groups(rows, 2)):
        engine = _engine(tmp_path, _fresh(work), stage="save")
        mine = [r for r in rows if r.id in group]
        run = engine.run(mine, [(r.id, r.id) for r in mine])
        assert run.records == [] and run.loads == 0  # saves only
        bundles.append(tmp_path / f"save-{i}")
        write_bundle(bundles[-1], run, engine.artifacts, work)
    pairs = plan_pairs(rows, "all")
    parts = []
    for i in (1, 2):
        part = shard(pairs, i, 2)
        mine = [r for r in rows if any(r.id in p for p in part)]
        engine = _engine(tmp_path, _fresh(work), stage="load", bundles=bundles)
        run = engine.run(mine, part)
        assert run.records and all(r["load_row"] in {p[1] for p in part} for r in run.records)
        parts.append(_results(engine, run))
    merged = merge_results(parts)
    one = _engine(tmp_path, tmp_path / "one-machine")
    reference = _results(one, one.run(rows, pairs))
    assert _cells(merged) == _cells(reference) and len(_cells(merged)) == len(pairs) * 2 * 2


def test_a_load_job_refuses_other_folders_and_missing_saves(tmp_path: Path) -> None:
    rows = list(parse_grid(GRID3).rows)
    work = tmp_path / "work"
    engine = _engine(tmp_path, work, stage="save")
    run = engine.run(rows[:1], [(rows[0].id, rows[0].id)])
    write_bundle(tmp_path / "save", run, engine.artifacts, work)
    # another --work: saved models may hold absolute paths into the one they were saved in
    with pytest.raises(BundleError, match="same --work"):
        _engine(tmp_path, tmp_path / "elsewhere", stage="load", bundles=[tmp_path / "save"]).run(
            rows, plan_pairs(rows, "all")
        )
    # a save row whose save job's folder is not given: its cells are env_error, one line each, not a load
    load = _engine(tmp_path, _fresh(work), stage="load", bundles=[tmp_path / "save"])
    result = load.run(rows, [(rows[1].id, rows[0].id)])
    assert {r["outcome"] for r in result.records} == {"env_error"}
    assert "no save job's artifacts" in result.records[0]["error"]["message"]
    # a bundle whose artifact is gone: refused before anything runs
    shutil.rmtree(next((tmp_path / "save" / "artifacts").iterdir()))
    with pytest.raises(SelectionError, match="no complete artifact"):
        _engine(tmp_path, _fresh(work), stage="load", bundles=[tmp_path / "save"]).run(rows, [(rows[0].id, rows[1].id)])
