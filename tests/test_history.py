"""runner/report/history.py: one summary line per run, read back for the page's trend."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from runner.core.errors import ResultsError
from runner.core.results import read_json
from runner.report.history import append_history, load_history, pass_rate, summarize

FIXTURE = Path(__file__).parent / "fixtures" / "results_real.json"


@pytest.fixture
def results() -> dict[str, Any]:
    data: dict[str, Any] = read_json(FIXTURE)
    return data


def test_summary_counts_by_status_overall_and_per_load_row(results: dict[str, Any]) -> None:
    s = summarize(results)
    assert s["finished"] == results["run"]["finished"] and s["pairs"] == results["run"]["pairs"]
    assert sum(s["counts"].values()) == s["cells"] == len(results["cells"])
    assert set(s["per_load_row"]) == {r["id"] for r in results["rows"]}
    for row, counts in s["per_load_row"].items():
        assert sum(counts.values()) == sum(1 for c in results["cells"] if c["load_row"] == row)
    assert sum(s["same_env"].values()) == sum(1 for c in results["cells"] if c["save_row"] == c["load_row"])


def test_append_then_load(results: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "reports" / "history.jsonl"
    assert load_history(path) == []
    older = copy.deepcopy(results)
    older["run"]["finished"] = "2026-11-19T05:00:00Z"
    append_history(results, path)
    append_history(older, path)
    append_history(results, path)  # the same run again: not duplicated
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)
    entries = load_history(path)
    assert [e["finished"] for e in entries] == ["2026-11-19T05:00:00Z", results["run"]["finished"]]  # oldest first


def test_a_broken_history_line_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"finished": "x", "counts": {}}\nnot json\n', encoding="utf-8")
    with pytest.raises(ResultsError, match=r"history.jsonl:2: not JSON"):
        load_history(path)
    path.write_text('{"finished": "x"}\n', encoding="utf-8")
    with pytest.raises(ResultsError, match="not a history entry"):
        load_history(path)


def test_pass_rate() -> None:
    assert pass_rate({}) is None
    assert pass_rate({"pass": 3, "load_error": 1}) == 0.75
