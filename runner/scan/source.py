"""The container of a saved model, read as data: which format, its config, its versions, what it holds.

An HDF5 file's attributes (h5py), a ``.keras`` zip's members (zipfile, json; every member checked
by runner.scan.archive), a SavedModel's protobufs (runner.scan.savedmodel). A Git LFS pointer, a
damaged container or damaged JSON is a :class:`ScanError`: one line, exit code 2.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.core.errors import KerasCompatError

from . import archive, savedmodel
from .vectors import Vector

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
LFS_MAGIC = b"version https://git-lfs.github.com/spec/"
_SMALL = 1024  # an LFS pointer is ~130 bytes; only files this small are opened to check for one


class ScanError(KerasCompatError):
    exit_code = 2


@dataclass(kw_only=True)
class Source:
    """What :func:`read_source` takes from the container: the config and everything around it."""

    format: str
    config: dict | None
    compile: list[tuple[str, Any]] = field(default_factory=list)  # ("compile_config" | "training_config", dict)
    keras_version: str | None = None
    tf_version: str | None = None
    backend: str | None = None
    nodes: list[tuple[str, dict]] = field(default_factory=list)  # SavedModel layer nodes (subclassed models)
    vectors: list[Vector] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _lfs(path: Path, head: bytes) -> None:
    if head.startswith(LFS_MAGIC):
        raise ScanError(
            f"{path}: a Git LFS pointer, not the file itself (the repository stores it in LFS): run `git lfs pull`"
        )


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value.item() if hasattr(value, "item") and getattr(value, "shape", None) == () else value


def _json(raw: Any, where: str) -> Any:
    try:
        return json.loads(_text(raw))
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ScanError(f"{where} holds damaged JSON ({type(exc).__name__}: {exc}); save the model again") from None


def _h5(path: Path) -> Source:
    import h5py  # reads attributes only; nothing in the file is executed

    try:
        with h5py.File(path, "r") as f:
            attrs = {k: f.attrs[k] for k in f.attrs.keys()}
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ScanError(f"{path}: not a readable HDF5 file ({exc}); is it truncated?") from None
    if "model_config" not in attrs:
        raise ScanError(
            f"{path}: HDF5 without a model config (a weights-only file?); it holds no model to scan, "
            "rebuild the model from code and load_weights() it"
        )
    fmt = "keras_h5" if path.suffix == ".keras" else "h5"
    root = _json(attrs["model_config"], f"{path}: model_config")
    src = Source(format=fmt, config=root if isinstance(root, dict) else None)
    if "training_config" in attrs:
        src.compile.append(("training_config", _json(attrs["training_config"], f"{path}: training_config")))
    versions = {k: _text(attrs.get(k)) for k in ("keras_version", "backend")}
    src.keras_version = versions["keras_version"] if isinstance(versions["keras_version"], str) else None
    src.backend = versions["backend"] if isinstance(versions["backend"], str) else None
    if fmt == "keras_h5":
        src.vectors.append(
            Vector(
                kind="hdf5_as_keras",
                where=path.name,
                note="an HDF5 file under a .keras name (TF <= 2.12 wrote it): TF 2.13-2.15 and tf-keras route "
                "it to the legacy HDF5 loader, where stored Lambda code runs without a safe_mode check; "
                "Keras 3 refuses it as a .keras zip (rename it to .h5)",
            )
        )
    return src


def _zip(path: Path) -> Source:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if "config.json" not in names:
                raise ScanError(f"{path}: a zip without config.json is not a .keras model")
            root = _json(z.read("config.json"), f"{path}: config.json")
            meta = _json(z.read("metadata.json"), f"{path}: metadata.json") if "metadata.json" in names else {}
            notes: list[str] = []
            vectors = archive.scan_archive(z, notes)
    except zipfile.BadZipFile as exc:
        raise ScanError(f"{path}: a truncated or corrupt zip ({exc}); save the model again") from None
    except (OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ScanError(
            f"{path}: a zip that cannot be read ({type(exc).__name__}: {exc}); save the model again"
        ) from None
    if not isinstance(root, dict):
        raise ScanError(f"{path}: config.json is not a Keras model config (a {type(root).__name__})")
    src = Source(format="keras", config=root, vectors=vectors, notes=notes)
    if isinstance(root.get("compile_config"), dict):
        src.compile.append(("compile_config", root["compile_config"]))
    meta = meta if isinstance(meta, dict) else {}
    version = meta.get("keras_version")
    src.keras_version = version if isinstance(version, str) else None
    return src


def _savedmodel(path: Path) -> Source:
    pb = path / "saved_model.pb"
    if not pb.is_file():
        raise ScanError(
            f"{path}: a directory without saved_model.pb is not a SavedModel; pass a .h5, .keras or SavedModel path"
        )
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        if file.stat().st_size < _SMALL:
            _lfs(file, file.read_bytes()[: len(LFS_MAGIC)])
    metadata = path / "keras_metadata.pb"
    try:
        facts = savedmodel.read(pb.read_bytes(), metadata.read_bytes() if metadata.is_file() else None)
    except savedmodel.SavedModelError as exc:
        raise ScanError(f"{path}: {exc}; the SavedModel is damaged, save or copy it again") from None
    src = Source(
        format="savedmodel",
        config=facts.config,
        keras_version=facts.keras_version,
        tf_version=facts.tf_version,
        backend=facts.backend,
        nodes=facts.nodes,
        vectors=facts.vectors,
        notes=facts.notes,
    )
    if facts.training_config:
        src.compile.append(("training_config", facts.training_config))
    # The model's own files are protobufs and checkpoints; anything else (assets/, extra files) is
    # checked for pickles, which TF never unpickles but code that loads the asset might.
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel in ("saved_model.pb", "keras_metadata.pb", "fingerprint.pb") or rel.startswith("variables/"):
            continue
        with file.open("rb") as f:
            data = f.read(archive.READ_LIMIT)
        src.vectors += archive.scan_bytes(data, rel, rel, src.notes)
    return src


def read_source(path: Path) -> Source:
    """The container read as data: which format, the config, the versions and what the container holds."""
    if not path.exists():
        raise ScanError(f"{path}: no such file or directory")
    if path.is_dir():
        return _savedmodel(path)
    try:
        with path.open("rb") as f:
            head = f.read(len(LFS_MAGIC))
    except OSError as exc:
        raise ScanError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    _lfs(path, head)
    if head.startswith(HDF5_MAGIC):
        return _h5(path)
    if head.startswith(ZIP_MAGIC):
        return _zip(path)
    if path.name == "saved_model.pb" or path.suffix == ".pb":
        raise ScanError(f"{path}: a protobuf file; pass the SavedModel directory that holds it")
    raise ScanError(f"{path}: not a Keras model (neither HDF5, a .keras zip nor a SavedModel directory)")
