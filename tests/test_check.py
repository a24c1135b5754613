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


def _check(*args: str, **env: str) -> dict:
    shown = subprocess.run(
        [sys.executable, "-m", "runner", "check", str(MODELS / "tf2.3-py3.8.h5"), "--rows", ROWS, "--json", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=1800,
    )
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_check_loads_in_each_row_with_the_teams_loading_code() -> None:
    found = _check("--serve", str(MODELS / "serve.py"))
    assert found["reference"] == "tf2.3-k2-py3.8"  # the file's own Keras 2.4 (TF 2.3), Python 3.8 row
    by_row = {v["row"]: v for v in found["rows"]}
    saved_in = {r["option"]: r for r in by_row["tf2.3-k2-py3.8"]["records"]}
    assert saved_in["default"]["outcome"] == "load_error" and "Offset" in saved_in["default"]["error"]["message"]
    assert saved_in["custom_objects"]["outcome"] == "ok" and saved_in["custom_objects"]["max_abs_diff"] == 0.0
    assert by_row["tf2.3-k2-py3.8"]["status"] == "pass_custom_objects"
    # every answer came from a child (or a fresh interpreter) in the row's env, never from the orchestrator
    assert all(r["mode"] in ("fork", "fresh", "parent") for v in found["rows"] for r in v["records"])


def test_without_loading_code_only_the_plain_options_are_tried() -> None:
    found = _check()
    for v in found["rows"]:
        options = {r["option"]: r["outcome"] for r in v["records"]}
        assert options["custom_objects"] == "unsupported" and options["registered"] == "unsupported"
        assert options["default"] == "load_error"
