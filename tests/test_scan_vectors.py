"""scan flags every code-on-load vector (issues 18 and 22), without running or unpickling anything.

The vector files are built by tools/fixtures/vectors.py (zipfile, json, numpy, h5py; never
Keras) from the plain real-saver fixtures; ``HOLDS`` there says what each really holds.
The nested and compile-config bypasses are real Keras 3.15 saves (test_scan_forms.py).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from runner.scan.archive import holds_objects, npy_descr
from runner.scan.index import build_index
from runner.scan.pickles import sniff
from runner.scan.predict import predict, text
from runner.scan.reader import scan
from runner.scan.vectors import VECTOR_KINDS

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "fixtures" / "results_real.json"
sys.path.insert(0, str(REPO / "tools" / "fixtures"))
import vectors  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return vectors.build_all(tmp_path_factory.mktemp("vectors"))


@pytest.mark.parametrize("name", sorted(vectors.HOLDS))
def test_each_vector_file_is_flagged_with_what_it_holds(name: str, built: dict[str, Path]) -> None:
    facts = scan(built[name])
    kinds = {v.kind for v in facts.vectors}
    assert set(vectors.HOLDS[name]) <= kinds, (name, facts.vectors)
    assert kinds <= set(VECTOR_KINDS) and all(v.where and v.note and "\n" not in v.note for v in facts.vectors)


def test_the_duplicate_member_names_the_copy_keras_reads(built: dict[str, Path]) -> None:
    facts = scan(built["vector-duplicate-pickle.keras"])
    dup = next(v for v in facts.vectors if v.kind == "duplicate_member")
    assert "reads copy 2 of 2" in dup.note
    (found,) = [v for v in facts.vectors if v.kind == "pickle"]
    assert "copy 2 of 2, the copy Keras reads" in found.where and "posix.system" in found.note
    with zipfile.ZipFile(built["vector-duplicate-pickle.keras"]) as z:  # what zipfile itself returns
        assert sniff(z.read("model.weights.npz")) is not None


def test_object_arrays_in_an_npz_are_read_from_the_header(built: dict[str, Path]) -> None:
    (v,) = [v for v in scan(built["vector-npz-object.keras"]).vectors if v.kind == "npz_object"]
    assert v.where == "model.weights.npz:arr_0.npy" and "'|O'" in v.note and "posix.system" in v.note
    buf = io.BytesIO()
    np.save(buf, np.zeros(3, dtype=[("a", "<f4"), ("b", "O")]))
    assert holds_objects(npy_descr(buf.getvalue())) and not holds_objects("<f4") and npy_descr(b"junk") is None


def test_config_vectors_name_the_module_and_function(built: dict[str, Path]) -> None:
    notes = {name: [v.note for v in scan(built[name]).vectors] for name in vectors.HOLDS}
    assert "keras.utils.get_file" in notes["vector-get-file.keras"][0]
    assert "enable_unsafe_deserialization" in notes["vector-unsafe-deserialization.keras"][0]
    assert "keras.visualization.plot_image_gallery" in notes["vector-visualization.keras"][0]
    assert "os.system" in notes["vector-stdlib-callable.keras"][0]
    assert "kc_payload.initializers" in notes["vector-module-import.keras"][0]
    assert "/etc/kc-vocabulary.txt" in notes["vector-vocabulary-path.keras"][0]
    graph = notes["vector-graph-file-ops-savedmodel"]
    assert any("ReadFile" in n for n in graph) and any("WriteFile" in n for n in graph)


def test_the_savedmodel_checkpoint_ops_are_not_flagged() -> None:
    """Every SavedModel saves and restores its variables (SaveV2, RestoreV2): that is not a vector."""
    assert scan(Path(__file__).parent / "fixtures" / "models" / "tf2.15-py3.11-plain-savedmodel").vectors == []


def test_vectors_are_in_the_json_and_the_text(built: dict[str, Path]) -> None:
    index = build_index(json.loads(RESULTS.read_text()))
    for name in vectors.HOLDS:
        prediction = predict(scan(built[name]), index)
        assert {v["kind"] for v in prediction["vectors"]} >= set(vectors.HOLDS[name])
        shown = text(prediction)
        assert all(f"[{kind}]" in shown for kind in vectors.HOLDS[name]) and "no catalog pattern" not in shown


def test_scanning_a_vector_file_runs_none_of_its_payloads(built: dict[str, Path], tmp_path: Path) -> None:
    marker = tmp_path / "canary"
    shown = subprocess.run(
        [sys.executable, "-m", "runner", "scan", *map(str, built.values()), "--results", str(RESULTS), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "KC_CANARY": str(marker)},
    )
    assert shown.returncode == 0, shown.stderr
    assert len(json.loads(shown.stdout)) == len(built) and not marker.exists()


@pytest.mark.parametrize(
    ("module", "name", "flagged"),
    [
        ("builtins", "eval", True),
        ("builtins", "exec", True),
        ("builtins", "len", False),
        ("subprocess", "Popen", True),
        ("os.path", "join", True),
        ("keras.utils", "get_file", True),
        ("keras.src.utils.file_utils", "get_file", True),
        ("keras.config", "enable_unsafe_deserialization", True),
        ("keras.visualization", "plot_bounding_box_gallery", True),
        ("keras.layers", "Dense", False),
        ("keras.activations", "relu", False),
        ("tensorflow.io", "write_file", True),
        ("numpy", "load", True),
        ("numpy", "sin", False),
    ],
)
def test_functions_known_to_touch_the_system(module: str, name: str, flagged: bool) -> None:
    from runner.scan.vectors import risky

    assert (risky(module, name) is not None) == flagged


def test_paths_and_urls_in_configs() -> None:
    from runner.scan.vectors import looks_like_path, outside

    for key, value in [("vocabulary", "vocab.txt"), ("handle", "https://tfhub.dev/x/1"), ("x", "/etc/passwd"),
                       ("x", "C:\\data\\v.txt"), ("x", "../up.txt"), ("x", "gs://bucket/v.txt")]:  # fmt: skip
        assert looks_like_path(key, value), (key, value)
    for key, value in [("name", "/odd/name"), ("x", "dense/kernel"), ("x", "channels_last"), ("vocabulary", "")]:
        assert not looks_like_path(key, value), (key, value)
    assert outside("kc_payload.x") and not outside("keras.layers") and not outside("__main__")
