"""A SavedModel directory, read as data with the wire reader (runner.scan.wire).

Field numbers are TensorFlow's (tensorflow/core/protobuf/saved_model.proto, meta_graph.proto,
saved_object_graph.proto, framework/graph.proto, function.proto) and Keras's
(keras/protobuf/saved_metadata.proto):

* ``SavedModel.meta_graphs = 2``; ``MetaGraphDef``: ``meta_info_def = 1`` (``tensorflow_version = 5``),
  ``graph_def = 2``, ``object_graph_def = 7``;
* ``GraphDef``: ``node = 1`` and ``library = 2`` (``FunctionDefLibrary.function = 1``; ``FunctionDef``:
  ``signature = 1`` whose ``name = 1``, ``node_def = 3``); ``NodeDef``: ``name = 1``, ``op = 2``;
* ``SavedObjectGraph.nodes = 1``; ``SavedObject.user_object = 4``; ``SavedUserObject``: ``identifier = 1``,
  ``metadata = 3`` (the Keras config before TF 2.5);
* ``keras_metadata.pb`` (TF 2.5+ Keras 2): ``SavedMetadata.nodes = 1``; ``SavedObject``: ``node_path = 3``,
  ``identifier = 4``, ``metadata = 5``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import wire
from .vectors import Vector

# Graph ops that reach the file system when a function runs. The checkpoint ops (SaveV2, RestoreV2,
# MergeV2Checkpoints) are in every SavedModel's own save/restore functions and count only elsewhere.
FILE_OPS = {
    "ReadFile": "reads a file",
    "WriteFile": "writes a file",
    "MatchingFiles": "lists files matching a pattern",
    "ImmutableConst": "maps a file into memory",
    "InitializeTableFromTextFile": "reads a text file into a lookup table",
    "InitializeTableFromTextFileV2": "reads a text file into a lookup table",
    "LoadAndRemapMatrix": "reads a checkpoint file",
    "WholeFileReader": "reads whole files",
    "WholeFileReaderV2": "reads whole files",
    "TextLineReader": "reads text files",
    "TextLineReaderV2": "reads text files",
    "TFRecordReader": "reads TFRecord files",
    "TFRecordReaderV2": "reads TFRecord files",
    "FixedLengthRecordReader": "reads files",
    "FixedLengthRecordReaderV2": "reads files",
    "TFRecordDataset": "reads TFRecord files",
    "TFRecordDatasetV2": "reads TFRecord files",
    "TextLineDataset": "reads text files",
    "FixedLengthRecordDataset": "reads files",
    "FixedLengthRecordDatasetV2": "reads files",
    "CSVDataset": "reads CSV files",
    "CSVDatasetV2": "reads CSV files",
    "ExperimentalCSVDataset": "reads CSV files",
    "SqlDataset": "opens a database",
    "ExperimentalSqlDataset": "opens a database",
    "LMDBDataset": "reads an LMDB file",
    "ExperimentalLMDBDataset": "reads an LMDB file",
    "SaveDataset": "writes a dataset to files",
    "SaveDatasetV2": "writes a dataset to files",
    "LoadDataset": "reads a dataset from files",
    "SnapshotDataset": "writes and reads snapshot files",
    "SnapshotDatasetV2": "writes and reads snapshot files",
    "CacheDatasetV2": "writes a cache file",
    "CreateSummaryFileWriter": "writes event files",
    "WriteSummary": "writes event files",
    "WriteScalarSummary": "writes event files",
    "WriteRawProtoSummary": "writes event files",
    "DebugIdentityV2": "writes debug dumps",
    "Save": "writes a checkpoint",
    "SaveSlices": "writes a checkpoint",
    "SaveV2": "writes a checkpoint",
    "Restore": "reads a checkpoint",
    "RestoreSlice": "reads a checkpoint",
    "RestoreV2": "reads a checkpoint",
    "MergeV2Checkpoints": "writes a checkpoint",
}
_CHECKPOINT_OPS = {"SaveV2", "RestoreV2", "MergeV2Checkpoints", "Save", "SaveSlices", "Restore", "RestoreSlice"}
# Where TF puts the model's own checkpointing: TF1 "save/" scopes, TF2 traced save/restore functions.
_SAVER = re.compile(r"(^save(_\d+)?/)|(_traced_save_|_traced_restore_)")
PY_FUNC_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
_KERAS_OBJECTS = re.compile(r"^_tf_keras_(layer|network|model|sequential|input_layer|rnn_layer)$")


class SavedModelError(ValueError):
    """A SavedModel file that is not what it should be (raised with a one-line reason)."""


@dataclass(kw_only=True)
class SavedModelFacts:
    config: dict | None = None  # the root's {"class_name", "config"}
    training_config: dict | None = None
    keras_version: str | None = None
    tf_version: str | None = None
    backend: str | None = None
    nodes: list[tuple[str, dict]] = field(default_factory=list)  # (object path, metadata) of every Keras layer
    vectors: list[Vector] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _json(raw: bytes, where: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise SavedModelError(f"{where} holds damaged JSON ({exc})") from None


def _message(raw: bytes, where: str) -> list[tuple[int, int, int | bytes]]:
    try:
        return wire.message(raw)
    except wire.WireError as exc:
        raise SavedModelError(f"{where} is not a valid protobuf ({exc})") from None


def _sub(fields: list[tuple[int, int, int | bytes]], number: int) -> list[bytes]:
    return [v for n, k, v in fields if n == number and k == 2 and isinstance(v, bytes)]


def _graph_ops(graph_def: bytes, where: str) -> list[tuple[str, str, str]]:
    """``(function or "graph", node name, op)`` of every node in a GraphDef and its function library."""
    out = []
    graph = _message(graph_def, f"{where} graph_def")
    for node in _sub(graph, 1):
        fields = _message(node, f"{where} graph node")
        name, op = (_sub(fields, 1) or [b""])[0], (_sub(fields, 2) or [b""])[0]
        out.append(("graph", name.decode("utf-8", "replace"), op.decode("utf-8", "replace")))
    for library in _sub(graph, 2):
        for function in _sub(_message(library, f"{where} function library"), 1):
            fields = _message(function, f"{where} function")
            signature = (_sub(fields, 1) or [b""])[0]
            fname = (_sub(_message(signature, f"{where} function signature"), 1) or [b""])[0].decode("utf-8", "replace")
            for node in _sub(fields, 3):
                nfields = _message(node, f"{where} function node")
                name, op = (_sub(nfields, 1) or [b""])[0], (_sub(nfields, 2) or [b""])[0]
                out.append((fname, name.decode("utf-8", "replace"), op.decode("utf-8", "replace")))
    return out


def graph_vectors(ops: list[tuple[str, str, str]]) -> list[Vector]:
    found: dict[tuple[str, str], list[str]] = {}
    for function, node, op in ops:
        if op in _CHECKPOINT_OPS and (_SAVER.search(function) or _SAVER.search(node)):
            continue
        if op in FILE_OPS or op in PY_FUNC_OPS:
            found.setdefault((op, function), []).append(node)
    out = []
    for (op, function), nodes in sorted(found.items()):
        where = f"saved_model.pb: {'graph' if function == 'graph' else 'function ' + function}, node {nodes[0]}"
        where += f" (and {len(nodes) - 1} more)" if len(nodes) > 1 else ""
        if op in PY_FUNC_OPS:
            note = f"{op} calls back into a Python function of the saving process (not stored in the file)"
            out.append(Vector(kind="graph_py_func", where=where, note=note))
        else:
            out.append(Vector(kind="graph_file_op", where=where, note=f"{op} {FILE_OPS[op]} when the function runs"))
    return out


def read(saved_model: bytes, metadata: bytes | None) -> SavedModelFacts:
    """The Keras config, versions, layer nodes and graph vectors of a SavedModel's two protobufs."""
    facts = SavedModelFacts()
    root_meta: dict | None = None
    for meta_graph in _sub(_message(saved_model, "saved_model.pb"), 2)[:1]:
        parts = _message(meta_graph, "saved_model.pb meta_graph")
        for info in _sub(parts, 1):
            tf = _sub(_message(info, "saved_model.pb meta_info_def"), 5)
            facts.tf_version = tf[0].decode("utf-8", "replace") if tf else None
        for graph_def in _sub(parts, 2):
            facts.vectors += graph_vectors(_graph_ops(graph_def, "saved_model.pb"))
        for object_graph in _sub(parts, 7):
            for i, node in enumerate(_sub(_message(object_graph, "saved_model.pb object graph"), 1)):
                user = _sub(_message(node, "saved_model.pb object"), 4)
                if not user:
                    continue
                ufields = _message(user[0], "saved_model.pb user object")
                identifier = (_sub(ufields, 1) or [b""])[0].decode("utf-8", "replace")
                raw = (_sub(ufields, 3) or [b""])[0]
                if not _KERAS_OBJECTS.match(identifier) or not raw:
                    continue
                meta = _json(raw, "saved_model.pb user object metadata")
                if not isinstance(meta, dict):
                    continue
                if i == 0:
                    root_meta = meta
                else:
                    facts.nodes.append((f"node {i}", meta))
    if metadata is not None:  # TF 2.5+ moved the Keras metadata here; it wins over the object graph's
        nodes: list[tuple[str, dict]] = []
        for raw_node in _sub(_message(metadata, "keras_metadata.pb"), 1):
            fields = _message(raw_node, "keras_metadata.pb node")
            node_path = (_sub(fields, 3) or [b""])[0].decode("utf-8", "replace")
            identifier = (_sub(fields, 4) or [b""])[0].decode("utf-8", "replace")
            raw = (_sub(fields, 5) or [b""])[0]
            if not raw or (identifier and not _KERAS_OBJECTS.match(identifier)):
                continue
            meta = _json(raw, f"keras_metadata.pb node {node_path!r} metadata")
            if not isinstance(meta, dict):
                continue
            if node_path == "root":
                root_meta = meta
            else:
                nodes.append((node_path, meta))
        facts.nodes = nodes
    if root_meta is None:
        facts.notes.append(
            "no Keras config: an exported graph (tf.saved_model.save / Keras 3 export()); loading it "
            "restores TF functions, not Python code stored by Keras"
        )
        facts.nodes = []
        return facts
    config = root_meta.get("config")
    facts.config = {"class_name": root_meta.get("class_name"), "config": config if config is not None else {}}
    training = root_meta.get("training_config")
    facts.training_config = training if isinstance(training, dict) else None
    version = root_meta.get("keras_version")
    facts.keras_version = version if isinstance(version, str) else None
    backend = root_meta.get("backend")
    facts.backend = backend if isinstance(backend, str) else None
    return facts
