"""The engine's plumbing against a fake harness (tests/fake/harness.py): no TensorFlow.

What is tested here is the orchestrator's side only: a fork child's crash is confirmed
in a fresh interpreter, a row that cannot fork falls back to one, a dead parent is
restarted once, and the engine's lazy options, dedupe and shuffled order give the same
records. What breaks where is measured by the integration tests on real rows.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from pathlib import Path

import pytest

from runner.run.backends import Env
from runner.run.catalog import load_catalog
from runner.run.engine import Engine
from runner.run.grid import parse_grid
from runner.run.state import Progress
from runner.run.workers import RowSession

FAKE = (str(Path(__file__).parent / "fake" / "harness.py"),)
GRID = """
schema = 1
[[row]]
flavour = "keras2"
tf = "2.15.1"
keras = "2.15.0"
python = "3.11.7"
packages = ["tensorflow-cpu==2.15.1"]
[[row]]
flavour = "keras3"
tf = "2.21.0"
keras = "3.15.1"
python = "3.11.7"
packages = ["tensorflow==2.21.0"]
"""
SCENARIO = (
    '"""{name}: a fake scenario."""\nSOURCE = "000_x.txt"\nCLAIM = "-"\nFIX = "-"\n'
    "# %% train\n# %% serve\n# %% rebuild\n"
)


def _env(row_id: str = "fake-row", **env_vars: str) -> Env:
    lock = {"python": "3.11.7", "packages": {}}
    return Env(
        row_id=row_id,
        python=Path(sys.executable),
        env_vars=env_vars,
        lock=lock,
        lock_hash=hashlib.sha256(row_id.encode()).hexdigest(),
    )


class FakeBackend:
    name = "fake"

    def __init__(self, **env_vars: str) -> None:
        self.env_vars = env_vars

    def prepare(self, row) -> Env:
        return _env(row.id, **self.env_vars)


def _load(scenario: str, option: str = "default", i: int = 0) -> dict:
    return {
        "id": i,
        "kind": "load",
        "scenario": scenario,
        "format": "h5",
        "option": option,
        "artifact_dir": "/x",
        "scenario_file": f"/x/{scenario}.py",
        "timeout": 10,
    }


def _session(tmp_path: Path, **env_vars: str) -> RowSession:
    return RowSession(_env(**env_vars), "fork", scenario_dir=tmp_path, harness=FAKE, stop=threading.Event())


def test_a_fork_childs_crash_is_confirmed_in_a_fresh_interpreter(tmp_path: Path) -> None:
    session = _session(tmp_path)
    try:
        confirmed = session.ask(_load("crash_in_fork"), 10)
        plain = session.ask(_load("plain", i=1), 10)
    finally:
        session.close()
    assert (confirmed["outcome"], confirmed["mode"]) == ("ok", "fresh")
    assert (plain["outcome"], plain["mode"]) == ("ok", "fork")
    assert session.counts["confirmed_fresh"] == 1
    assert session.counts["processes"] == 2  # the forking parent lived on; one fresh process for the confirmation


def test_a_crash_that_comes_back_fresh_is_the_record(tmp_path: Path) -> None:
    session = _session(tmp_path)
    try:
        answer = session.ask(_load("crash_always"), 10)
    finally:
        session.close()
    assert (answer["outcome"], answer["mode"], answer["error"]["type"]) == ("crash", "fresh", "WorkerDied")
    assert "exited with code 3" in answer["error"]["message"]
    assert answer["call"] == 'keras.models.load_model("model.h5")'  # it died in that call: the record names it


def test_the_harness_tells_a_call_before_it_runs_and_only_while_a_hook_is_set() -> None:
    from runner.harness import common

    told: list[str] = []
    common.tell_calls(told.append)
    try:
        made = common.Made()
        made["call"] = 'keras.layers.TFSMLayer("model", call_endpoint="serve")'
        made["other"] = "x"
        made["call"] = 'keras.layers.TFSMLayer("model", call_endpoint="serving_default")'
    finally:
        common.tell_calls(None)
    made["call"] = "not told"
    assert told == [
        'keras.layers.TFSMLayer("model", call_endpoint="serve")',
        'keras.layers.TFSMLayer("model", call_endpoint="serving_default")',
    ]
    assert made["call"] == "not told"


def test_a_row_that_cannot_fork_gets_a_fresh_interpreter_per_request(tmp_path: Path) -> None:
    session = _session(tmp_path, FAKE_NO_FORK="1")
    try:
        answers = [session.ask(_load("plain", i=i), 10) for i in range(3)]
    finally:
        session.close()
    assert [a["mode"] for a in answers] == ["fresh"] * 3
    assert session.fork_error == "no fork here"
    assert session.counts["processes"] == 4  # the fork check, then one per request


def test_a_dead_parent_is_restarted_once(tmp_path: Path) -> None:
    session = _session(tmp_path)
    try:
        answer = session.ask(_load("parent_dies"), 10)
    finally:
        session.close()
    assert (answer["outcome"], answer["mode"]) == ("ok", "fork")
    assert session.counts["parent_restarts"] == 1


def _engine_run(tmp_path: Path, name: str, shuffle: int | None, log: Path) -> list[dict]:
    scenario_dir = tmp_path / "scenarios"
    scenario_dir.mkdir(exist_ok=True)
    for sc in ("plain", "needs_custom", "crash_in_fork"):
        (scenario_dir / f"{sc}.py").write_text(SCENARIO.format(name=sc))
    grid = parse_grid(GRID)
    rows = list(grid.rows)
    pairs = [(rows[0].id, rows[0].id), (rows[0].id, rows[1].id)]
    engine = Engine(
        backend=FakeBackend(FAKE_LOG=str(log)),
        work=tmp_path / name,
        scenarios=load_catalog(scenario_dir),
        formats=["h5", "keras"],
        jobs=2,
        harness=FAKE,
        shuffle=shuffle,
    )
    return engine.run(rows, pairs).records


def _strip(records: list[dict]) -> list[tuple]:
    return sorted(
        (r["scenario"], r["format"], r["save_row"], r["load_row"], r["option"], r["outcome"], r["mode"])
        for r in records
    )


@pytest.mark.parametrize("seed", [3, 11])
def test_the_engine_gives_the_same_records_in_any_order(tmp_path: Path, seed: int) -> None:
    plain_log, shuffled_log = tmp_path / "plain.log", tmp_path / "shuffled.log"
    plain = _engine_run(tmp_path, "plain", None, plain_log)
    shuffled = _engine_run(tmp_path, "shuffled", seed, shuffled_log)
    assert _strip(plain) == _strip(shuffled)
    requests = [json.loads(line) for line in plain_log.read_text().splitlines()]
    assert requests != [json.loads(line) for line in shuffled_log.read_text().splitlines()]  # another order
    by = {(r["scenario"], r["format"], r["load_row"], r["option"]): r for r in plain}
    cross = next(r["load_row"] for r in plain if r["save_row"] != r["load_row"])
    # lazy options on the cross-env pair: stop at the first option that works
    assert [o for (s, f, lr, o) in by if s == "needs_custom" and f == "h5" and lr == cross] == [
        "default",
        "custom_objects",
    ]
    assert [o for (s, f, lr, o) in by if s == "plain" and f == "h5" and lr == cross] == ["default"]
    # the fork child's crash was confirmed fresh, and that answer is the record
    assert by[("crash_in_fork", "h5", cross, "default")]["mode"] == "fresh"


GRID3 = (
    GRID
    + """
[[row]]
flavour = "keras3"
tf = "2.20.0"
keras = "3.12.0"
python = "3.11.7"
packages = ["tensorflow==2.20.0"]
"""
)


def _three_row_engine(tmp_path: Path, log: Path, progress=None) -> tuple[Engine, list]:
    scenario_dir = tmp_path / "scenarios"
    scenario_dir.mkdir(exist_ok=True)
    for sc in ("plain", "needs_custom"):
        (scenario_dir / f"{sc}.py").write_text(SCENARIO.format(name=sc))
    rows = list(parse_grid(GRID3).rows)
    engine = Engine(
        backend=FakeBackend(FAKE_LOG=str(log)),
        work=tmp_path / "work",
        scenarios=load_catalog(scenario_dir),
        formats=["h5", "keras"],
        jobs=1,
        harness=FAKE,
        progress=progress,
    )
    return engine, rows


def test_identical_artifacts_are_loaded_once_per_load_row(tmp_path: Path) -> None:
    """Two save rows whose artifacts have the same digests: the load row answers one request for both cells."""
    log = tmp_path / "requests.log"
    engine, rows = _three_row_engine(tmp_path, log)
    a, b, target = (r.id for r in rows)
    result = engine.run(rows, [(a, target), (b, target)])
    cells = {(r["scenario"], r["format"], r["save_row"]) for r in result.records}
    assert cells == {(s, f, row) for s in ("plain", "needs_custom") for f in ("h5", "keras") for row in (a, b)}
    loads = [json.loads(line) for line in log.read_text().splitlines() if json.loads(line)[2] is not None]
    # plain: default only (lazy, it works); needs_custom: default then custom_objects; per format, once
    assert len(loads) == 2 * (1 + 2)
    assert result.deduped == len(loads)
    by_row = {(r["scenario"], r["format"], r["option"], r["save_row"]): r["outcome"] for r in result.records}
    assert all(by_row[(s, f, o, a)] == by_row[(s, f, o, b)] for (s, f, o, _) in by_row)


class _StopAfter(Progress):
    """A progress that asks the engine to stop once ``n`` cells are done (what Ctrl-C does)."""

    def __init__(self, n: int) -> None:
        self.n, self.done, self.engine = n, 0, None

    def advance(self, row: str, n: int, failures: int, **_: object) -> None:
        self.done += n
        if self.done >= self.n and self.engine is not None:
            self.engine.stopping.set()


def test_an_interrupted_run_keeps_what_finished_and_resumes(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    stop = _StopAfter(2)
    engine, rows = _three_row_engine(tmp_path, log, progress=stop)
    stop.engine = engine
    first = engine.run(rows)  # the same-env matrix of three rows: 12 cells
    assert 2 <= first.ran < 12
    again, _ = _three_row_engine(tmp_path, log)
    second = again.run(rows)
    assert second.cached == first.ran  # what finished before the stop is not run again
    assert second.cached + second.ran == 12
    records = {(r["scenario"], r["format"], r["save_row"], r["option"]): r["outcome"] for r in second.records}
    assert records[("needs_custom", "h5", rows[0].id, "default")] == "load_error"
    assert records[("needs_custom", "h5", rows[0].id, "custom_objects")] == "ok"


def test_a_harness_killed_by_its_own_python_error_is_a_defect_not_a_crash() -> None:
    from runner.run.process import raised_in_harness

    ours = [
        "Traceback (most recent call last):",
        '  File "/x/runner/harness/server.py", line 206, in serve',
        "    gc.freeze()",
        "AttributeError: module 'gc' has no attribute 'freeze'",
    ]
    assert raised_in_harness(ours)
    user = ['  File "/x/runner/harness/calls.py", line 40, in predict', "AttributeError: '_UserObject' ..."]
    library = [
        '  File "/x/runner/harness/loading.py", line 9',
        '  File "/env/site-packages/keras/x.py", line 3',
        "ValueError: bad",
    ]
    assert not raised_in_harness(user) and not raised_in_harness(library)
    assert not raised_in_harness(["Segmentation fault"])
