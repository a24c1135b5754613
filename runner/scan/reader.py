"""Read a saved Keras model's stored config and versions without running anything from it.

No ``load_model``, no TensorFlow or Keras import, no unpickling, no ``marshal.loads``:
the HDF5 attributes are read with h5py, a ``.keras`` file with zipfile and json, a
SavedModel's protobufs with a small wire-format reader (runner.scan.wire), stored
functions with runner.scan.bytecode, pickles by their opcodes (runner.scan.pickles). Bad
input is a :class:`ScanError`: one line on stderr, exit code 2, never a traceback.

A scan is a pipeline of steps, each testable alone: :func:`read_source` (runner.scan.source:
the bytes: format, config, compile config, versions, what the container itself holds), :func:`model_layers`
(every layer, nested and root included), :func:`stored_functions` (every function a load
deserializes), :func:`classes` (custom ones, judged against the saving Keras's own list)
and :func:`config_vectors` (what in the config reaches outside the file).
"""

from __future__ import annotations

import builtins
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config
from .bytecode import Unreadable, stored_code
from .classes import Builtins, builtins_for, line_of
from .source import ScanError, Source, read_source
from .vectors import KERAS_PACKAGES, Vector, looks_like_path, outside, risky

__all__ = ["FunctionInfo", "ModelFacts", "ScanError", "Source", "read_source", "scan"]
BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True, kw_only=True)
class FunctionInfo:
    """One stored function: a Lambda's function/output_shape/mask, a Keras 1 Merge mode, a compiled loss."""

    layer: str  # the layer's name, or "compile_config" / "training_config"
    layer_class: str
    slot: str
    where: str
    nested: bool  # inside a wrapper, a submodel or a Merge branch
    kind: str  # "python lambda (stored bytecode)", "python function (stored bytecode)", "named function",
    # "registered object", "unknown"
    function: str | None  # the function's name for a named function, stored named function or registered object
    globals: list[str] | None  # names the stored code reads and does not define; None: unknown
    builtins: list[str] = field(default_factory=list)
    closure: list[str] | None = None
    python: str | None = None  # CPython versions the stored bytecode is from
    encoding: str | None = None  # base64, raw_unicode_escape
    windows: bool = False  # saved on Windows: the stored bytes are corrupted
    module: str | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class ModelFacts:
    path: str
    format: str  # h5, keras (zip), keras_h5 (HDF5 under a .keras name), savedmodel
    keras_version: str | None
    tf_version: str | None
    backend: str | None
    layers: int
    functions: list[FunctionInfo]
    custom_classes: list[str]
    root_class: str | None  # the root's class when it is custom (a subclassed Model saved whole)
    hub_layers: list[str]
    vectors: list[Vector]
    builtin_classes: str  # which measured Keras version's built-in classes the file was judged against
    notes: list[str] = field(default_factory=list)


def model_layers(src: Source) -> list[config.LayerRef]:
    """The root and every layer under it; for a SavedModel whose root config lists no layers (a subclassed
    model), the Keras layer nodes of its object graph."""
    refs = config.layers(src.config) if src.config else []
    if refs and not any(r.depth > 0 for r in refs) and src.nodes:
        for node_path, meta in src.nodes:
            if isinstance(meta.get("class_name"), str):
                node = {"class_name": meta["class_name"], "config": meta.get("config") or {"name": meta.get("name")}}
                depth = node_path.count(".")
                for ref in config.layers(node):
                    refs.append(
                        config.LayerRef(
                            class_name=ref.class_name,
                            name=ref.name,
                            module=ref.module,
                            registered_name=ref.registered_name,
                            where=f"{node_path} {ref.where}",
                            depth=ref.depth + max(depth, 1),
                            config=ref.config,
                            keras3_style=ref.keras3_style,
                        )
                    )
    return refs


def stored_functions(src: Source, refs: list[config.LayerRef]) -> list[config.StoredFunction]:
    found: list[config.StoredFunction] = []
    for ref in refs:
        found += config.functions_in(config.own_items(ref.config, ref.where), ref)
    for name, compiled in src.compile:
        found += config.functions_in(config.own_items(compiled, name), None)
    for ref in refs:
        if config.lambda_without_function(ref, found):
            found.append(
                config.StoredFunction(layer=ref, slot="function", where=f"{ref.where}.function", form="unknown")
            )
    return found


def _decoded(fn: config.StoredFunction) -> FunctionInfo:
    layer = fn.layer
    base: dict[str, Any] = {
        "layer": layer.name if layer else fn.where.split(".")[0],
        "layer_class": layer.class_name if layer else fn.where.split(".")[0],
        "slot": fn.slot,
        "where": fn.where,
        "nested": bool(layer and layer.depth >= 2),
        "module": fn.module,
    }
    if fn.form == "named":
        lookup = f"looked up by name (module {fn.module!r})" if fn.module else "looked up by name"
        return FunctionInfo(
            **base, kind="named function", function=fn.name, globals=None, note=f"{lookup} when loading"
        )
    if fn.form == "registered":
        return FunctionInfo(
            **base, kind="registered object", function=fn.name, globals=None, note="looked up by name when loading"
        )
    if fn.encoded is None:
        return FunctionInfo(
            **base, kind="unknown", function=None, globals=None, note="the stored function has an unknown form"
        )
    try:
        code = stored_code(fn.encoded)
    except Unreadable as exc:
        return FunctionInfo(
            **base,
            kind="python lambda (stored bytecode)",
            function=None,
            globals=None,
            note=f"bytecode not readable here ({exc}): free names unknown",
        )
    named = code.name != "<lambda>"
    note = (
        "saved on Windows: this stored code cannot run anywhere; rebuild and load weights "
        "(func_dump replaced its backslash bytes with '/')"
        if code.windows
        else ""
    )
    return FunctionInfo(
        **base,
        kind="python function (stored bytecode)" if named else "python lambda (stored bytecode)",
        function=code.name if named else None,
        globals=[n for n in code.globals if n not in BUILTIN_NAMES],
        builtins=[n for n in code.globals if n in BUILTIN_NAMES],
        closure=list(code.freevars),
        python=code.python,
        encoding=code.encoding,
        windows=code.windows,
        note=note,
    )


def _builtin(ref: config.LayerRef, known: Builtins) -> bool:
    if ref.keras3_style and ref.module:  # Keras 3 / tf.keras 2.13+ .keras: the module says where it comes from
        return ref.module.split(".")[0] in KERAS_PACKAGES
    return ref.class_name in known.names


def classes(refs: list[config.LayerRef], known: Builtins) -> tuple[list[str], str | None, list[str]]:
    """(custom classes, the root's class when custom, hub handles)."""
    custom, hub = [], []
    root = None
    for ref in refs:
        if ref.class_name == "KerasLayer":
            cfg = ref.config if isinstance(ref.config, dict) else {}
            hub.append(str(cfg.get("handle") or ref.name))
        elif not _builtin(ref, known):
            custom.append(ref.registered_name if ref.registered_name and ref.keras3_style else ref.class_name)
            if ref.depth == 0:
                root = ref.class_name
    return sorted(set(custom)), root, hub


def _module_refs(src: Source, refs: list[config.LayerRef]) -> list[tuple[str, str, str]]:
    """(where, module, name) of every module a config names: layers, objects in their configs, functions."""
    out = [(r.where, r.module, r.class_name) for r in refs if r.module]
    sections = [(r.config, r.where) for r in refs] + [(c, name) for name, c in src.compile]
    for cfg, where in sections:
        for item in config.own_items(cfg, where):
            value = item.value
            if (
                isinstance(value, dict)
                and isinstance(value.get("module"), str)
                and isinstance(value.get("class_name"), str)
            ):
                name = value.get("config") if value["class_name"] == "function" else value["class_name"]
                out.append((item.where, value["module"], str(name)))
    return list(dict.fromkeys(out))


def config_vectors(src: Source, refs: list[config.LayerRef], functions: list[FunctionInfo]) -> list[Vector]:
    out: list[Vector] = []
    for fn in functions:
        if fn.kind.endswith("(stored bytecode)"):
            what = f"{fn.layer_class} {fn.layer!r} {fn.slot}" if fn.layer_class != fn.layer else fn.where
            python = f" (CPython {fn.python})" if fn.python else ""
            if fn.layer_class in ("compile_config", "training_config"):
                out.append(
                    Vector(
                        kind="compile_code",
                        where=fn.where,
                        note=f"the compiled {fn.slot} is stored Python bytecode{python}: "
                        "load_model(compile=True), the default, deserializes it",
                    )
                )
            else:
                nested = " (nested: scanners that read only the top-level config.layers miss it)" if fn.nested else ""
                out.append(
                    Vector(
                        kind="nested_stored_code" if fn.nested else "stored_code",
                        where=fn.where,
                        note=f"{what} is stored Python bytecode{python}: loading unmarshals it and "
                        f"runs it{nested}" + ("; saved on Windows, corrupted" if fn.windows else ""),
                    )
                )
        if fn.kind == "named function" and fn.function and fn.module:
            why = risky(fn.module, fn.function)
            if why:
                note = f"the function is {fn.module}.{fn.function}: {why}"
                out.append(Vector(kind="risky_function", where=fn.where, note=note))
    flagged = {(v.where, v.kind) for v in out}
    for where, module, name in _module_refs(src, refs):
        why = risky(module, name)
        if (where, "risky_function") in flagged:
            continue  # the function itself, flagged above
        if why:
            out.append(Vector(kind="risky_function", where=where, note=f"the config names {module}.{name}: {why}"))
            flagged.add((where, "risky_function"))
        elif outside(module):
            out.append(
                Vector(
                    kind="module_import",
                    where=where,
                    note=f"names module {module!r} ({name}): Keras 3.0-3.8 import any module a config names "
                    "(CVE-2025-1550; 3.9 allows only keras, keras_hub, keras_cv, keras_nlp)",
                )
            )
    for ref in refs:
        for item in config.own_items(ref.config, ref.where):
            if isinstance(item.value, str) and item.key not in ("class_name", "module", "registered_name"):
                if looks_like_path(item.key, item.value):
                    what = "a URL" if "://" in item.value else "a file path"
                    out.append(
                        Vector(
                            kind="file_path",
                            where=item.where,
                            note=f"{what} in {ref.class_name} {ref.name!r}: {item.value[:120]!r} "
                            f"({item.key}), opened or fetched while the layer is built",
                        )
                    )
    return out


def _notes(src: Source, refs: list[config.LayerRef]) -> list[str]:
    notes = list(src.notes)
    if src.config and isinstance(src.config.get("config"), list):
        notes.append("a list-form Sequential config (Keras 1, or Keras 2 up to 2.2.2): its layers are the config list")
    if line_of(src.keras_version) == "standalone" and (src.keras_version or "").startswith("1."):
        notes.append(
            f"saved by Keras {src.keras_version}: Keras 1 layer names and arguments (Convolution2D, Merge, "
            "border_mode, input_dtype...) were renamed in Keras 2"
        )
    return notes


def scan(path: Path) -> ModelFacts:
    """Everything scan reports about the model at ``path``; ScanError (one line) for anything else."""
    try:
        return _scan(path)
    except ScanError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OSError, EOFError,
            struct.error, zipfile.BadZipFile, NotImplementedError, MemoryError, OverflowError) as exc:  # fmt: skip
        # A file crafted to break an assumption the readers make: still one line, naming what broke.
        raise ScanError(f"{path}: cannot be read as a Keras model ({type(exc).__name__}: {exc})") from None


def _scan(path: Path) -> ModelFacts:
    src = read_source(path)
    refs = model_layers(src)
    functions = [_decoded(f) for f in stored_functions(src, refs)]
    known = builtins_for(src.keras_version)
    custom, root, hub = classes(refs, known)
    vectors = src.vectors + config_vectors(src, refs, functions)
    return ModelFacts(
        path=str(path),
        format=src.format,
        keras_version=src.keras_version,
        tf_version=src.tf_version,
        backend=src.backend,
        layers=sum(1 for r in refs if r.depth > 0),
        functions=functions,
        custom_classes=custom,
        root_class=root,
        hub_layers=hub,
        vectors=list(dict.fromkeys(vectors)),
        builtin_classes=known.describe(),
        notes=_notes(src, refs),
    )
