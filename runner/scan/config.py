"""Walking a stored model config: every layer (nested ones and the root included) and every stored function.

Keras wrote its configs in several forms, all read here:

* Keras 3 / tf.keras 2.13+ ``.keras``: ``{"module", "class_name", "config", "registered_name"}`` dicts,
  functions as ``{"class_name": "__lambda__", "config": {"code"|"value"}}`` or
  ``{"class_name": "function", "module", "config": name}``;
* Keras 2 h5/SavedModel: ``{"class_name", "config"}`` with ``layers`` lists; a Lambda's function as
  ``function`` + ``function_type`` ("lambda": bytecode, "function": a name), the same for
  ``output_shape``, and ``{"class_name": "__tuple__", "items"}`` for tuples in a SavedModel;
* Keras 1 and Keras <= 2.2.2: a Sequential's ``config`` is the list of its layers; Keras 1's ``Merge``
  keeps its branches in ``layers`` and its function in ``mode`` + ``mode_type``.

Layers sit in ``layers``/``cells`` lists and in the ``layer``/``backward_layer``/``forward_layer``/
``cell`` slots of wrappers and RNNs; everything else in a layer's config is its own data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

_LIST_SLOTS = ("layers", "cells")
_DICT_SLOTS = ("layer", "backward_layer", "forward_layer", "cell")
_CHILD_SLOTS = frozenset(_LIST_SLOTS + _DICT_SLOTS)
_MAX_DEPTH = 200  # deeper than any real model; a crafted config cannot exhaust the stack


@dataclass(frozen=True, kw_only=True)
class LayerRef:
    class_name: str
    name: str
    module: str | None  # Keras 3 style dicts name their module; Keras 1/2 ones do not
    registered_name: str | None
    where: str  # "Sequential > TimeDistributed 'td' > Lambda 'inner'"
    depth: int  # 0: the root, 1: a top-level layer, 2+: inside a wrapper, a submodel or a Merge branch
    config: Any
    keras3_style: bool = False


@dataclass(frozen=True, kw_only=True)
class StoredFunction:
    """A function a load deserializes: stored bytecode, or a name looked up when loading."""

    layer: LayerRef | None  # None: the compile/training config
    slot: str  # the config key: function, output_shape, mask, mode, loss, metrics...
    where: str
    form: Literal["bytecode", "named", "registered", "unknown"]
    encoded: str | None = None  # the stored code string (base64 or raw_unicode_escape)
    name: str | None = None  # a named function's or registered object's name
    module: str | None = None


@dataclass(frozen=True, kw_only=True)
class Item:
    """One key/value of a config's own data (child layers excluded), for the vector checks."""

    where: str
    key: str
    value: Any
    parent: dict = field(repr=False)


def is_layer(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("class_name"), str) and "config" in node


def _label(node: dict) -> str:
    cfg = node.get("config")
    name = cfg.get("name") if isinstance(cfg, dict) else None
    name = name if isinstance(name, str) else node.get("name") if isinstance(node.get("name"), str) else None
    return f"{node['class_name']} {name!r}" if name else str(node["class_name"])


def layers(root: dict) -> list[LayerRef]:
    """The root and every layer under it, in config order (a parent before its children)."""
    out: list[LayerRef] = []

    def visit(node: dict, where: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        cfg = node.get("config")
        name = cfg.get("name") if isinstance(cfg, dict) else None
        module, registered = node.get("module"), node.get("registered_name")
        out.append(
            LayerRef(
                class_name=str(node["class_name"]),
                name=str(name if isinstance(name, str) else node.get("name") or "?"),
                module=module if isinstance(module, str) else None,
                registered_name=registered if isinstance(registered, str) else None,
                where=where,
                depth=depth,
                config=cfg,
                keras3_style="module" in node,
            )
        )
        for child in children(cfg):
            visit(child, f"{where} > {_label(child)}", depth + 1)

    if is_layer(root):
        visit(root, _label(root), 0)
    return out


def children(cfg: Any) -> Iterator[dict]:
    """The layers directly under a layer config: list-form Sequential items, ``layers`` and wrapper slots."""
    if isinstance(cfg, list):  # Keras 1 / Keras <= 2.2.2 Sequential: the config is its list of layers
        yield from (item for item in cfg if is_layer(item))
        return
    if not isinstance(cfg, dict):
        return
    for key in _LIST_SLOTS:
        if isinstance(cfg.get(key), list):
            yield from (item for item in cfg[key] if is_layer(item))
    for key in _DICT_SLOTS:
        if is_layer(cfg.get(key)):
            yield cfg[key]


def own_items(cfg: Any, where: str) -> Iterator[Item]:
    """Every key/value in a layer's own config, at any depth, without descending into its child layers."""
    stack: list[tuple[Any, str, int]] = [(cfg, where, 0)]
    while stack:
        node, at, depth = stack.pop()
        if depth > _MAX_DEPTH:
            continue
        if isinstance(node, dict):
            for key, value in node.items():
                key = str(key)
                if key in _CHILD_SLOTS and (is_layer(value) or (isinstance(value, list) and any(map(is_layer, value)))):
                    continue
                yield Item(where=f"{at}.{key}", key=key, value=value, parent=node)
                if isinstance(value, dict | list):
                    stack.append((value, f"{at}.{key}", depth + 1))
        elif isinstance(node, list) and not any(map(is_layer, node)):
            for i, value in enumerate(node):
                if isinstance(value, dict | list):
                    stack.append((value, f"{at}[{i}]", depth + 1))


def _untuple(value: Any) -> Any:
    """Keras's tuple wrappers: ``{"class_name": "__tuple__", "items": [...]}`` (Keras 2 SavedModel) and
    ``{"class_name": "__tuple__", "config": {"value": [...]}}`` (Keras 3)."""
    for _ in range(4):
        if isinstance(value, dict) and value.get("class_name") == "__tuple__":
            inner = value.get("config")
            value = value.get("items", inner.get("value") if isinstance(inner, dict) else None)
        else:
            break
    return value


def _code_string(value: Any) -> str | None:
    value = _untuple(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and value:
        first = _untuple(value[0])
        return first if isinstance(first, str) else None
    return None


def functions_in(items: Iterator[Item], layer: LayerRef | None) -> list[StoredFunction]:
    """The stored functions among a config's own items (see the module docstring for the forms)."""
    found: list[StoredFunction] = []
    for item in items:
        key, value, parent = item.key, item.value, item.parent
        kind = parent.get(f"{key}_type") if not key.endswith(("_type", "_module")) else None
        if kind == "lambda":  # Keras 1/2: bytecode, as [code, defaults, closure] or the code string
            found.append(_bytecode(layer, key, item.where, _code_string(value)))
        elif kind == "function" and isinstance(value, str):  # Keras 2: looked up by name in custom_objects
            module = parent.get(f"{key}_module", parent.get("module") if key == "function" else None)
            found.append(
                StoredFunction(
                    layer=layer,
                    slot=key,
                    where=item.where,
                    form="named",
                    name=value,
                    module=module if isinstance(module, str) else None,
                )
            )
        elif isinstance(value, dict) and value.get("class_name") == "__lambda__":  # Keras 3 (and tf.keras 2.13+)
            inner = value.get("config")
            code = inner.get("code", inner.get("value")) if isinstance(inner, dict) else None
            found.append(_bytecode(layer, key, item.where, _code_string(code)))
        elif isinstance(value, dict) and value.get("class_name") == "function" and "module" in value:
            module, name = value.get("module"), value.get("config")
            found.append(
                StoredFunction(
                    layer=layer,
                    slot=key,
                    where=item.where,
                    form="named",
                    name=str(name) if name is not None else None,
                    module=module if isinstance(module, str) else None,
                )
            )
        elif (
            layer is not None
            and layer.class_name == "Lambda"
            and key in ("function", "output_shape", "mask")
            and parent is layer.config
            and isinstance(value, dict)
            and isinstance(value.get("class_name"), str)
            and value.get("class_name") != "__tuple__"
        ):  # Keras 3: a registered callable object
            module = value.get("module")
            found.append(
                StoredFunction(
                    layer=layer,
                    slot=key,
                    where=item.where,
                    form="registered",
                    name=str(value.get("registered_name") or value["class_name"]),
                    module=module if isinstance(module, str) else None,
                )
            )
    return found


def _bytecode(layer: LayerRef | None, slot: str, where: str, encoded: str | None) -> StoredFunction:
    form: Literal["bytecode", "unknown"] = "bytecode" if encoded is not None else "unknown"
    return StoredFunction(layer=layer, slot=slot, where=where, form=form, encoded=encoded)


def lambda_without_function(layer: LayerRef, found: list[StoredFunction]) -> bool:
    """A Lambda whose ``function`` matched none of the known forms (reported as unknown, not skipped)."""
    return layer.class_name == "Lambda" and not any(f.layer is layer and f.slot == "function" for f in found)
