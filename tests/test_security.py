"""The "runs stored code on load" view, from records that carry the canary's markers."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from runner.core.results import read_json
from runner.report.security import code_runs, describe, table

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"


def _with_canary() -> dict[str, Any]:
    results = read_json(FIXTURE)
    row = results["rows"][0]["id"]
    extra = []
    for fmt, option, ran in (
        ("h5", "default", (True, True)),
        ("keras", "default", (False, False)),
        ("keras", "safe_mode_off", (True, False)),
        ("weights", "default", (True, True)),
    ):
        template = next(r for r in results["records"] if r["save_row"] == r["load_row"] == row)
        extra.append(
            dict(
                copy.deepcopy(template),
                scenario="lambda_canary",
                format=fmt,
                option=option,
                code_ran={"load": ran[0], "call": ran[1]},
            )
        )
    results["records"] += extra
    return results


def test_the_table_reads_the_markers_per_env_and_format() -> None:
    results = _with_canary()
    runs = code_runs(results, results["rows"])
    by_format = {r.format: r for r in runs}
    assert set(by_format) == {"h5", "keras"}  # weights store no code: left out
    assert by_format["h5"].on_plain_load is True
    assert by_format["keras"].on_plain_load is False
    assert describe(by_format["keras"].unsafe) == "load" and describe(by_format["h5"].default) == "load + call"
    ((row, formats),) = table(runs)
    assert row["id"] == results["rows"][0]["id"] and set(formats) == {"h5", "keras"}


def test_no_canary_no_view() -> None:
    results = read_json(FIXTURE)
    assert code_runs(results, results["rows"]) == []
    assert describe(None) == "–"


def test_a_load_only_env_reads_the_markers_of_files_another_env_saved() -> None:
    results = _with_canary()
    saver, loader = results["rows"][0]["id"], results["rows"][1]["id"]
    template = next(r for r in results["records"] if r["scenario"] == "lambda_canary")
    results["records"].append(
        dict(
            copy.deepcopy(template),
            load_row=loader,
            format="h5",
            option="default",
            code_ran={"load": False, "call": True},
        )
    )
    runs = {(r.row["id"], r.format): r for r in code_runs(results, results["rows"])}
    assert runs[(loader, "h5")].saved_in == saver and describe(runs[(loader, "h5")].default) == "call"
    assert runs[(saver, "h5")].saved_in == saver


def test_ranges_say_where_a_plain_load_runs_stored_code() -> None:
    from runner.report.security import ranges

    results = _with_canary()
    by_format = dict(ranges(code_runs(results, results["rows"])))
    ((line,),) = [by_format["h5"]]
    assert [r.value for r in line.ranges] == ["runs stored code"]
    assert [r.value for r in by_format["keras"][0].ranges] == ["runs none"]
