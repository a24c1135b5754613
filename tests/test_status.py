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
