"""Integration: the code-on-load canaries on real rows, and ``keras-compat check --sandbox`` on one of them.

A few vectors (a pickle in a duplicate ``model.weights.npz``, a config naming ``os.system``, the Lambda's
bytecode) in the rows where their boundaries are (Keras 3.6, 3.9, 3.15; Keras 2 on TF 2.15), as .keras
files. Then the pickle canary that Keras 3.6 saved is checked in a container: its payload runs there
(check reports the ``os.system`` it observed, naming the row and the call), its marker is written in the
container's scratch, and nothing of it appears on the host. Engine and image: tools/docker/engine.sh ensure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from runner.cli.model import ran_lines
from runner.core.results import read_json
from runner.core.schema import validate

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]
K36, K39, K315, K2 = "tf2.18-k3.6-py3.11", "tf2.19-k3.9-py3.11", "tf2.21-k3.15-py3.11", "tf2.15-k2-py3.11"
SCENARIOS = "canary_zip_duplicate_pickle,canary_config_callable,lambda_canary"


def runner(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3600,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", **(env or {})},
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    folder = tmp_path_factory.mktemp("canaries")
    done = runner(
        "run",
        "--rows",
        ",".join((K36, K39, K315, K2)),
        "--scenarios",
        SCENARIOS,
        "--formats",
        "keras",
        "--pairs",
        "same",
        "--out",
        str(folder / "out"),
        "--work",
        str(folder / "work"),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return read_json(folder / "out" / "results.json"), folder / "work"


def record(results: dict, scenario: str, row: str, option: str) -> dict:
    return next(
        r
        for r in results["records"]
        if (r["scenario"], r["format"], r["save_row"], r["load_row"], r["option"])
        == (scenario, "keras", row, row, option)
    )


def events(rec: dict) -> set[tuple[str, str]]:
    return {(e["phase"], e["event"]) for e in rec["events"] or []}


def test_the_pickle_in_the_weights_runs_up_to_keras_38_whatever_safe_mode(run: tuple[dict, Path]) -> None:
    results, _ = run
    validate(results)
    for row in (K36, K2):  # Keras 3.6, and Keras 2's .keras format (its npz store has allow_pickle=True too)
        for option in ("default", "safe_mode_off"):
            rec = record(results, "canary_zip_duplicate_pickle", row, option)
            assert rec["code_ran"]["load"] is True, (row, option)
            assert {("load", "os.system"), ("load", "pickle.find_class")} <= events(rec), (row, option)
    for row in (K39, K315):
        rec = record(results, "canary_zip_duplicate_pickle", row, "default")
        assert rec["code_ran"] == {"load": False, "call": False} and "pickle" in rec["error"]["message"]
        assert not any(e["event"] == "os.system" for e in rec["events"])


def test_a_config_naming_os_system_runs_up_to_keras_38(run: tuple[dict, Path]) -> None:
    results, _ = run
    ran = record(results, "canary_config_callable", K36, "default")
    assert ran["code_ran"]["load"] is True and ("load", "os.system") in events(ran)
    for row in (K39, K315):
        refused = record(results, "canary_config_callable", row, "safe_mode_off")
        assert refused["outcome"] == "load_error" and refused["code_ran"]["load"] is False
    unsupported = record(results, "canary_config_callable", K2, "default")  # no Keras 3 config in Keras 2
    assert unsupported["outcome"] == "unsupported" and "Keras 3" in unsupported["error"]["message"]


def test_the_lambda_runs_only_with_safe_mode_off_in_a_keras_zip(run: tuple[dict, Path]) -> None:
    results, _ = run
    for row in (K36, K315, K2):
        assert record(results, "lambda_canary", row, "default")["code_ran"]["load"] is False
        unsafe = record(results, "lambda_canary", row, "safe_mode_off")
        assert unsafe["code_ran"]["load"] is True and ("load", "marshal.loads") in events(unsafe)


def _pickle_canary(work: Path) -> Path:
    (found,) = (work / "artifacts").glob(f"{K36}-*/canary_zip_duplicate_pickle-*/model.keras")
    return found


def _watch(folder: Path, stop: threading.Event, seen: list[str]) -> None:
    """Every file named like the canary's that exists under ``folder`` at any moment while a check runs."""
    while not stop.is_set():
        seen.extend(str(p) for p in folder.rglob("canary.txt"))
        stop.wait(0.2)


def _check(model: Path, host: Path, *extra: str) -> tuple[dict, list[str]]:
    """``check --json`` of ``model`` on the Keras 3.6 row with the host's temp folder in ``host``, and every
    canary marker seen under ``host`` while it ran."""
    (host / "tmp").mkdir(parents=True)
    stop, seen = threading.Event(), []  # type: ignore[var-annotated]
    watcher = threading.Thread(target=_watch, args=(host, stop, seen), daemon=True)
    watcher.start()
    try:
        done = runner("check", str(model), "--rows", K36, "--json", *extra, env={"TMPDIR": str(host / "tmp")})
    finally:
        stop.set()
        watcher.join()
    # check's gate: 0 when some env loads the file as the team does today, 1 when none does; anything else is
    # check failing
    assert done.returncode in (0, 1), done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["exit"] == done.returncode
    return found, sorted(set(seen))


def test_check_sandbox_keeps_the_payload_in_the_container(run: tuple[dict, Path], tmp_path: Path) -> None:
    _, work = run
    model = _pickle_canary(work)
    # On the host (no sandbox), the payload writes its marker in the harness's folder under the host's TMPDIR:
    # the watcher sees it, so it would see one written on the host by the sandboxed run too.
    found, seen = _check(model, tmp_path / "plain")
    assert seen and found["rows"][0]["records"][0]["code_ran"]["load"] is True
    # In the sandbox the same payload runs (check observes os.system) and writes its marker in the
    # container's scratch, which is all it can write: nothing appears on the host.
    found, seen = _check(model, tmp_path / "boxed", "--sandbox")
    assert found["sandbox"] is True and seen == []
    (verdict,) = found["rows"]
    default = next(r for r in verdict["records"] if r["option"] == "default")
    assert default["mode"] in ("fork", "fresh") and default["code_ran"]["load"] is True
    assert ("load", "os.system") in events(default) and ("load", "pickle.find_class") in events(default)
    lines = ran_lines(verdict, ["pickle in model.weights.npz"])
    said = next(line for line in lines if "os.system(" in line)
    assert said.startswith("loading ran") and f"({K36})" in said and 'keras.models.load_model("model.keras")' in said
    assert "pickle in model.weights.npz" in said
