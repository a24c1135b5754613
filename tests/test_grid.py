"""Grid parsing, row ids and selection: pure, from inline TOML."""

from __future__ import annotations

import pytest

from runner.core.errors import GridError, SelectionError
from runner.run.grid import load_grid, parse_grid, row_id, select

GRID = """
schema = 1

[[row]]
flavour = "keras2"
tf = "2.3.4"
keras = "2.4.0"
python = "3.7.16"
packages = ["tensorflow-cpu==2.3.4", "protobuf<3.20"]
tags = ["main"]

[[row]]
flavour = "tf_keras"
tf = "2.21.0"
keras = "2.21.0"
python = "3.11.7"
packages = ["tensorflow-cpu==2.21.0", "tf-keras==2.21.0"]

[[row]]
flavour = "keras3"
tf = "2.21.0"
keras = "3.13.1"
python = "3.13.0"
packages = ["tensorflow-cpu==2.21.0", "keras==3.13.1"]
"""


def test_rows_get_ids_and_flavour_env() -> None:
    grid = parse_grid(GRID)
    assert [r.id for r in grid.rows] == ["tf2.3-k2-py3.7", "tf2.21-tfk2.21-py3.11", "tf2.21-k3.13-py3.13"]
    assert dict(grid.rows[1].env_vars) == {"TF_USE_LEGACY_KERAS": "1"}
    assert dict(grid.rows[2].env_vars) == {}
    assert grid.rows[0].packages == ("tensorflow-cpu==2.3.4", "protobuf<3.20")


def test_spec_hash_changes_with_packages_not_note() -> None:
    a = parse_grid(GRID).rows[0]
    b = parse_grid(GRID.replace('protobuf<3.20"]', 'protobuf<3.19"]')).rows[0]
    c = parse_grid(GRID.replace('tags = ["main"]', 'tags = ["main"]\nnote = "why"')).rows[0]
    assert a.spec_hash != b.spec_hash
    assert a.spec_hash == c.spec_hash


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (lambda g: g.replace("schema = 1", "schema = 2"), "schema = 1"),
        (lambda g: g.replace('flavour = "keras2"', 'flavour = "keras4"'), "flavour 'keras4'"),
        (lambda g: g.replace('tf = "2.3.4"', 'tf = "two"'), "tf must be a version"),
        (lambda g: g.replace('tags = ["main"]', 'tagz = ["main"]'), "unknown key 'tagz'"),
        (
            lambda g: (
                g.replace('python = "3.13.0"', 'python = "3.11.7"')
                .replace('keras = "3.13.1"', 'keras = "2.21.0"')
                .replace('flavour = "keras3"', 'flavour = "tf_keras"')
            ),
            "duplicate row id",
        ),
        (lambda g: g + "\n[[row]\n", "not valid TOML"),
    ],
)
def test_bad_grid_is_one_clear_line(mutation, message) -> None:
    with pytest.raises(GridError) as err:
        parse_grid(mutation(GRID), "grid.toml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_row_id_shapes() -> None:
    assert row_id("keras2", "2.15.1", "2.15.0", "3.11.7") == "tf2.15-k2-py3.11"
    assert row_id("keras3", "2.16.2", "3.0.5", "3.11.7") == "tf2.16-k3.0-py3.11"


def test_select_globs_keep_order_and_reject_unknown() -> None:
    known = ["tf2.3-k2-py3.7", "tf2.15-k2-py3.11", "tf2.21-k3.13-py3.11"]
    assert select(["tf2.21*,tf2.3*"], known, "row") == ["tf2.3-k2-py3.7", "tf2.21-k3.13-py3.11"]
    assert select(None, known, "row") == known
    with pytest.raises(SelectionError, match="unknown scenario 'lambda_nope'"):
        select(["lambda_nope"], ["lambda_simple"], "scenario")


def test_the_shipped_grid_covers_the_issue() -> None:
    grid = load_grid()
    ids = [r.id for r in grid.rows]
    assert len(ids) == len(set(ids))
    bundled = {r.tf.rsplit(".", 1)[0] for r in grid.rows if r.flavour == "keras2"}
    assert {f"2.{m}" for m in range(0, 16)} <= bundled
    tfk = {r.tf.rsplit(".", 1)[0] for r in grid.rows if r.flavour == "tf_keras"}
    assert {f"2.{m}" for m in range(16, 22)} <= tfk
    k3_tf = {r.tf.rsplit(".", 1)[0] for r in grid.rows if r.flavour == "keras3"}
    assert {f"2.{m}" for m in range(16, 22)} <= k3_tf
    k3_minors = {r.keras.rsplit(".", 1)[0] for r in grid.rows if r.flavour == "keras3"}
    assert {f"3.{m}" for m in range(0, 16)} <= k3_minors
    # the Python axis: some TF appears on two Pythons
    by_tf: dict[tuple[str, str], set[str]] = {}
    for r in grid.rows:
        by_tf.setdefault((r.flavour, r.tf), set()).add(r.python.rsplit(".", 1)[0])
    assert sum(1 for pys in by_tf.values() if len(pys) > 1) >= 3
