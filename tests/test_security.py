"""The stored-code table: what each canary record says happened, per vector, env and call, as version ranges."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from runner.core.results import read_json
from runner.report.security import ACTS, OBSERVED, changes, code_runs, describe, observe, probes, ranges, table

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
OS_SYSTEM = {"phase": "load", "event": "os.system", "detail": "echo load >> canary.txt"}
UNPICKLE = {"phase": "load", "event": "pickle.find_class", "detail": "posix.system"}
BYTECODE = {"phase": "load", "event": "marshal.loads", "detail": "650 bytes"}
BAIT = {"phase": "load", "event": "read", "detail": "kc-bait.txt beside the model file"}


def _record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "scenario": "canary_zip_duplicate_pickle",
        "format": "keras",
        "save_row": "r",
        "load_row": "r",
        "option": "default",
        "outcome": "ok",
        "stage": "compare",
        "error": None,
        "code_ran": {"load": False, "call": False},
        "events": [],
    }
    return {**base, **fields}


def _error(message: str) -> dict[str, Any]:
    return {"type": "ValueError", "message": message, "traceback": "", "origin": "library"}


def test_each_record_says_what_happened() -> None:
    ran = observe(
        _record(
            outcome="load_error",
            code_ran={"load": True, "call": False},
            events=[UNPICKLE, OS_SYSTEM],
            error=_error("A total of 5 objects could not be loaded"),
        )
    )
    assert ran is not None and ran.value == "runs_load" and ran.error and "ValueError" in ran.error
    at_call = observe(_record(code_ran={"load": False, "call": True}))
    assert at_call is not None and at_call.value == "runs_call"
    read = observe(_record(code_ran={"load": True, "call": False}, events=[BAIT]))
    assert read is not None and read.value == "reads_load"
    loaded = observe(_record(events=[BYTECODE]))
    assert loaded is not None and loaded.value == "loads_code"  # deserialized, runs only when trained
    refused = observe(_record(outcome="load_error", error=_error("Cannot load file containing pickled data")))
    assert refused is not None and refused.value == "refused"
    failed = observe(_record(outcome="load_error", error=_error("string indices must be integers")))
    assert failed is not None and failed.value == "fails"
    nothing = observe(_record())
    assert nothing is not None and nothing.value == "nothing"
    # an event that acts counts even without the marker (a payload whose shell is missing)
    assert observe(_record(events=[OS_SYSTEM])).value == "runs_load"  # type: ignore[union-attr]
    assert observe(_record(outcome="unsupported", stage="save")) is None  # the vector cannot exist there
    assert {"runs_load", "reads_load", "loads_code"} <= ACTS and "refused" not in ACTS
    assert set(OBSERVED) >= {"refused", "fails", "nothing"}


def test_python37_records_say_the_events_cannot_be_observed() -> None:
    seen = observe(_record(code_ran={"load": True, "call": False}, events=None))
    assert seen is not None and seen.value == "runs_load" and seen.events is None
    assert "Python 3.7" in seen.summary


def _with_canaries() -> dict[str, Any]:
    """The small fixture's rows with canary records: a pickle that runs in the old env and is refused in the new,
    and a SavedModel vector read by load_model and TFSMLayer."""
    results = read_json(FIXTURE)
    old, new = results["rows"][0]["id"], results["rows"][1]["id"]
    template = next(r for r in results["records"] if r["save_row"] == r["load_row"] == old)

    def add(row: str, **fields: Any) -> None:
        results["records"].append(
            dict(copy.deepcopy(template), save_row=row, load_row=row, **{"error": None, "events": [], **fields})
        )

    pickled = {"scenario": "canary_zip_duplicate_pickle", "format": "keras"}
    add(
        old,
        **pickled,
        option="default",
        outcome="load_error",
        code_ran={"load": True, "call": False},
        events=[UNPICKLE, OS_SYSTEM],
        error=_error("A total of 5 objects could not be loaded"),
    )
    add(
        old,
        **pickled,
        option="safe_mode_off",
        outcome="load_error",
        code_ran={"load": True, "call": False},
        events=[OS_SYSTEM],
        error=_error("A total of 5 objects could not be loaded"),
    )
    add(
        new,
        **pickled,
        option="default",
        outcome="load_error",
        code_ran={"load": False, "call": False},
        error=_error("Cannot load file containing pickled data when allow_pickle=False"),
    )
    add(
        new,
        **pickled,
        option="safe_mode_off",
        outcome="load_error",
        code_ran={"load": False, "call": False},
        error=_error("Cannot load file containing pickled data when allow_pickle=False"),
    )
    graph = {"scenario": "canary_savedmodel_write_file", "format": "savedmodel"}
    for row in (old, new):
        add(row, **graph, option="default", outcome="ok", code_ran={"load": False, "call": True})
        add(row, **graph, option="tfsm_layer", outcome="ok", code_ran={"load": False, "call": True})
    about = {"source": "https://example.org/advisory", "claim": "runs on load", "fix": "do not", "hash": "0" * 64}
    results["scenarios"] += [
        {"id": "canary_zip_duplicate_pickle", "title": "A pickle posing as the weights: a zip", **about},
        {"id": "canary_savedmodel_write_file", "title": "A SavedModel whose graph writes a file", **about},
    ]
    return results


def test_the_table_has_one_probe_per_vector_format_and_call() -> None:
    results = _with_canaries()
    runs = code_runs(results, results["rows"])
    found = [(p.scenario, p.where) for p in probes(runs)]
    assert found == [
        ("canary_zip_duplicate_pickle", "keras"),
        ("canary_savedmodel_write_file", "savedmodel"),
        ("canary_savedmodel_write_file", "savedmodel, TFSMLayer"),
    ]
    assert probes(runs)[0].name == "A pickle posing as the weights"
    by = {(r.row["id"], r.probe.key): r for r in runs}
    old, new = results["rows"][0]["id"], results["rows"][1]["id"]
    pickle_old = by[(old, "canary_zip_duplicate_pickle:keras:load_model")]
    assert describe(pickle_old.plain) == "runs: load" and describe(pickle_old.unsafe) == "runs: load"
    assert "os.system" in pickle_old.plain.summary  # type: ignore[union-attr]
    pickle_new = by[(new, "canary_zip_duplicate_pickle:keras:load_model")]
    assert describe(pickle_new.plain) == "refused" and pickle_new.on_plain_load is False
    tfsm = by[(old, "canary_savedmodel_write_file:savedmodel:tfsm_layer")]
    assert describe(tfsm.plain) == "runs: call" and tfsm.unsafe is None  # TFSMLayer has no safe_mode
    assert [row["id"] for row, _ in table(runs)] == [old, new]


def test_ranges_are_mdn_style_per_line() -> None:
    results = _with_canaries()
    (pickled, *_) = ranges(code_runs(results, results["rows"]))
    values = [rg.value for line in pickled.plain for rg in line.ranges]
    assert values == ["runs during the load", "refused with an error that names it"]
    assert "runs during the load in" in pickled.plain_text and "os.system" in pickled.seen


def test_an_upgrade_closes_and_opens_vectors() -> None:
    results = _with_canaries()
    runs = code_runs(results, results["rows"])
    old, new = results["rows"][0]["id"], results["rows"][1]["id"]
    closed, opened = changes(runs, old, new)
    assert [c.probe.scenario for c in closed] == ["canary_zip_duplicate_pickle"] and opened == []
    closed_back, opened_back = changes(runs, new, old)
    assert closed_back == [] and [c.probe.scenario for c in opened_back] == ["canary_zip_duplicate_pickle"]


def test_no_canary_no_view() -> None:
    results = read_json(FIXTURE)
    assert code_runs(results, results["rows"]) == []
    assert describe(None) == "–"


def test_a_load_only_env_reads_the_records_of_files_another_env_saved() -> None:
    results = _with_canaries()
    saver, loader = results["rows"][0]["id"], results["rows"][1]["id"]
    results["records"] = [r for r in results["records"] if not (r["load_row"] == loader and "code_ran" in r)]
    results["records"].append(
        _record(save_row=saver, load_row=loader, code_ran={"load": False, "call": True}, tolerance={}, written="zip")
    )
    runs = {(r.row["id"], r.probe.key): r for r in code_runs(results, results["rows"])}
    moved = runs[(loader, "canary_zip_duplicate_pickle:keras:load_model")]
    assert moved.saved_in == saver and describe(moved.plain) == "runs: call"


def test_canary_records_are_in_the_results_contract() -> None:
    from runner.core.schema import validate

    results = _with_canaries()
    results["records"] = [r for r in results["records"] if r["option"] in results["options"]]  # an old fixture
    results["records"][-1]["events"] = None  # Python 3.7: cannot be observed
    results["records"][-2]["events"] = [dict(OS_SYSTEM, via="keras/src/saving/saving_lib.py:get")]
    validate(results)


def test_the_upgrade_says_what_it_closes() -> None:
    from runner.report.upgrade_md import upgrade_markdown

    results = _with_canaries()
    old, new = results["rows"][0]["id"], results["rows"][1]["id"]
    results["cells"] += [
        dict(c, save_row=old, load_row=new) for c in results["cells"] if c["save_row"] == c["load_row"] == old
    ]
    text = upgrade_markdown(results, old, new)
    assert "#### The files you have" in text and "#### Rolling back" in text  # the three sections stay
    closes = text.split("#### Code that a plain load runs", 1)[1]
    assert f"Upgrading to `{new}` closes:" in closes and "A pickle posing as the weights (`keras`)" in closes
    assert "runs during the load in" in closes and "refused with an error that names it in" in closes
