"""Read a saved Keras model's stored config and versions without running anything from it.

No ``load_model``, no TensorFlow or Keras import, no unpickling, no ``marshal.loads``:
the HDF5 attributes are read with h5py, a ``.keras`` file with zipfile and json, a
SavedModel's protobufs with a small wire-format reader, and stored lambdas with
:mod:`runner.scan.bytecode`. Bad input is a :class:`ScanError` (one line, exit code 2).
"""

from __future__ import annotations

import builtins
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.core.errors import KerasCompatError

from .bytecode import Unreadable, stored_code

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
BUILTIN_NAMES = frozenset(dir(builtins))


class ScanError(KerasCompatError):
    exit_code = 2


@dataclass
class LambdaInfo:
    layer: str
    kind: str  # "python lambda (stored bytecode)", "named function", "registered object", "unknown"
    function: str | None  # the function's name for a named function or registered object
    globals: list[str] | None  # names the stored code reads and does not define; None: unknown
    builtins: list[str] = field(default_factory=list)
    closure: list[str] | None = None
    python: str | None = None  # CPython versions the stored bytecode is from
    note: str = ""


@dataclass
class ModelFacts:
    path: str
    format: str  # h5, keras (zip), keras_h5 (HDF5 under a .keras name), savedmodel
    keras_version: str | None
    tf_version: str | None
    backend: str | None
    layers: int
    lambdas: list[LambdaInfo]
    custom_classes: list[str]
    hub_layers: list[str]
    notes: list[str] = field(default_factory=list)


# Layer and model classes Keras ships (Keras 2 configs name a class without its module).
_BUILTIN_CLASSES = frozenset(
    """Model Functional Sequential InputLayer Dense Lambda Activation Dropout Flatten Reshape Permute RepeatVector
    Conv1D Conv2D Conv3D SeparableConv1D SeparableConv2D DepthwiseConv2D Conv2DTranspose Conv3DTranspose
    MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D GlobalMaxPooling1D
    GlobalMaxPooling2D GlobalAveragePooling1D GlobalAveragePooling2D BatchNormalization LayerNormalization
    Embedding LSTM GRU SimpleRNN Bidirectional TimeDistributed RNN LSTMCell GRUCell SimpleRNNCell Add Subtract
    Multiply Average Maximum Minimum Concatenate Dot Masking ZeroPadding1D ZeroPadding2D UpSampling1D UpSampling2D
    Cropping1D Cropping2D MultiHeadAttention Attention AdditiveAttention LeakyReLU PReLU ELU ReLU Softmax
    ThresholdedReLU GaussianNoise GaussianDropout AlphaDropout SpatialDropout1D SpatialDropout2D Rescaling
    Normalization TextVectorization StringLookup IntegerLookup CategoryEncoding Hashing Resizing CenterCrop
    UnitNormalization Identity EinsumDense TFOpLambda SlicingOpLambda TFSMLayer""".split()
)


def _h5_attrs(path: Path) -> dict[str, Any]:
    import h5py  # reads attributes only; nothing in the file is executed

    try:
        with h5py.File(path, "r") as f:
            return {k: (v.decode("utf-8") if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    except OSError as exc:
        raise ScanError(f"{path}: not a readable HDF5 file ({exc}); is it truncated?") from None


def _wire(buf: bytes) -> list[tuple[int, int, Any]]:
    """Protocol buffer wire format: ``(field, wire type, value)``; length-delimited values stay bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0

    def varint() -> int:
        nonlocal pos
        value, shift = 0, 0
        while True:
            if pos >= len(buf):
                raise ScanError("truncated protobuf")
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(buf):
        key = varint()
        number, kind = key >> 3, key & 7
        if kind == 0:
            out.append((number, kind, varint()))
        elif kind == 2:
            n = varint()
            out.append((number, kind, buf[pos : pos + n]))
            pos += n
        elif kind == 1:
            out.append((number, kind, buf[pos : pos + 8]))
            pos += 8
        elif kind == 5:
            out.append((number, kind, buf[pos : pos + 4]))
            pos += 4
        else:
            raise ScanError(f"unsupported protobuf wire type {kind}")
    return out


def _savedmodel(path: Path) -> tuple[dict | None, str | None, str | None, list[str]]:
    """(model config, keras version, tf version, notes) of a SavedModel directory.

    The Keras config is in ``keras_metadata.pb`` (TF 2.5+ Keras 2) or, before that, in the
    root object's ``user_object.metadata`` inside ``saved_model.pb``. Keras 3's ``export()``
    and ``tf.saved_model.save`` store no Keras config at all.
    """
    notes: list[str] = []
    tf_version, root_meta = None, None
    for number, _, meta_graph in _wire((path / "saved_model.pb").read_bytes()):
        if number != 2:  # SavedModel.meta_graphs
            continue
        for n2, _, part in _wire(meta_graph):
            if n2 == 1:  # MetaInfoDef: tensorflow_version = 5
                tf_version = next((v.decode() for n3, _, v in _wire(part) if n3 == 5), tf_version)
            elif n2 == 7 and root_meta is None:  # SavedObjectGraph: nodes = 1, the root first
                root = next((v for n3, _, v in _wire(part) if n3 == 1), b"")
                user = next((v for n4, _, v in _wire(root) if n4 == 4), b"")  # SavedObject.user_object
                fields = {n5: v for n5, _, v in _wire(user)}
                if fields.get(1, b"").startswith(b"_tf_keras_") and fields.get(3):
                    root_meta = json.loads(fields[3])
        break
    metadata = path / "keras_metadata.pb"
    if metadata.exists():
        for number, _, node in _wire(metadata.read_bytes()):
            fields = {n: v for n, _, v in _wire(node)} if number == 1 else {}
            if fields.get(3) == b"root":
                root_meta = json.loads(fields.get(5, b"{}"))
                break
    if root_meta is None:
        notes.append(
            "no Keras config: an exported graph (tf.saved_model.save / Keras 3 export()); loading it "
            "restores TF functions, not Python code stored by Keras"
        )
        return None, None, tf_version, notes
    config = {"class_name": root_meta.get("class_name"), "config": root_meta.get("config")}
    return config, root_meta.get("keras_version"), tf_version, notes


def read_config(path: Path) -> tuple[str, dict | None, dict[str, Any], list[str]]:
    """(format, model config, versions, notes) of the model at ``path``."""
    if not path.exists():
        raise ScanError(f"{path}: no such file or directory")
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise ScanError(
                f"{path}: a directory without saved_model.pb is not a SavedModel; pass a .h5, .keras or SavedModel path"
            )
        config, keras_version, tf_version, notes = _savedmodel(path)
        return "savedmodel", config, {"keras": keras_version, "tf": tf_version, "backend": None}, notes
    head = path.read_bytes()[:8]
    if head.startswith(HDF5_MAGIC):
        attrs = _h5_attrs(path)
        if "model_config" not in attrs:
            raise ScanError(
                f"{path}: HDF5 without a model config (a weights-only file?); it holds no model to scan, "
                "rebuild the model from code and load_weights() it"
            )
        fmt = "keras_h5" if path.suffix == ".keras" else "h5"
        notes = (
            [
                "an HDF5 file under a .keras name (Keras 2 wrote it): Keras 3 refuses it as a .keras zip; "
                "rename it to .h5"
            ]
            if fmt == "keras_h5"
            else []
        )
        versions = {"keras": attrs.get("keras_version"), "tf": None, "backend": attrs.get("backend")}
        return fmt, json.loads(attrs["model_config"]), versions, notes
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                if "config.json" not in names:
                    raise ScanError(f"{path}: a zip without config.json is not a .keras model")
                config = json.loads(z.read("config.json"))
                meta = json.loads(z.read("metadata.json")) if "metadata.json" in names else {}
        except zipfile.BadZipFile as exc:
            raise ScanError(f"{path}: a truncated or corrupt zip ({exc}); save the model again") from None
        return "keras", config, {"keras": meta.get("keras_version"), "tf": None, "backend": None}, []
    raise ScanError(f"{path}: not a Keras model (neither HDF5, a .keras zip nor a SavedModel directory)")


def _layers(node: Any) -> list[dict]:
    """Every layer config in a model config (the items of its ``layers`` lists), nested models included."""
    out: list[dict] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "layers" and isinstance(value, list):
                layers = [v for v in value if isinstance(v, dict) and "class_name" in v]
                out += layers
                for layer in layers:
                    out += _layers(layer.get("config"))
            elif isinstance(value, dict | list):
                out += _layers(value)
    elif isinstance(node, list):
        for value in node:
            out += _layers(value)
    return out


def _lambda(layer: dict) -> LambdaInfo:
    config = layer["config"]
    name = str(config.get("name", "?"))
    function = config.get("function")
    encoded = None
    if isinstance(function, dict) and function.get("class_name") == "__tuple__":  # Keras 2 in a SavedModel
        function = function.get("items")
    if config.get("function_type") == "lambda" and isinstance(function, list) and function:  # Keras 2
        encoded = function[0]
    elif isinstance(function, dict) and function.get("class_name") == "__lambda__":  # Keras 3
        encoded = (function.get("config") or {}).get("code")
    elif isinstance(function, dict):  # Keras 3: a named function or a registered object
        kind = "named function" if function.get("class_name") == "function" else "registered object"
        return LambdaInfo(name, kind, str(function.get("config")), None, note="looked up by name when loading")
    elif isinstance(function, str):  # Keras 2 function_type "function"
        return LambdaInfo(
            name,
            "named function",
            function,
            None,
            note=f"looked up by name in module {config.get('module')!r} when loading",
        )
    if not isinstance(encoded, str):
        return LambdaInfo(name, "unknown", None, None, note="the stored function has an unknown form")
    try:
        code = stored_code(encoded)
    except Unreadable as exc:
        return LambdaInfo(
            name,
            "python lambda (stored bytecode)",
            None,
            None,
            note=f"bytecode not readable here ({exc}): free names unknown",
        )
    kind = "python lambda (stored bytecode)" if code.name == "<lambda>" else "python function (stored bytecode)"
    return LambdaInfo(
        name,
        kind,
        None if code.name == "<lambda>" else code.name,
        globals=[n for n in code.globals if n not in BUILTIN_NAMES],
        builtins=[n for n in code.globals if n in BUILTIN_NAMES],
        closure=list(code.freevars),
        python=code.python,
    )


def scan(path: Path) -> ModelFacts:
    fmt, config, versions, notes = read_config(path)
    layers = _layers(config) if config else []
    lambdas = [_lambda(layer) for layer in layers if layer["class_name"] == "Lambda"]
    custom = sorted(
        {
            layer["class_name"]
            for layer in layers
            if layer["class_name"] not in _BUILTIN_CLASSES
            and layer["class_name"] != "KerasLayer"
            and (layer.get("module") in (None, "") or not str(layer.get("module")).startswith("keras"))
        }
    )
    hub = [
        str(layer["config"].get("handle") or layer["config"].get("name"))
        for layer in layers
        if layer["class_name"] == "KerasLayer"
    ]
    return ModelFacts(
        str(path),
        fmt,
        versions.get("keras"),
        versions.get("tf"),
        versions.get("backend"),
        len(layers),
        lambdas,
        custom,
        hub,
        notes,
    )
