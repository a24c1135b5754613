"""Orchestrator plumbing without TensorFlow: env failures, bad input, one-line errors.

These fake only the environment backend (a row whose env cannot be built); they
make no claim about what breaks where.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.core.errors import EnvError
from runner.core.schema import validate
from runner.run.backends import find_interpreter
from runner.run.catalog import load_catalog
from runner.run.collect import build_results
from runner.run.engine import Engine
from runner.run.grid import parse_grid

REPO = Path(__file__).resolve().parents[1]
GRID = """
schema = 1
[[row]]
flavour = "keras2"
tf = "2.0.4"
keras = "2.2.4-tf"
python = "3.7.16"
packages = ["tensorflow==2.0.4"]
"""


class NoEnvBackend:
    name = "none"

    def prepare(self, row):
        raise EnvError("install failed: No solution found when resolving dependencies: tensorflow==2.0.4 has no wheel")


def test_unbuildable_row_is_an_env_error_column(tmp_path: Path) -> None:
    rows = list(parse_grid(GRID).rows)
    catalog = load_catalog()
    run = Engine(backend=NoEnvBackend(), work=tmp_path, scenarios=catalog, formats=["h5", "keras"]).run(rows)
    assert run.rows[0].error.startswith("install failed")
    # nothing could be called: one record per cell, of the plain call, says why
    assert len(run.records) == len(catalog) * 2
    assert {r["option"] for r in run.records} == {"default"}
    assert {r["outcome"] for r in run.records} == {"env_error"}
    results = build_results(
        run,
        catalog,
        ["h5", "keras"],
        started="2026-01-01T00:00:00Z",
        wall_s=1.0,
        pairs="same",
        selection={"rows": ["*"], "scenarios": ["*"], "formats": ["*"]},
        command="test",
    )
    validate(results)
    assert {c["status"] for c in results["cells"]} == {"env_error"}
    assert results["rows"][0]["status"] == "env_error" and "No solution" in results["rows"][0]["error"]


def test_missing_interpreter_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    with pytest.raises(EnvError) as err:
        find_interpreter("3.99.1")
    assert str(err.value).startswith("missing interpreter: Python 3.99.1 not found")
    assert "\n" not in str(err.value)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runner", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["run", "--scenarios", "lambda_nope", "--out", "/tmp/kc-x", "--work", "/tmp/kc-x"],
            "unknown scenario 'lambda_nope'",
        ),
        (["run", "--rows", "tf9.9*", "--out", "/tmp/kc-x", "--work", "/tmp/kc-x"], "unknown row 'tf9.9*'"),
        (["run", "--formats", "onnx", "--out", "/tmp/kc-x", "--work", "/tmp/kc-x"], "unknown format 'onnx'"),
        (["run", "--shard", "3/2", "--out", "/tmp/kc-x", "--work", "/tmp/kc-x"], "--shard 3/2"),
        (["report", "--results", "/nonexistent/results.json"], "no results file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_grid_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "grid.toml"
    bad.write_text('schema = 1\n[[row]]\nflavour = "keras9"\n')
    proc = cli("rows", "--grid", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "missing key" in proc.stderr or "flavour" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_corrupt_results_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text('{"schema_version": 1, "rows": [')
    proc = cli("report", "--results", str(bad), "--out", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().count("\n") == 0
