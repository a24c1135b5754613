"""Every config form Keras wrote, read from files real savers wrote (tests/fixtures/models/README.md).

Each test pins one defect of issue 17: list-form Sequential configs, Keras 1 Merge modes,
raw_unicode_escape bytecode, nested models, custom roots, output_shape functions, the
built-in classes of the saving version, the "saved in" row and the custom_objects advice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from runner.scan.classes import builtins_for, line_of
from runner.scan.index import build_index
from runner.scan.predict import needs, predict, saved_in, text
from runner.scan.reader import FunctionInfo, ScanError, scan

REPO = Path(__file__).resolve().parents[1]
MODELS = Path(__file__).parent / "fixtures" / "models"
RESULTS = Path(__file__).parent / "fixtures" / "results_real.json"


def _slots(functions: list[FunctionInfo]) -> list[tuple[str, str, str, str | None]]:
    return [(f.layer_class, f.slot, f.kind, f.python) for f in functions]


def test_keras1_merge_model_lists_every_stored_function() -> None:
    facts = scan(MODELS / "keras1.2.2-py3.6-merge.h5")
    assert facts.keras_version == "1.2.2" and facts.custom_classes == []  # Merge, Convolution2D: Keras 1 built-ins
    lam = "python lambda (stored bytecode)"
    assert _slots(facts.functions) == [
        ("Merge", "mode", lam, "3.6-3.7"),
        ("Merge", "output_shape", lam, "3.6-3.7"),
        ("Lambda", "function", lam, "3.6-3.7"),
    ]
    assert [f.globals for f in facts.functions] == [["scale"], [], ["offset"]]
    assert {f.encoding for f in facts.functions} == {"raw_unicode_escape"}
    assert facts.layers == 9  # the Sequential's Merge and Lambda, both branches and their layers, the Dense
    assert any("list-form Sequential" in n for n in facts.notes) and any("Keras 1" in n for n in facts.notes)


@pytest.mark.parametrize(
    ("name", "encoding"),
    [("keras2.0.8-py3.7-listform.h5", "raw_unicode_escape"), ("keras2.1.6-py3.7-listform.h5", "base64")],
)
def test_list_form_sequential_with_lambdas(name: str, encoding: str) -> None:
    facts = scan(MODELS / name)
    assert facts.layers == 4 and facts.custom_classes == []
    assert [(f.layer, f.slot, f.kind, f.function) for f in facts.functions] == [
        ("lambda_1", "function", "python lambda (stored bytecode)", None),
        ("lambda_1", "output_shape", "python lambda (stored bytecode)", None),
        ("lambda_2", "function", "python function (stored bytecode)", "double"),
    ]
    assert {f.encoding for f in facts.functions} == {encoding}
    assert [v.kind for v in facts.vectors] == ["stored_code"] * 3


def test_a_named_function_keras2_stored_as_bytecode_is_not_a_custom_object() -> None:
    """Keras 2 rebuilds `double` from the file; only the globals its code reads must be passed."""
    assert needs(scan(MODELS / "keras2.1.6-py3.7-listform.h5")) == ["scale"]


def test_lambdas_nested_in_wrappers_and_submodels() -> None:
    cases = (("keras2.2.4-py3.7-nested.h5", "Sequential"), ("tf2.21-keras3.15-py3.11-nested.keras", "Functional"))
    for name, wrapper in cases:
        facts = scan(MODELS / name)
        assert [(f.nested, f.globals) for f in facts.functions] == [(True, ["scale"]), (True, ["offset"])], name
        assert "TimeDistributed 'td'" in facts.functions[0].where
        assert f"TimeDistributed 'td_inner' > {wrapper} 'inner'" in facts.functions[1].where
        assert [v.kind for v in facts.vectors] == ["nested_stored_code", "nested_stored_code"]


def test_custom_root_classes_are_found() -> None:
    keras3 = scan(MODELS / "tf2.21-keras3.15-py3.11-subclassed.keras")
    assert keras3.root_class == "Autoencoder" and keras3.custom_classes == ["kc>Autoencoder"]
    saved = scan(MODELS / "tf2.15-py3.11-subclassed-savedmodel")
    assert saved.root_class == "Recommender" and saved.custom_classes == ["Recommender", "Shift"]
    (fn,) = saved.functions  # the Lambda is known only from keras_metadata.pb's node "root.scale"
    assert fn.where.startswith("root.scale") and fn.globals == ["scale"] and fn.python == "3.11-3.12"
    assert (saved.keras_version, saved.tf_version) == ("2.15.0", "2.15.1")


def test_a_tf23_savedmodel_is_read_from_its_object_graph() -> None:
    """Before TF 2.5 there is no keras_metadata.pb: the config is the root object's user_object.metadata."""
    path = MODELS / "tf2.3-py3.8-lambda-savedmodel"
    assert not (path / "keras_metadata.pb").exists()
    facts = scan(path)
    assert (facts.keras_version, facts.tf_version, facts.layers) == ("2.4.0", "2.3.4", 3)
    assert [(f.layer, f.globals, f.python) for f in facts.functions] == [("lambda", ["scale"], "3.8-3.10")]


def test_built_in_preprocessing_layers_are_not_custom() -> None:
    facts = scan(MODELS / "tf2.15-py3.11-preprocessing.h5")
    assert facts.custom_classes == [] and facts.vectors == [] and facts.functions == []
    assert "Keras 2.15.0" in facts.builtin_classes


def test_built_in_classes_come_from_the_saving_version() -> None:
    """Measured per version: Keras 1 names exist in 1.2.2, RandomFlip from tf.keras 2.6 on (as
    experimental.preprocessing before), nearest version when the exact one was not measured."""
    assert {"Convolution2D", "Merge"} <= builtins_for("1.2.2").names
    assert "RandomFlip" not in builtins_for("1.2.2").names and "RandomFlip" in builtins_for("2.15.0").names
    assert "CuDNNLSTM" in builtins_for("2.2.4").names  # standalone Keras 2.2.4's GPU layer
    near = builtins_for("2.2.3")
    assert near.version in ("2.2.4", "2.2.0") and not near.exact and "nearest" in near.describe()
    assert builtins_for("3.15.1").exact and builtins_for("9.9.9").version is None
    assert [line_of(v) for v in ("1.2.2", "2.3.1", "2.2.4-tf", "2.4.0", "2.16.0", "3.0.5", None)] == [
        "standalone",
        "standalone",
        "tf.keras",
        "tf.keras",
        "tf_keras",
        "keras3",
        None,
    ]


def test_compiled_lambda_loss_is_a_stored_function() -> None:
    facts = scan(MODELS / "tf2.21-keras3.15-py3.11-compile-lambda.keras")
    (fn,) = facts.functions
    assert (fn.layer_class, fn.slot, fn.globals, fn.closure) == ("compile_config", "loss", ["scale"], ["keras"])
    assert [v.kind for v in facts.vectors] == ["compile_code"]


@pytest.mark.parametrize(
    "name", ["tf2.15-py3.11-plain.h5", "tf2.15-py3.11-plain-savedmodel", "tf2.21-keras3.15-py3.11-plain.keras"]
)
def test_plain_models_have_nothing_to_report(name: str) -> None:
    facts = scan(MODELS / name)
    assert (facts.functions, facts.custom_classes, facts.vectors, facts.root_class) == ([], [], [], None)
    assert "no catalog pattern" in text(predict(facts, build_index(json.loads(RESULTS.read_text()))))


def _rows() -> list[dict]:
    def row(rid: str, flavour: str, tf: str, keras: str, python: str, tags: list[str], **env: str) -> dict:
        return dict(id=rid, flavour=flavour, tf=tf, keras=keras, python=python, tags=tags, env_vars=env)

    return [
        row("tf2.1-k2-py3.7", "keras2", "2.1.4", "2.3.0-tf", "3.7.16", ["main"]),
        row("tf2.2-k2-py3.8", "keras2", "2.2.3", "2.3.0-tf", "3.8.18", ["main"]),
        row("jax-k3.15-py3.11", "keras3", "2.21.0", "3.15.1", "3.11.7", ["backend"], KERAS_BACKEND="jax"),
        row("tf2.21-k3.15-py3.11", "keras3", "2.21.0", "3.15.1", "3.11.7", ["keras3-minor"]),
        row("tf2.21-k3.15-py3.11-docker", "keras3", "2.21.0", "3.15.1", "3.11.2", ["container"]),
        row("tf2.15-k2-py3.9", "keras2", "2.15.1", "2.15.0", "3.9.18", ["python-axis"]),
        row("tf2.15-k2-py3.11", "keras2", "2.15.1", "2.15.0", "3.11.7", ["main"]),
    ]


def test_saved_in_follows_the_recorded_keras_tf_backend_and_python() -> None:
    keras3 = scan(MODELS / "tf2.21-keras3.15-py3.11.keras")
    assert saved_in(keras3, _rows())["id"] == "tf2.21-k3.15-py3.11"  # not the JAX row, not the container
    sm = scan(MODELS / "tf2.15-py3.11-subclassed-savedmodel")
    assert saved_in(sm, _rows())["id"] == "tf2.15-k2-py3.11"  # its bytecode is 3.11's: not the py3.9 row
    tf22 = replace(scan(MODELS / "tf2.15-py3.11-plain-savedmodel"), keras_version="2.3.0-tf", tf_version="2.2.0")
    assert saved_in(tf22, _rows())["id"] == "tf2.2-k2-py3.8"  # the recorded TF, not the first 2.3.0-tf row
    assert saved_in(scan(MODELS / "keras2.2.4-py3.7-nested.h5"), _rows()) is None  # standalone: no row
    assert saved_in(keras3, [{"id": "x", "flavour": "keras3", "keras": "3.15.1", "tags": []}])["id"] == "x"


def test_several_files_in_one_call_and_bad_ones_are_one_line_each(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    shown = subprocess.run(
        [sys.executable, "-m", "runner", "scan", str(MODELS / "keras2.1.6-py3.7-listform.h5"),
         str(tmp_path / "notes.txt"), str(MODELS / "lfs-pointer.h5"), str(MODELS / "tf2.15-py3.11-plain.h5"),
         "--results", str(RESULTS), "--json"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ},
    )  # fmt: skip
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    errors = shown.stderr.strip().splitlines()
    assert len(errors) == 2 and "not a Keras model" in errors[0] and "git lfs pull" in errors[1]
    found = json.loads(shown.stdout)
    assert [Path(p["model"]["path"]).name for p in found] == ["keras2.1.6-py3.7-listform.h5", "tf2.15-py3.11-plain.h5"]


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("lfs-pointer.h5", "a Git LFS pointer, not the file itself (the repository stores it in LFS): run `git lfs"),
        ("lfs-pointer-savedmodel", "saved_model.pb: a Git LFS pointer"),
        ("truncated-savedmodel", "saved_model.pb is not a valid protobuf (field 2 at byte 2 claims"),
        ("text-metadata-savedmodel", "keras_metadata.pb is not a valid protobuf"),
    ],
)
def test_damaged_files_are_one_line_errors(name: str, needle: str) -> None:
    with pytest.raises(ScanError) as caught:
        scan(MODELS / name)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_damaged_json_inside_a_valid_container_is_one_line(tmp_path: Path) -> None:
    """A keras_metadata.pb that parses as protobuf but whose metadata is not JSON; an h5 model_config that is not."""
    import h5py

    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    saved = tmp_path / "sm"
    saved.mkdir()
    (saved / "saved_model.pb").write_bytes((MODELS / "tf2.15-py3.11-plain-savedmodel" / "saved_model.pb").read_bytes())
    (saved / "keras_metadata.pb").write_bytes(field(1, field(3, b"root") + field(5, b'{"class_name": "Fun')))
    with pytest.raises(ScanError, match="keras_metadata.pb node 'root' metadata holds damaged JSON"):
        scan(saved)
    h5 = tmp_path / "m.h5"
    with h5py.File(h5, "w") as f:
        f.attrs["model_config"] = b'{"class_name": "Sequential", "config": ['
    with pytest.raises(ScanError, match="model_config holds damaged JSON"):
        scan(h5)
