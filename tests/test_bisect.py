"""``keras-compat bisect``: the question, the releases (recorded index answer), the probe rows and grid
files, the search, and one probe through the command line with a stand-in runner. Nothing here
builds an env or claims anything about what TensorFlow or Keras do: statuses in the search tests are
labels of a made-up step function, and the stand-in runner writes the results.json it is told to.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from runner.cli import main
from runner.core.errors import SelectionError
from runner.core.results import SCHEMA_VERSION, write_json
from runner.run import bisect, cmd
from runner.run.grid import GRID_FILE, parse_grid
from runner.run.gridedit import pins
from runner.run.index import DEFAULT_INDEX, read_index
from runner.run.pairs import plan_pairs

FIXTURES = Path(__file__).parent / "fixtures" / "index"
GRID = GRID_FILE.read_text(encoding="utf-8")
ROWS = parse_grid(GRID)
SAVE, ROW1, ROW2 = "tf2.19-k3.10-py3.11", "tf2.19-k3.10-py3.11", "tf2.20-k3.11-py3.11"


def index(*packages: str):
    answers = {p: json.loads((FIXTURES / f"{p}.json").read_text()) for p in packages}
    return read_index(DEFAULT_INDEX, "2026-12-02T04:39:00Z", answers, [r.python for r in ROWS.rows])


def question(**kw):
    args = {"save_row": SAVE, "between": (ROW1, ROW2), "scenarios": ["lambda_simple"], **kw}
    return bisect.ask(GRID, "lambda_simple", "h5", **args)


def test_two_keras3_rows_walk_keras() -> None:
    q = question()
    assert (q.package, q.low, q.high, q.held.id) == ("keras", "3.10.0", "3.11.3", ROW1)


def test_the_releases_between_the_pins() -> None:
    releases, skipped = bisect.between(index("keras"), question())
    assert [r.version for r in releases] == ["3.10.0", "3.11.0", "3.11.1", "3.11.2", "3.11.3"]
    assert skipped == []
    q = question(between=("tf2.19-tfk2.19-py3.11", "tf2.21-tfk2.21-py3.11"), package="tf-keras")
    releases, skipped = bisect.between(index("tf-keras"), q)
    assert [r.version for r in releases] == ["2.19.0", "2.20.1", "2.21.0"]
    assert len(skipped) == 1 and "2.20.0" in skipped[0]  # yanked on the index


@pytest.mark.parametrize(
    "kw",
    [
        {"save_row": "jax-k3.15-py3.11"},  # load-only: it saves nothing
        {"between": (ROW1, "no-such-row")},
        {"between": ("tf2.19-tfk2.19-py3.11", ROW2)},  # differ in several packages, flavours differ
        {"between": ("tf2.21-k3.15-py3.11", "tf2.21-k3.15-py3.11-docker")},  # the same pins
        {"package": "tensorflow-hub"},  # pinned alike in both
    ],
)
def test_a_question_that_cannot_be_asked_is_a_keras_compat_error(kw: dict) -> None:
    with pytest.raises((SelectionError, bisect.BisectError)):
        question(**kw)


def test_probe_rows_hold_every_other_pin() -> None:
    q = question()
    releases, _ = bisect.between(index("keras"), q)
    cands = bisect.candidates(GRID, q, releases)
    assert cands[0].real and cands[0].id == ROW1  # the low end is the grid's own row, env and lock
    held = {k: v for k, v in pins(ROWS.row(ROW1).packages).items() if k != "keras"}
    save_table = bisect.grid_table(GRID, SAVE)
    for cand in cands[1:]:
        assert not cand.real and cand.id.startswith(bisect.PREFIX)
        grid = parse_grid(bisect.probe_grid(save_table, SAVE, cand))
        assert grid.row(SAVE) == ROWS.row(SAVE)  # the same id and spec: its env, lock and saves are reused
        row = grid.row(cand.id)
        assert row.load_only and (row.tf, row.keras, row.python) == ("2.19.1", cand.version, "3.11.7")
        assert pins(row.packages) == {**held, "keras": cand.version}
        assert row.spec_hash not in {r.spec_hash for r in ROWS.rows}
        # `--pairs all` on the probe's grid: A's own cell and A -> X, nothing else
        assert plan_pairs(list(grid.rows), "all") == [(SAVE, SAVE), (SAVE, cand.id)]


def cands(n: int) -> list[bisect.Candidate]:
    return [
        bisect.Candidate(version=f"1.{i}", uploaded="", id=f"{bisect.PREFIX}{i}", table={}, real=False)
        for i in range(n)
    ]


def step(change: int, unmeasurable: frozenset[int] = frozenset()) -> bisect.Measure:
    def measure(c: bisect.Candidate) -> bisect.Probe:
        i = int(c.version.split(".")[1])
        status = None if i in unmeasurable else ("b" if i >= change else "a")
        return bisect.Probe(version=c.version, row=c.id, status=status, error="no env" if status is None else "")

    return measure


@pytest.mark.parametrize("n", range(2, 10))
def test_search_finds_the_change_wherever_it_is(n: int) -> None:
    for change in range(1, n):
        found = bisect.search(cands(n), step(change))
        assert (found.first, found.last_before) == (f"1.{change}", f"1.{change - 1}")
        assert len(found.probes) <= 2 + math.ceil(math.log2(n))
        assert len({p.version for p in found.probes}) == len(found.probes)  # nothing measured twice


def test_search_steps_around_a_release_it_cannot_measure() -> None:
    found = bisect.search(cands(7), step(4, frozenset({3})))
    assert (found.first, found.last_before, found.untested) == ("1.4", "1.2", ("1.3",))
    found = bisect.search(cands(7), step(4, frozenset({1})))
    assert (found.first, found.last_before, found.untested) == ("1.4", "1.3", ())


def test_search_without_a_change_and_with_an_end_it_cannot_measure() -> None:
    assert bisect.search(cands(5), step(99)).first is None
    with pytest.raises(bisect.BisectError):
        bisect.search(cands(5), step(2, frozenset({4})))


def results(cells: list[dict], rows: list[dict] | None = None) -> dict:
    return {"schema_version": SCHEMA_VERSION, "rows": rows or [], "records": [], "cells": cells, "errors": []}


def test_one_probe_through_the_command_line(tmp_path: Path) -> None:
    q = question()
    releases, _ = bisect.between(index("keras"), q)
    probe_row = bisect.candidates(GRID, q, releases)[2]
    locks = tmp_path / "locks"
    locks.mkdir()
    seen: dict = {}

    def runner(argv: list[str], *, env: dict, timeout: float, cwd: str) -> cmd.Result:
        seen.update(argv=argv, env=env, cwd=cwd)
        (locks / f"{probe_row.id}.txt").write_text("# the lock `run` writes for a new row\n")
        out = Path(argv[argv.index("--out") + 1])
        cell = {"scenario": q.scenario, "format": q.format, "save_row": SAVE, "load_row": probe_row.id}
        write_json(
            results([{**cell, "status": "pass_unsafe", "option": "safe_mode_off", "error": None}]), out / "r.json"
        )
        (out / "r.json").rename(out / "results.json")
        return cmd.Result(tuple(argv), 0, "", "")

    measure = bisect.CliMeasure(
        q, bisect.grid_table(GRID, SAVE), tmp_path / "work", runner=runner, lock_dir=locks, environ={}
    )
    probe = measure(probe_row)
    assert (probe.status, probe.option, probe.row) == ("pass_unsafe", "safe_mode_off", probe_row.id)
    argv = seen["argv"]
    assert argv[argv.index("--pairs") + 1] == "all" and "--home" not in argv  # envs: the shared $KC_HOME
    assert Path(argv[argv.index("--work") + 1]).is_relative_to(tmp_path / "work")
    assert argv[argv.index("--rows") + 1].split(",") == [SAVE, probe_row.id]
    assert parse_grid(Path(argv[argv.index("--grid") + 1]).read_text()).row(probe_row.id).load_only
    assert seen["env"]["UV_PYTHON_DOWNLOADS"] == "never"
    assert not (locks / f"{probe_row.id}.txt").exists()  # a throwaway row leaves no lock behind


def test_a_row_that_could_not_be_built_is_not_measured() -> None:
    q = question()
    measure = bisect.CliMeasure(q, bisect.grid_table(GRID, SAVE), Path("/nonexistent"), environ={})
    cand = cands(1)[0]
    cell = {"scenario": q.scenario, "format": q.format, "save_row": SAVE, "load_row": cand.id}
    error = {"type": "EnvError", "message": "install failed", "traceback": None}
    got = measure.read(results([{**cell, "status": "env_error", "option": None, "error": error}]), cand)
    assert got.status is None and got.error
    got = measure.read(results([], [{"id": cand.id, "status": "env_error", "error": "no wheel"}]), cand)
    assert got.status is None and "no wheel" in got.error


def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bisect", "--scenario", "no_such_scenario", "--format", "h5", "--save-row", SAVE, "--between", ROW1, ROW2]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
