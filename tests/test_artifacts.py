"""No cell measured on a damaged artifact (runner/run/artifacts.py, store.py WorkLock, engine self-check).

The fake harness stands in for TensorFlow: these tests are about the plumbing, not about what breaks where.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runner.core.errors import HarnessDefect, RunningError
from runner.run.artifacts import MANIFEST, verify
from runner.run.catalog import REPO, load_catalog
from runner.run.engine import Engine
from runner.run.grid import parse_grid
from runner.run.store import WorkLock
from tests.test_sessions import FAKE, GRID, SCENARIO, FakeBackend

PAIRS = None  # the same-env matrix of the two rows, plus the cross pair below


def _engine(tmp_path: Path, run_id: str | None = None, **env: str) -> tuple[Engine, list, list]:
    scenario_dir = tmp_path / "scenarios"
    scenario_dir.mkdir(parents=True, exist_ok=True)
    for sc in ("plain", "needs_custom"):
        (scenario_dir / f"{sc}.py").write_text(SCENARIO.format(name=sc))
    rows = list(parse_grid(GRID).rows)
    engine = Engine(
        backend=FakeBackend(**env),
        work=tmp_path / "work",
        scenarios=load_catalog(scenario_dir),
        formats=["h5", "keras"],
        jobs=2,
        harness=FAKE,
        run_id=run_id,
    )
    pairs = [(rows[0].id, rows[0].id), (rows[1].id, rows[1].id), (rows[0].id, rows[1].id)]
    return engine, rows, pairs


def _cells(records: list[dict]) -> dict[tuple, dict]:
    return {(r["scenario"], r["format"], r["save_row"], r["load_row"], r["option"]): r for r in records}


def test_every_record_names_its_artifact_and_a_warm_rerun_runs_nothing(tmp_path: Path) -> None:
    engine, rows, pairs = _engine(tmp_path)
    first = engine.run(rows, pairs)
    assert first.ran == 12 and first.cached == 0
    folder = engine.artifacts.dir(engine.backend.prepare(rows[0]), "plain")
    assert (folder / MANIFEST).exists()
    digest = verify(folder)
    assert digest and {
        r["artifact"] for r in first.records if (r["save_row"], r["scenario"]) == (rows[0].id, "plain")
    } == {digest}
    again, _, _ = _engine(tmp_path)
    second = again.run(rows, pairs)
    assert second.ran == 0 and second.cached == 12


def test_a_resume_after_an_artifact_changed_reruns_exactly_its_cells(tmp_path: Path) -> None:
    engine, rows, pairs = _engine(tmp_path, run_id="first")
    first = engine.run(rows, pairs)
    folder = engine.artifacts.dir(engine.backend.prepare(rows[0]), "plain")
    (folder / "model.h5").write_text("changed on disk")
    again, _, _ = _engine(tmp_path, run_id="second")
    second = again.run(rows, pairs)
    cells = {(r["scenario"], r["format"], r["save_row"], r["load_row"]) for r in first.records}
    rerun = {c for c in cells if again.store.measured_by(c) == "second"}
    assert rerun == {c for c in cells if (c[2], c[0]) == (rows[0].id, "plain")}  # that save's cells, all formats
    assert second.ran == len(rerun) == 4 and second.cached == 12 - 4
    assert verify(folder) is not None  # saved anew, complete


def test_a_save_stopped_halfway_leaves_nothing_a_later_run_uses(tmp_path: Path) -> None:
    hang = tmp_path / "hang"
    hang.touch()
    engine, rows, pairs = _engine(tmp_path, FAKE_SAVE_HANG=str(hang))
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("run", engine.run(rows, pairs)))
    thread.start()
    deadline = time.monotonic() + 30
    while not (halfway := list((tmp_path / "work" / "artifacts").glob("*/*/model.h5"))):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    engine.stopping.set()  # what Ctrl-C does
    thread.join(30)
    assert not thread.is_alive()
    folder = halfway[0].parent
    assert not (folder / MANIFEST).exists() and verify(folder) is None  # half a save is no artifact
    hang.unlink()
    again, _, _ = _engine(tmp_path)
    second = again.run(rows, pairs)
    digest = verify(folder)
    assert digest is not None and second.ran == 12
    row, sc = folder.parent.name.split("-k", 1)[0], folder.name.rsplit("-", 1)[0]
    assert {r["artifact"] for r in second.records if r["scenario"] == sc and r["save_row"].startswith(row)} == {digest}


def test_a_second_run_in_the_same_folder_stops_and_the_first_completes(tmp_path: Path) -> None:
    engine, rows, pairs = _engine(tmp_path, FAKE_SLEEP="0.1")
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("run", engine.run(rows, pairs)))
    thread.start()
    deadline = time.monotonic() + 30
    while not (tmp_path / "work" / "run.lock").exists() or not (tmp_path / "work" / "logs").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    other, _, _ = _engine(tmp_path)
    with pytest.raises(RunningError) as refused:
        other.run(rows, pairs)
    assert refused.value.exit_code == 2 and "PID" in str(refused.value)
    thread.join(60)
    first = box["run"]
    assert first.ran == 12 and not first.defects  # unchanged: every cell, from one artifact per save
    reference, _, _ = _engine(tmp_path / "ref")
    expected = reference.run(rows, pairs)

    def strip(recs):
        return sorted(
            (r["scenario"], r["format"], r["save_row"], r["load_row"], r["option"], r["outcome"]) for r in recs
        )  # noqa: E731

    assert strip(first.records) == strip(expected.records)


def test_the_cli_refuses_a_second_run_in_one_line(tmp_path: Path) -> None:
    with WorkLock(tmp_path / "work"):
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "runner",
                "run",
                "--rows",
                "tf2.15-k2-py3.11",
                "--work",
                str(tmp_path / "work"),
                "--out",
                str(tmp_path / "out"),
                "--quiet",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert res.returncode == 2
    lines = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "another keras-compat run" in lines[0] and "Traceback" not in res.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "runner", "run", "--jobs", "-1"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: --jobs -1")


def test_the_self_check_catches_a_save_measured_as_two_artifacts(tmp_path: Path) -> None:
    engine, rows, pairs = _engine(tmp_path)
    records = engine.run(rows, pairs).records
    Engine.self_check(records)  # a clean run passes
    bad = [dict(r) for r in records]
    bad[0]["artifact"] = "0" * 64  # one cell of a save loaded from another copy of it
    with pytest.raises(HarnessDefect, match="more than one artifact"):
        Engine.self_check(bad)
    missing = [dict(r) for r in records]
    missing[0]["error"] = {
        "type": "OSError",
        "traceback": "",
        "message": "SavedModel file does not exist at: <artifacts>/x",
    }
    with pytest.raises(HarnessDefect, match="missing from the artifacts folder"):
        Engine.self_check(missing)
