"""The scan index: a small file with what predictions need, read instead of the whole results.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.core.errors import ResultsError
from runner.core.results import read_json
from runner.scan.index import INDEX_NAME, build_index, load_predictions, read_index, write_index
from runner.scan.predict import predict
from runner.scan.reader import scan

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "fixtures" / "results_real.json"
MODELS = Path(__file__).parent / "fixtures" / "models"


def test_predictions_from_the_index_equal_those_from_results(tmp_path: Path) -> None:
    results = read_json(RESULTS)
    index = read_index(write_index(results, tmp_path / INDEX_NAME))
    assert index == json.loads(json.dumps(build_index(results)))  # deterministic and JSON-clean
    for name in ("tf2.3-py3.8.h5", "tf2.21-keras3.15-py3.11.keras", "tf2.15-py3.11-subclassed-savedmodel"):
        facts = scan(MODELS / name)
        assert predict(facts, index) == predict(facts, build_index(results)), name
    assert (tmp_path / INDEX_NAME).stat().st_size < RESULTS.stat().st_size / 3


def test_the_index_is_used_only_when_newer_than_results(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    shutil.copy(RESULTS, results)
    index = write_index(read_json(results), tmp_path / INDEX_NAME)
    marked = json.loads(index.read_text())
    marked["finished"] = "from-the-index"
    index.write_text(json.dumps(marked))
    os.utime(results, (1_000_000, 1_000_000))
    assert load_predictions(results)["finished"] == "from-the-index"
    os.utime(index, (500_000, 500_000))  # older than results.json: stale, rebuilt from results
    assert load_predictions(results)["finished"] == read_json(results)["run"]["finished"]


def test_a_damaged_index_is_one_line(tmp_path: Path) -> None:
    (tmp_path / INDEX_NAME).write_text('{"schema": 1, "rows": [')
    with pytest.raises(ResultsError, match="not a readable scan index"):
        read_index(tmp_path / INDEX_NAME)
    (tmp_path / INDEX_NAME).write_text('{"schema": 99}')
    with pytest.raises(ResultsError, match="another schema"):
        read_index(tmp_path / INDEX_NAME)


def test_scan_reads_the_index_not_results_json(tmp_path: Path) -> None:
    """With a newer index beside it, results.json is not even parsed (here it is not JSON at all)."""
    write_index(read_json(RESULTS), tmp_path / INDEX_NAME)
    (tmp_path / "results.json").write_text("not json")
    os.utime(tmp_path / "results.json", (1_000_000, 1_000_000))
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "scan",
            str(MODELS / "tf2.3-py3.8.h5"),
            "--results",
            str(tmp_path / "results.json"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert shown.returncode == 0, shown.stderr
    assert "pattern lambda_closure_scalar" in shown.stdout
