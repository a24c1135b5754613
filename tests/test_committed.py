"""The committed reports (a full real run) hold to the promises: no finding raised by keras-compat itself,
every record a named call, and a Keras 2 SavedModel in Keras 3 reads as a changed call everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.core.results import read_json
from runner.core.status import OPTION_CALLS
from runner.core.vocab import ANSWER_TITLES
from runner.report.upgrade_md import upgrade_markdown

REPORTS = Path(__file__).resolve().parents[1] / "reports"
K2, K3 = "tf2.15-k2-py3.11", "tf2.21-k3.15-py3.11"
CHANGED = f"{ANSWER_TITLES['change_call']}: {OPTION_CALLS['tfsm_layer']}"


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    data: dict[str, Any] = read_json(REPORTS / "results.json")
    return data


def test_no_record_rests_on_an_error_raised_by_the_harness(results: dict[str, Any]) -> None:
    errors = [r["error"] for r in results["records"] if r["error"]] + [
        c["error"] for c in results["cells"] if c["error"]
    ]
    assert [e for e in errors if e.get("origin") == "harness"] == []
    # every error the harness caught (not one it states) says where it was raised
    stated = {"Unsupported", "OutputMismatch", "ShapeMismatch", "WorkerDied", "EnvError", "MissingMeta"}
    assert [e for e in errors if e["type"] not in stated and not e.get("origin")] == []


def test_every_record_that_ran_names_its_call_and_its_artifact(results: dict[str, Any]) -> None:
    ran = [
        r for r in results["records"] if r["mode"] in ("fork", "fresh") and r["stage"] in ("load", "call", "compare")
    ]
    # A child that died (crash, timeout) never answered. Its death is confirmed in a fresh interpreter, which
    # tells each call before making it (EVENT_CALL), so that record names the call it died in too.
    answered = [
        r
        for r in ran
        if r["outcome"] != "unsupported" and (r["outcome"] not in ("crash", "timeout") or r["mode"] == "fresh")
    ]
    assert answered and all(r.get("call") for r in answered)
    assert all(r.get("artifact") for r in results["records"] if r["outcome"] != "env_error" and r["mode"])


def test_a_keras2_savedmodel_in_keras3_is_a_changed_call_in_matrix_md_and_upgrade(results: dict[str, Any]) -> None:
    text = upgrade_markdown(results, K2, K3)
    assert CHANGED in text
    matrix = (REPORTS / "MATRIX.md").read_text(encoding="utf-8")
    upgrade = matrix.split("## Can I upgrade?", 1)[1].split("\n## ", 1)[0]
    assert "TFSMLayer (inference only)" in upgrade
