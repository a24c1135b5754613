"""Status derivation from raw records (runner/core/status.py)."""

from __future__ import annotations

import pytest

from runner.core.status import derive
from runner.core.vocab import OPTIONS


def records(**outcomes: str) -> list[dict]:
    out = []
    for option in OPTIONS:
        outcome = outcomes.get(option, "load_error")
        out.append(
            {
                "option": option,
                "outcome": outcome,
                "written": "hdf5",
                "error": None if outcome == "ok" else {"type": "E", "message": option, "traceback": ""},
            }
        )
    return out


@pytest.mark.parametrize(
    ("outcomes", "status", "option"),
    [
        ({"default": "ok", "custom_objects": "ok", "safe_mode_off": "ok", "compile_off": "ok"}, "pass", "default"),
        ({"custom_objects": "ok", "safe_mode_off": "ok"}, "pass_custom_objects", "custom_objects"),
        ({"registered": "ok"}, "pass_custom_objects", "registered"),
        ({"safe_mode_off": "ok"}, "pass_unsafe", "safe_mode_off"),
        ({"default": "call_error"}, "call_error", "default"),
        ({"default": "wrong_output", "custom_objects": "ok"}, "wrong_output", "default"),
        ({"default": "crash"}, "crash", "default"),
        ({"default": "timeout", "custom_objects": "unsupported"}, "timeout", "default"),
        ({"compile_off": "ok"}, "load_error", "default"),
    ],
)
def test_status(outcomes, status, option) -> None:
    cell = derive(records(**outcomes), "rewrite it")
    assert (cell["status"], cell["option"]) == (status, option)


def test_no_artifact_outcomes_win() -> None:
    for outcome in ("env_error", "build_error", "save_error"):
        error = {"type": "E", "message": "m", "traceback": ""}
        recs = [{"option": o, "outcome": outcome, "written": None, "error": error} for o in OPTIONS]
        assert derive(recs)["status"] == outcome


def test_all_unsupported_is_unsupported() -> None:
    recs = [{"option": o, "outcome": "unsupported", "written": "nothing", "error": None} for o in OPTIONS]
    assert derive(recs)["status"] == "unsupported"


def test_fix_names_the_working_option_or_the_rewrite() -> None:
    assert "custom_objects" in derive(records(default="wrong_output", custom_objects="ok"), "rewrite")["fix"]
    assert "safe_mode=False" in derive(records(safe_mode_off="ok"), "rewrite")["fix"]
    assert "compile=False" in derive(records(compile_off="ok"), "rewrite")["fix"]
    assert derive(records(), "rewrite it")["fix"] == "rewrite it"
    assert derive(records(default="ok"), "rewrite")["fix"] is None


@pytest.mark.parametrize(
    ("message", "written", "names"),
    [
        # Keras 2 wrote HDF5 under the .keras name: the fix is about the file, not the pattern
        (
            "File not found: filepath=m.keras. Please ensure the file is an accessible `.keras` zip file.",
            "hdf5",
            "rename",
        ),
        ("File not found: filepath=m.keras. Please ensure the file is an accessible `.keras` zip file.", "zip", None),
        ("bad marshal data (unknown type code)", "hdf5", "Python minor"),
        ("Could not locate class 'Functional'. Make sure custom classes are decorated", "zip", "tf-keras"),
        ("Unknown layer: 'Swish'", "zip", None),
    ],
)
def test_the_fix_follows_the_deciding_error(message: str, written: str, names: str | None) -> None:
    recs = records()
    for r in recs:
        r.update(written=written, error={"type": "ValueError", "message": message, "traceback": ""})
    fix = derive(recs, "the scenario's rewrite")["fix"]
    if names is None:
        assert fix == "the scenario's rewrite"
    else:
        assert names in fix and fix != "the scenario's rewrite"


def _error(message: str) -> dict:
    return {"type": "ValueError", "message": message, "traceback": ""}


def test_a_call_that_loads_and_computes_something_else_is_a_trap_when_none_works() -> None:
    """The default error asks for custom_objects; that call loads and is wrong: a silent failure, not a load error."""
    recs = records(custom_objects="wrong_output")
    recs[0]["error"] = _error("Unknown layer: 'Counter'. Please ensure you are using a keras.utils.custom_object_scope")
    cell = derive(recs, "keep state in weights")
    assert (cell["status"], cell["option"]) == ("wrong_output", "custom_objects")
    # a call that works still wins over a trap after it
    assert derive(records(custom_objects="wrong_output", safe_mode_off="ok"))["status"] == "pass_unsafe"


def test_a_savedmodel_that_only_tfsm_layer_reads_passes_for_inference_only() -> None:
    recs = [
        {
            "option": "default",
            "outcome": "load_error",
            "written": "savedmodel_dir",
            "error": _error("File format not supported"),
        },
        {"option": "tfsm_layer", "outcome": "ok", "written": "savedmodel_dir", "error": None},
    ]
    cell = derive(recs)
    assert (cell["status"], cell["option"]) == ("pass_inference_only", "tfsm_layer")
    assert cell["error"]["message"] == "File format not supported"  # why the plain call fails
    assert "inference only" in cell["fix"]


def test_the_deciding_error_is_the_one_the_advice_leads_to() -> None:
    """The plain call says "pass safe_mode=False"; that call was made and failed otherwise: the user meets that."""
    recs = records(safe_mode_off="call_error")
    recs[0]["error"] = _error(
        "Requested the deserialization of a Lambda ... passing `safe_mode=False` to the loading function"
    )
    recs[3]["error"] = _error("We could not automatically infer the shape of the Lambda's output")
    cell = derive(recs, "rewrite")
    assert (cell["status"], cell["option"]) == ("call_error", "safe_mode_off")
    assert "infer the shape" in cell["error"]["message"]
    # an error that advises nothing stays the plain call's
    assert derive(records(), "rewrite")["option"] == "default"


def test_the_fix_for_a_file_already_saved_is_the_measured_rebuild() -> None:
    cell = derive(records(load_weights="ok"), "rewrite it")
    assert cell["status"] == "load_error" and "load_weights" in cell["fix"]
    assert derive(records(compile_off="ok", load_weights="ok"))["fix"].startswith("load with compile=False")


def test_a_weights_file_is_read_by_load_weights_its_plain_call() -> None:
    ok = [{"option": "load_weights", "format": "weights", "outcome": "ok", "written": "hdf5", "error": None}]
    assert (derive(ok)["status"], derive(ok)["option"]) == ("pass", "load_weights")
    wrong = [dict(ok[0], outcome="wrong_output", error={"type": "OutputMismatch", "message": "m", "traceback": ""})]
    assert derive(wrong)["status"] == "wrong_output"


def test_custom_objects_with_safe_mode_off_is_unsafe() -> None:
    cell = derive(records(custom_objects_unsafe="ok"))
    assert (cell["status"], cell["option"]) == ("pass_unsafe", "custom_objects_unsafe")
