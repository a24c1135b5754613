"""results.json as a pandas DataFrame, for notebooks (runner.core.results.to_frame)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.core.results import read_json, to_frame

REAL = Path(__file__).parent / "fixtures" / "results_real.json"


def test_one_row_per_cell_with_both_envs_joined() -> None:
    results = read_json(REAL)
    cells = to_frame(results)
    assert len(cells) == len(results["cells"])
    first = results["cells"][0]
    row = cells.iloc[0]
    assert (row.scenario, row.format, row.save_row, row.status) == (
        first["scenario"],
        first["format"],
        first["save_row"],
        first["status"],
    )
    rows = {r["id"]: r for r in results["rows"]}
    for side in ("save", "load"):
        assert list(cells[f"{side}_tf"]) == [rows[c[f"{side}_row"]]["tf"] for c in results["cells"]]
    errors = [c["error"]["type"] if c["error"] else None for c in results["cells"]]
    assert [None if t != t else t for t in cells.error_type] == errors  # NaN where a cell has no error


def test_one_row_per_record_with_durations_and_tolerance() -> None:
    results = read_json(REAL)
    records = to_frame(results, "records")
    assert len(records) == len(results["records"])
    assert {"load_s", "rtol", "atol", "outcome", "option", "load_flavour"} <= set(records.columns)
    assert list(records.outcome) == [r["outcome"] for r in results["records"]]


def test_an_unknown_table_is_refused() -> None:
    with pytest.raises(ValueError, match="cells"):
        to_frame(read_json(REAL), "rows")  # type: ignore[arg-type]
