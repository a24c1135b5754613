"""Container rows beside their uv twins in the reports (runner/report/containers.py) and on the lines."""

from __future__ import annotations

from typing import Any

from runner.core.lines import main_line, release_lines
from runner.report.containers import container_twins


def _row(rid: str, python: str, tags: list[str]) -> dict[str, Any]:
    return {"id": rid, "flavour": "keras3", "tf": "2.21.0", "keras": "3.15.1", "python": python, "tags": tags}


def _results() -> dict[str, Any]:
    jax = dict(_row("jax", "3.11.7", ["backend"]), env_vars={"KERAS_BACKEND": "jax"})
    rows = [_row("uv", "3.11.7", ["main"]), _row("box", "3.11.2", ["container"]), _row("py13", "3.13.0", []), jax]
    cells = []
    for scenario in ("a", "b"):
        for save, load in (("uv", "uv"), ("box", "box"), ("uv", "box"), ("box", "uv"), ("py13", "py13")):
            status = "load_error" if (scenario, save, load) == ("b", "uv", "box") else "pass"
            cells.append({"scenario": scenario, "format": "h5", "save_row": save, "load_row": load, "status": status})
    return {"rows": rows, "scenarios": [{"id": "a"}, {"id": "b"}], "formats": ["h5"], "cells": cells}


def test_a_container_row_is_compared_with_its_twin_only_and_a_difference_is_named() -> None:
    (pair,) = container_twins(_results())
    # not the 3.13 row (another Python minor), not Keras 3 on JAX
    assert (pair.box["id"], pair.twin["id"]) == ("box", "uv")
    same, box_loads, twin_loads = pair.comparisons
    assert [c.compared for c in pair.comparisons] == [2, 2, 2]
    assert same.differing == [] and twin_loads.differing == []
    assert box_loads.differing == [("b", "h5", "load_error", "pass")]
    assert pair.differ == 1


def test_a_release_line_leaves_container_twins_out() -> None:
    rows = _results()["rows"][:2]
    assert [r["id"] for r in main_line(rows)] == ["uv"]
    assert [r["id"] for r in release_lines(rows)["keras3"]] == ["uv"]
