"""Pair planning (same / targets / all), sharding and merging: pure, no TensorFlow."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from runner.core.errors import ResultsError, SelectionError
from runner.core.results import read_json
from runner.report.upgrade_md import upgrade_changes, upgrade_markdown
from runner.run.grid import load_grid, parse_grid
from runner.run.merge import merge_results
from runner.run.pairs import plan_pairs, shard, targets

GRID = """
schema = 1
[[row]]
flavour = "keras2"
tf = "2.14.1"
keras = "2.14.0"
python = "3.11.7"
packages = ["tensorflow-cpu==2.14.1"]
tags = ["main"]
[[row]]
flavour = "keras2"
tf = "2.15.1"
keras = "2.15.0"
python = "3.11.7"
packages = ["tensorflow-cpu==2.15.1"]
tags = ["main"]
[[row]]
flavour = "keras2"
tf = "2.15.1"
keras = "2.15.0"
python = "3.9.18"
packages = ["tensorflow-cpu==2.15.1"]
tags = ["python-axis"]
[[row]]
flavour = "keras3"
tf = "2.20.0"
keras = "3.11.3"
python = "3.11.7"
packages = ["tensorflow==2.20.0", "keras==3.11.3"]
tags = ["main"]
[[row]]
flavour = "keras3"
tf = "2.21.0"
keras = "3.13.2"
python = "3.11.7"
packages = ["tensorflow==2.21.0", "keras==3.13.2"]
tags = ["main"]
[[row]]
id = "jax-k3.13-py3.11"
flavour = "keras3"
tf = "2.21.0"
keras = "3.13.2"
python = "3.11.7"
load_only = true
env = { KERAS_BACKEND = "jax" }
packages = ["tensorflow==2.21.0", "keras==3.13.2", "jax"]
"""


def rows():
    return list(parse_grid(GRID).rows)


def test_same_and_all() -> None:
    same = plan_pairs(rows(), "same")
    assert same == [
        (r, r)
        for r in [
            "tf2.14-k2-py3.11",
            "tf2.15-k2-py3.11",
            "tf2.15-k2-py3.9",
            "tf2.20-k3.11-py3.11",
            "tf2.21-k3.13-py3.11",
        ]
    ]
    assert len(plan_pairs(rows(), "all")) == 5 * 6  # load-only rows load, never save


def test_targets_are_newest_of_each_line_next_release_and_other_python() -> None:
    t = targets(rows())
    assert t["tf2.14-k2-py3.11"] == {"tf2.15-k2-py3.11", "tf2.21-k3.13-py3.11"}
    # ... and the next TF release in every flavour it ships (here only Keras 3, on TF 2.20)
    # ... the previous release of its line loads its files (the rollback) ...
    assert t["tf2.15-k2-py3.11"] == {
        "tf2.14-k2-py3.11",
        "tf2.15-k2-py3.9",
        "tf2.20-k3.11-py3.11",
        "tf2.21-k3.13-py3.11",
    }
    assert t["tf2.15-k2-py3.9"] == {"tf2.15-k2-py3.11", "tf2.20-k3.11-py3.11", "tf2.21-k3.13-py3.11"}
    assert t["tf2.20-k3.11-py3.11"] == {"tf2.15-k2-py3.11", "tf2.21-k3.13-py3.11"}
    assert t["tf2.21-k3.13-py3.11"] == {"tf2.15-k2-py3.11", "tf2.20-k3.11-py3.11", "jax-k3.13-py3.11"}
    pairs = plan_pairs(rows(), "targets")
    assert len(pairs) == len(set(pairs))
    assert all((s, s) in pairs for s, _ in pairs)


@pytest.mark.parametrize("count", [1, 2, 3, 7, 20])
def test_shards_partition_the_pairs(count: int) -> None:
    pairs = plan_pairs(list(load_grid().rows), "all")
    parts = [shard(pairs, i, count) for i in range(1, count + 1)]
    assert sorted(p for part in parts for p in part) == sorted(pairs)
    for part in parts:  # a load row lives on exactly one shard
        loads = {p[1] for p in part}
        assert all(not loads & {q[1] for q in other} for other in parts if other is not part)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= len(load_grid().rows)


def test_bad_shard() -> None:
    with pytest.raises(ValueError):
        shard([("a", "a")], 3, 2)


FIXTURE = Path(__file__).with_name("fixtures") / "results_small.json"


def _split(results: dict, n: int) -> list[dict]:
    loads = sorted({r["load_row"] for r in results["records"]})
    parts = []
    for i in range(n):
        mine = set(loads[i::n])
        part = copy.deepcopy(results)
        part["records"] = [r for r in results["records"] if r["load_row"] in mine]
        part["cells"] = [c for c in results["cells"] if c["load_row"] in mine]
        parts.append(part)
    return parts


def test_merge_is_the_same_for_any_shard_count() -> None:
    results = read_json(FIXTURE)
    one = merge_results([results])
    for n in (2, 3):
        merged = merge_results(_split(results, n))
        assert merged["records"] == one["records"]
        assert merged["cells"] == one["cells"]
        assert merged["rows"] == one["rows"]
    assert len(one["records"]) == len(results["records"])


def test_merge_takes_the_row_order_from_the_shards_not_todays_grid() -> None:
    results = read_json(FIXTURE)
    ids = [r["id"] for r in results["rows"]]
    recorded = copy.deepcopy(results)
    recorded["run"]["row_order"] = ["tf9.9-k9-py3.99", *reversed(ids)]  # a grid that is not today's
    merged = merge_results(_split(recorded, 2))
    assert [r["id"] for r in merged["rows"]] == list(reversed(ids))
    assert merged["run"]["row_order"][0] == "tf9.9-k9-py3.99"
    save_rows = list(
        dict.fromkeys(r["save_row"] for r in merged["records"] if r["scenario"] == merged["scenarios"][0]["id"])
    )
    assert save_rows == [i for i in reversed(ids) if i in save_rows]
    # files from before run.row_order: the order each shard lists its rows in
    old = copy.deepcopy(results)
    old["rows"] = list(reversed(old["rows"]))
    assert [r["id"] for r in merge_results(_split(old, 3))["rows"]] == list(reversed(ids))


def test_merge_refuses_disagreeing_shards() -> None:
    results = read_json(FIXTURE)
    other = copy.deepcopy(results)
    flipped = next(r for r in other["records"] if r["outcome"] == "ok")
    flipped["outcome"], flipped["stage"] = "load_error", "load"
    with pytest.raises(ResultsError, match="disagree"):
        merge_results([results, other])


def test_upgrade_lists_changed_cells_only() -> None:
    results = read_json(FIXTURE)
    ok_rows = [r["id"] for r in results["rows"] if r["status"] == "ok"]
    src = ok_rows[0]
    # make a cross pair from the same-env cells of src: one changed cell
    extra = [dict(c, load_row=ok_rows[1]) for c in results["cells"] if c["save_row"] == src == c["load_row"]]
    changed = extra[0]
    changed["status"] = "load_error" if changed["status"] != "load_error" else "pass"
    results["cells"] += extra
    changes = upgrade_changes(results, src, ok_rows[1])
    assert [(c["scenario"], c["format"]) for c in changes] == [(changed["scenario"], changed["format"])]
    assert "1 of" in upgrade_markdown(results, src, ok_rows[1])
    with pytest.raises(SelectionError, match="python -m runner run --pairs all"):
        upgrade_changes(results, ok_rows[1], src)


def test_the_next_tf_release_is_measured_in_every_flavour_it_ships() -> None:
    from runner.run.grid import load_grid

    grid_rows = list(load_grid().rows)
    t = targets(grid_rows)
    by_id = {r.id: r for r in grid_rows}
    # the commonest upgrade: the last Keras 2 release to TF 2.16, with tf-keras and with Keras 3
    after = {by_id[x] for x in t["tf2.15-k2-py3.11"]}
    assert {(r.tf[:4], r.flavour) for r in after} >= {("2.16", "tf_keras"), ("2.16", "keras3")}
