"""Integration: real TF/Keras wheels in real uv envs, real processes, real files.

Four rows (TF 2.3 on Python 3.7, TF 2.15 Keras 2, TF 2.21 tf-keras, TF 2.21 Keras 3)
run every scenario in every format through ``python -m runner run``; the tests
assert outcomes the Keras sources document, never hard-coded matrices.
Envs live in $KC_HOME (reused across runs); the run's work dir is per session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.core.results import read_json
from runner.core.schema import validate
from runner.harness.protocol import calls_for
from runner.run.catalog import load_catalog
from runner.run.grid import load_grid
from runner.run.pairs import plan_pairs

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]


def _pick(flavour: str, tf_minor: str, python_minor: str | None = None) -> str:
    rows = [
        r
        for r in load_grid().rows
        if r.flavour == flavour
        and r.tf.startswith(tf_minor + ".")
        and (python_minor is None or r.python.startswith(python_minor + "."))
    ]
    main = [r for r in rows if "main" in r.tags] or rows
    assert main, f"no {flavour} row for TF {tf_minor}"
    return main[0].id


ROWS = {
    "old": _pick("keras2", "2.3", "3.7"),
    "k2": _pick("keras2", "2.15"),
    "tfk": _pick("tf_keras", "2.21"),
    "k3": _pick("keras3", "2.21", "3.11"),
}


def runner(*args: str, timeout: float = 3000) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runner", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run")


@pytest.fixture(scope="session")
def results(run_dir: Path) -> dict:
    proc = runner(
        "run",
        "--rows",
        ",".join(ROWS.values()),
        "--out",
        str(run_dir / "out"),
        "--work",
        str(run_dir / "work"),
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return read_json(run_dir / "out" / "results.json")


PAIRS = plan_pairs([load_grid().row(r) for r in ROWS.values()], "targets")
SCENARIOS = len(load_catalog())


def expected_cells() -> int:
    """Every scenario x format for each pair, but a vector's canary (PAIRS = "same") only where it was saved."""
    same_only = sum(1 for s in load_catalog().values() if s.same_env_only)
    return sum(SCENARIOS if a == b else SCENARIOS - same_only for a, b in PAIRS) * 4


def cell(results: dict, scenario: str, fmt: str, row: str, saved_in: str | None = None) -> dict:
    key = (scenario, fmt, saved_in or row, row)
    return next(c for c in results["cells"] if (c["scenario"], c["format"], c["save_row"], c["load_row"]) == key)


def record(results: dict, scenario: str, fmt: str, row: str, option: str, saved_in: str | None = None) -> dict:
    key = (scenario, fmt, saved_in or row, row, option)
    return next(
        r for r in results["records"] if (r["scenario"], r["format"], r["save_row"], r["load_row"], r["option"]) == key
    )


def test_all_rows_built_and_no_empty_cell(results: dict) -> None:
    assert {r["id"]: r["status"] for r in results["rows"]} == {row: "ok" for row in ROWS.values()}
    assert len(results["cells"]) == expected_cells() and len(PAIRS) > len(ROWS)
    # Each cell's records are its calls in OPTIONS order from the default; a canary's makes them all (where its
    # save wrote a file), any other cell is lazy: it stops at its first call that works, so no record before its
    # last one is ok.
    canaries = {name for name, s in load_catalog().items() if s.canary}
    by_cell: dict[tuple, list[dict]] = {}
    for r in results["records"]:
        by_cell.setdefault((r["scenario"], r["format"], r["save_row"], r["load_row"]), []).append(r)
    assert set(by_cell) == {(c["scenario"], c["format"], c["save_row"], c["load_row"]) for c in results["cells"]}
    for key, records in by_cell.items():
        options = [r["option"] for r in records]
        calls = calls_for(key[1], records[0]["written"])
        assert options == list(calls[: len(options)]), key
        if key[0] in canaries and records[0]["written"] != "nothing":  # a vector that exists in this env
            assert options == list(calls), key
        else:
            assert all(r["outcome"] != "ok" for r in records[:-1]), key
    for row in results["rows"]:
        assert row["lock"]["packages"]["numpy"], row["id"]
        assert row["lock"]["python"].startswith(row["python"].rsplit(".", 1)[0])


def test_results_follow_the_schema(results: dict, run_dir: Path) -> None:
    validate(results)
    for name in ("MATRIX.md", "index.html"):
        assert (run_dir / "out" / name).stat().st_size > 1000


def test_keras3_refuses_a_lambda_in_dot_keras_unless_safe_mode_off(results: dict) -> None:
    # keras/src/layers/core/lambda_layer.py: _raise_for_lambda_deserialization when safe_mode is on
    row = ROWS["k3"]
    default = record(results, "lambda_simple", "keras", row, "default")
    assert default["outcome"] == "load_error"
    assert "Lambda" in default["error"]["message"] and "safe_mode" in default["error"]["message"]
    assert record(results, "lambda_simple", "keras", row, "safe_mode_off")["outcome"] == "ok"
    assert cell(results, "lambda_simple", "keras", row)["status"] == "pass_unsafe"


def test_keras3_load_model_refuses_a_savedmodel_directory(results: dict, run_dir: Path) -> None:
    # keras/src/saving/saving_api.py: load_model only takes .keras and legacy .h5; SavedModels need TFSMLayer
    row = ROWS["k3"]
    # the user's load_model raises there (a recorded load error, never replaced by another call) ...
    default = record(results, "subclass_with_config", "savedmodel", row, "default")
    assert default["outcome"] == "load_error" and default["stage"] == "load"
    assert "TFSMLayer" in default["error"]["message"] or "not supported" in default["error"]["message"]
    # ... and the call Keras names instead is its own record
    assert record(results, "subclass_with_config", "savedmodel", row, "tfsm_layer")["outcome"] == "ok"
    exported = next((run_dir / "work" / "artifacts").glob(f"{row}-*/subclass_with_config-*/savedmodel"))
    home = Path(os.environ.get("KC_HOME", Path.home() / ".cache" / "keras-compat"))
    env_python = next((home / "envs").glob(f"{row}-*/bin/python"))
    probe = subprocess.run(
        [str(env_python), "-c", f"import keras; keras.models.load_model({str(exported)!r})"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode != 0
    assert "TFSMLayer" in probe.stderr or "not supported" in probe.stderr


def test_a_closure_over_a_saving_side_global_is_not_resolvable_when_loading(results: dict) -> None:
    # tf.keras resolves a Lambda's globals via sys.modules[config["module"]]: the serving __main__ has no `t`
    for row in (ROWS["old"], ROWS["k2"], ROWS["tfk"]):
        rec = record(results, "lambda_closure_scalar", "h5", row, "default")
        assert rec["outcome"] in ("load_error", "call_error"), (row, rec)
        assert rec["error"]["type"] == "NameError" and "'t'" in rec["error"]["message"], (row, rec["error"])
        # ... and the value the loading side passes in custom_objects is what makes it work
        assert record(results, "lambda_closure_scalar", "h5", row, "custom_objects")["outcome"] == "ok", row


def test_rebound_global_loads_and_computes_something_else(results: dict) -> None:
    rec = record(results, "lambda_closure_rebound", "h5", ROWS["k2"], "default")
    assert rec["outcome"] == "wrong_output" and rec["max_abs_diff"] > 1e-3
    assert cell(results, "lambda_closure_rebound", "h5", ROWS["k2"])["status"] == "wrong_output"


def test_what_dot_keras_writes_depends_on_the_version(results: dict) -> None:
    # Measured: tf.keras <= 2.12 counts ".keras" among its HDF5 extensions, so model.save("m.keras") writes an
    # HDF5 file there (not a SavedModel directory, as the issue assumed); the .keras zip arrives in Keras 2.13.
    assert record(results, "lambda_simple", "keras", ROWS["old"], "default")["written"] == "hdf5"
    for row in (ROWS["k2"], ROWS["tfk"], ROWS["k3"]):
        assert record(results, "subclass_with_config", "keras", row, "default")["written"] == "zip", row


def test_estimator_is_unsupported_after_tf_2_15(results: dict) -> None:
    assert cell(results, "estimator_conversion", "savedmodel", ROWS["k3"])["status"] in ("unsupported", "build_error")
    assert cell(results, "estimator_conversion", "savedmodel", ROWS["k2"])["status"] != "unsupported"


def test_warm_rerun_takes_everything_from_cache(results: dict, run_dir: Path) -> None:
    store = run_dir / "work" / "cells.jsonl"
    before = store.read_bytes()
    proc = runner(
        "run",
        "--rows",
        ",".join(ROWS.values()),
        "--out",
        str(run_dir / "out2"),
        "--work",
        str(run_dir / "work"),
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = read_json(run_dir / "out2" / "results.json")
    assert store.read_bytes() == before  # nothing measured again: the store gained no cell
    assert [m["started"] for m in again["run"]["measured"]] == [m["started"] for m in results["run"]["measured"]]
    assert sum(m["cells"] for m in again["run"]["measured"]) == len(again["cells"]) == expected_cells()
    assert [c["status"] for c in again["cells"]] == [c["status"] for c in results["cells"]]


def test_a_killed_run_resumes_without_redoing_finished_cells(results: dict, tmp_path: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "runner",
        "run",
        "--rows",
        ROWS["k2"],
        "--pairs",
        "same",
        "--scenarios",
        "lambda_*,subclass_*",
        "--out",
        str(tmp_path / "out"),
        "--work",
        str(tmp_path / "work"),
        "--quiet",
    ]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    cells = tmp_path / "work" / "cells.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and (not cells.exists() or len(cells.read_text().splitlines()) < 5):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(cells.read_text().splitlines())
    assert done_before >= 5
    rerun = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{done_before} from cache" in rerun.stderr or f"{done_before - 1} from cache" in rerun.stderr, rerun.stderr
    out = read_json(tmp_path / "out" / "results.json")
    assert len(out["cells"]) == len([s for s in load_catalog() if s.startswith(("lambda_", "subclass_"))]) * 4


def test_bad_selection_is_one_line(run_dir: Path) -> None:
    proc = runner("run", "--scenarios", "lambda_nope", "--out", str(run_dir / "x"), "--work", str(run_dir / "x"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown scenario 'lambda_nope'" in proc.stderr


def test_lambda_bytecode_does_not_cross_python_versions(results: dict) -> None:
    # The measurement: a Lambda in .h5 saved by TF 2.3 on Python 3.7 fails in TF 2.15 on Python 3.11
    # (Keras stores the lambda as marshalled bytecode: keras/utils/generic_utils.py func_dump/func_load).
    rec = record(results, "lambda_simple", "h5", ROWS["k2"], "default", saved_in=ROWS["old"])
    assert rec["outcome"] in ("load_error", "call_error", "crash"), rec
    # ... while the same artifact's SavedModel, which stores a traced graph, loads
    assert cell(results, "lambda_simple", "savedmodel", ROWS["k2"], saved_in=ROWS["old"])["status"] == "pass"


def test_keras2_dot_keras_does_not_load_in_keras3(results: dict) -> None:
    # a Keras 2.15 .keras zip names keras.src.engine.* modules that Keras 3 does not have
    rec = record(results, "subclass_with_config", "keras", ROWS["k3"], "default", saved_in=ROWS["k2"])
    assert rec["outcome"] == "load_error", rec


def test_hub_layer_loads_with_custom_objects_in_keras2(results: dict) -> None:
    # tensorflow_hub docs: load_model(path, custom_objects={"KerasLayer": hub.KerasLayer}); the model stores
    # the hub module's absolute path, so this also proves artifacts are loaded where they were saved.
    for row in (ROWS["k2"], ROWS["tfk"]):
        assert record(results, "hub_direct", "h5", row, "custom_objects")["outcome"] == "ok", row
        assert cell(results, "hub_direct", "h5", row)["status"] == "pass_custom_objects", row


def test_the_canary_says_when_stored_code_runs(results: dict) -> None:
    """Measured by the marker the stored bytecode writes, never inferred from a version number."""
    old, k3 = ROWS["old"], ROWS["k3"]
    # TF 2.3 deserializes the Lambda's bytecode on a plain load_model of an .h5: the code runs during the load
    assert record(results, "lambda_canary", "h5", old, "default")["code_ran"]["load"] is True
    # Keras 3 refuses it in a .keras file unless safe_mode=False; refused, nothing ran
    refused = record(results, "lambda_canary", "keras", k3, "default")
    assert refused["outcome"] == "load_error" and refused["code_ran"] == {"load": False, "call": False}
    assert record(results, "lambda_canary", "keras", k3, "safe_mode_off")["code_ran"]["load"] is True
    # other scenarios carry no marker field at all
    assert all("code_ran" not in r for r in results["records"] if r["scenario"] == "lambda_simple")


def test_scan_never_runs_the_canarys_stored_code(results: dict, run_dir: Path, tmp_path: Path) -> None:
    """The catalog's canary, saved by real rows in every format, scanned with its marker armed: no marker."""
    marker = tmp_path / "marker"
    artifacts = sorted((run_dir / "work" / "artifacts").glob("*/lambda_canary-*"))
    assert len(artifacts) == len(ROWS)
    scanned = 0
    for folder in artifacts:
        for name in ("model.h5", "model.keras", "savedmodel"):
            if not (folder / name).exists():
                continue
            proc = subprocess.run(
                [sys.executable, "-m", "runner", "scan", str(folder / name), "--json"],
                cwd=REPO,
                capture_output=True,
                text=True,
                env={**os.environ, "KC_CANARY": str(marker)},
            )
            assert proc.returncode == 0, proc.stderr
            scanned += 1
    assert scanned >= 2 * len(ROWS) and not marker.exists()
