"""``keras-compat check`` on real rows: a model saved elsewhere, loaded in isolated children, compared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
MODELS = Path(__file__).parent / "fixtures" / "models"
ROWS = "tf2.3-k2-py3.8,tf2.15-k2-py3.11"


def _check(*args: str, model: str = "tf2.3-py3.8.h5", rows: str = ROWS, **env: str) -> dict:
    shown = subprocess.run(
        [sys.executable, "-m", "runner", "check", str(MODELS / model), "--rows", rows, "--json", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=1800,
    )
    found: dict = json.loads(shown.stdout)
    assert shown.returncode == found["exit"], shown.stderr  # exit 1: no env loads it as the team does today
    return found


def test_check_loads_in_each_row_with_the_teams_loading_code() -> None:
    found = _check("--serve", str(MODELS / "serve.py"))
    assert found["reference"] == "tf2.3-k2-py3.8"  # the file's own Keras 2.4 (TF 2.3), Python 3.8 row
    by_row = {v["row"]: v for v in found["rows"]}
    saved_in = {r["option"]: r for r in by_row["tf2.3-k2-py3.8"]["records"]}
    assert saved_in["default"]["outcome"] == "load_error" and "Offset" in saved_in["default"]["error"]["message"]
    assert saved_in["custom_objects"]["outcome"] == "ok" and saved_in["custom_objects"]["max_abs_diff"] == 0.0
    assert by_row["tf2.3-k2-py3.8"]["status"] == "pass_custom_objects"
    assert found["exit"] == 0 and "tf2.3-k2-py3.8" in found["loads_as_today"]
    # every answer came from a child (or a fresh interpreter) in the row's env, never from the orchestrator
    assert all(r["mode"] in ("fork", "fresh", "parent") for v in found["rows"] for r in v["records"])


def test_without_loading_code_only_the_plain_options_are_tried() -> None:
    found = _check()
    for v in found["rows"]:
        options = {r["option"]: r["outcome"] for r in v["records"]}
        assert options["custom_objects"] == "unsupported" and options["registered"] == "unsupported"
        assert options["default"] == "load_error"
    assert found["exit"] == 1 and found["loads_as_today"] == []  # the plain call the team makes fails everywhere


def test_a_two_input_model_is_called_on_each_input_and_compared_with_its_saver() -> None:
    """Seeded data of each input's shape, or a .npz with one array per input name; outputs compared only
    with a row that produced one, and never claimed otherwise."""
    rows = "tf2.15-k2-py3.11,tf2.21-k3.15-py3.11"
    found = _check(model="tf2.15-py3.11-two-inputs.h5", rows=rows)
    by_row = {v["row"]: v for v in found["rows"]}
    assert found["reference"] == "tf2.15-k2-py3.11" and by_row["tf2.15-k2-py3.11"]["status"] == "pass"
    assert by_row["tf2.21-k3.15-py3.11"]["status"] == "pass_unsafe"  # a Lambda: Keras 3 asks for safe_mode=False
    assert by_row["tf2.21-k3.15-py3.11"]["compared_with"] == "tf2.15-k2-py3.11"
    npz = _check(
        "--input",
        str(MODELS / "tf2.15-py3.11-two-inputs.npz"),
        model="tf2.15-py3.11-two-inputs.h5",
        rows="tf2.15-k2-py3.11",
    )
    assert npz["rows"][0]["status"] == "pass" and npz["exit"] == 0
