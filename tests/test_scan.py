"""``keras-compat scan``: a model file read as data, never run.

The fixtures in tests/fixtures/models/ were saved by their own script (make.py there),
not by a scenario: TF 2.3 / Keras 2.4 on Python 3.8 (.h5) and TF 2.21 / Keras 3.15 on
Python 3.11 (.keras). Their Lambda writes ``$KC_CANARY`` whenever it runs.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from runner.scan.bytecode import Unreadable, stored_code
from runner.scan.reader import ScanError, scan

REPO = Path(__file__).resolve().parents[1]
MODELS = Path(__file__).parent / "fixtures" / "models"
H5, KERAS = MODELS / "tf2.3-py3.8.h5", MODELS / "tf2.21-keras3.15-py3.11.keras"
FIXTURE_RESULTS = Path(__file__).parent / "fixtures" / "results_real.json"


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", *args], capture_output=True, text=True, cwd=REPO, env={**os.environ, **env}
    )


@pytest.mark.parametrize(
    ("path", "fmt", "keras", "python"), [(H5, "h5", "2.4.0", "3.8-3.10"), (KERAS, "keras", "3.15.1", "3.11")]
)
def test_models_saved_elsewhere_are_read(path: Path, fmt: str, keras: str, python: str) -> None:
    """3.11 and not 3.11-3.12: the stored lambda uses PRECALL, an opcode CPython 3.12 no longer defines."""
    facts = scan(path)
    assert (facts.format, facts.keras_version, facts.layers) == (fmt, keras, 4)
    (lam,) = facts.functions
    assert lam.kind == "python lambda (stored bytecode)" and lam.python == python
    assert lam.globals == ["canary", "scale"] and lam.closure == []
    assert facts.custom_classes == ["Offset"] and facts.hub_layers == []


def test_scanning_never_runs_the_stored_code(tmp_path: Path) -> None:
    marker = tmp_path / "canary"
    for path in (H5, KERAS):
        for extra in ([], ["--json"]):
            shown = _cli("scan", str(path), "--results", str(FIXTURE_RESULTS), *extra, KC_CANARY=str(marker))
            assert shown.returncode == 0, shown.stderr
    assert not marker.exists()


def test_the_scanner_imports_nothing_that_could_run_a_model() -> None:
    forbidden = {"marshal", "pickle", "dill", "cloudpickle", "tensorflow", "keras", "tf_keras", "tensorflow_hub"}
    for path in (REPO / "runner" / "scan").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not imported & forbidden, path
        attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "load_model" not in attributes and not calls & {"exec", "eval", "compile", "__import__"}, path


def test_json_output_maps_patterns_to_measured_statuses() -> None:
    shown = _cli("scan", str(H5), "--results", str(FIXTURE_RESULTS), "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["custom_objects"] == ["canary", "scale", "Offset"]
    scenarios = {p["scenario"] for p in data["patterns"]}
    assert {"lambda_closure_scalar", "subclass_with_config"} <= scenarios
    results = json.loads(FIXTURE_RESULTS.read_text())
    measured = {c["scenario"] for c in results["cells"]}
    for p in data["patterns"]:
        statuses = {r["status"] for line in p["same_env"] for r in line["ranges"]}
        if p["scenario"] in measured:
            assert statuses, p["scenario"]


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: d / "missing.h5", "no such file"),
        (lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", "not a Keras model"),
        (lambda d: (d / "cut.keras").write_bytes(KERAS.read_bytes()[:300]) and d / "cut.keras", "truncated or corrupt"),
        (lambda d: d, "not a SavedModel"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, make, needle: str) -> None:  # type: ignore[no-untyped-def]
    shown = _cli("scan", str(make(tmp_path)), "--results", str(FIXTURE_RESULTS))
    assert shown.returncode == 2 and needle in shown.stderr
    assert len(shown.stderr.strip().splitlines()) == 1 and "Traceback" not in shown.stderr


def test_hdf5_without_a_config_and_a_zip_without_one_are_refused(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "model.weights.h5", "w") as f:
        f.create_dataset("w", data=[1.0, 2.0])
    with pytest.raises(ScanError, match="without a model config"):
        scan(tmp_path / "model.weights.h5")
    with zipfile.ZipFile(tmp_path / "odd.keras", "w") as z:
        z.writestr("metadata.json", "{}")
    with pytest.raises(ScanError, match="without config.json"):
        scan(tmp_path / "odd.keras")


@pytest.mark.parametrize("version", ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"])
def test_stored_bytecode_of_every_cpython_is_read(version: str) -> None:
    """Real bytecode, marshalled by each interpreter; the globals the scanner reads are the ones dis sees."""
    pyenv = shutil.which("pyenv")
    prefix = subprocess.run([pyenv, "prefix", version], capture_output=True, text=True) if pyenv else None
    python = (
        Path(prefix.stdout.strip().splitlines()[-1]) / "bin" / "python3" if prefix and prefix.returncode == 0 else None
    )
    if python is None or not python.exists():
        pytest.skip(f"no CPython {version} here")
    code = (
        "import base64, dis, json, marshal\n"
        "t = 3\n"
        "def make(enc):\n    return lambda x: enc(x) + t\n"
        "cases = {'scalar': lambda x: x[:, t, :],\n"
        "         'mixed': lambda x: np.sin(x) + tf.reduce_mean([i for i in range(k)]),\n"
        "         'closure': make(len), 'simple': lambda x: x * 2}\n"
        "def seen(c):\n"
        "    names = [i.argval for i in dis.get_instructions(c) if i.opname in ('LOAD_GLOBAL', 'LOAD_NAME')]\n"
        "    for k in c.co_consts:\n"
        "        if hasattr(k, 'co_code'): names += seen(k)\n"
        "    return names\n"
        "print(json.dumps({k: [base64.b64encode(marshal.dumps(f.__code__)).decode(), sorted(set(seen(f.__code__))),\n"
        "                      list(f.__code__.co_freevars)] for k, f in cases.items()}))\n"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    for name, (encoded, expected, freevars) in json.loads(out.stdout).items():
        found = stored_code(encoded)
        assert sorted(found.globals) == expected, name
        assert list(found.freevars) == freevars, name


def test_bytes_that_are_not_code_are_unknown_not_guessed() -> None:
    for junk in (b"", b"\xe3\x00\x00", b"garbage" * 10, bytes(range(256))):
        with pytest.raises(Unreadable):
            stored_code(base64.b64encode(junk).decode())
