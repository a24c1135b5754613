"""A JSON schema compiled into plain Python predicates: valid or not, ~20x faster than jsonschema here.

``runner/core/schema.py`` validates results.json with it: a ``--pairs all`` run has ~580k records,
jsonschema takes minutes over them and fastjsonschema (measured here) ~40 s; the predicates a few
seconds, because leaf schemas (types, enums, patterns, bounds) become inline expressions of one
generated function per object or array schema, and no exception is raised or message formatted on
the way. They only answer "valid or not" (and where: :class:`Located`); jsonschema words the message.

Only the keywords the results schema uses are implemented, with jsonschema's (draft 2020-12)
semantics; any other raises :class:`UnsupportedSchema`. ``tests/test_schema.py`` keeps the two in
agreement (the real run, the fixtures, every bad case and random mutations).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Any], bool]

# Keywords that only annotate: no bearing on whether an instance is valid.
# (jsonschema asserts no "format" unless given a format checker.)
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "$defs", "title", "description", "examples", "default", "deprecated", "format"}
)
_OBJECT = frozenset(
    {"properties", "required", "additionalProperties", "propertyNames", "minProperties", "maxProperties"}
)
_ARRAY = frozenset({"items", "minItems", "maxItems", "uniqueItems"})
_STRING = frozenset({"minLength", "maxLength", "pattern"})
# A bound fails where ``value OP bound`` (jsonschema's test): NaN passes every one (a model that outputs NaN).
_BOUNDS = {"minimum": "<", "maximum": ">", "exclusiveMinimum": "<=", "exclusiveMaximum": ">="}
_KEYWORDS = frozenset(
    {"$ref", "type", "enum", "const", "anyOf", "allOf", "not", "if", "then", "else"} | _OBJECT | _ARRAY | _STRING
) | frozenset(_BOUNDS)
# jsonschema's type checker (draft 2020-12): an integer-valued float is an integer; a bool is no number.
_TYPES = {
    "null": "{v} is None",
    "boolean": "isinstance({v}, bool)",
    "integer": "(isinstance({v}, int) and not isinstance({v}, bool) or isinstance({v}, float) and {v}.is_integer())",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "string": "isinstance({v}, str)",
    "array": "isinstance({v}, list)",
    "object": "isinstance({v}, dict)",
}
# A string matched once against a pattern is remembered (every record names its scenario and rows), up to this many.
_MEMO = 100_000


class UnsupportedSchema(Exception):
    """The schema uses a keyword :func:`compile_schema` does not implement (jsonschema then checks alone)."""


def _equal(one: Any, two: Any) -> bool:
    """JSON equality as jsonschema's ``enum``/``const``/``uniqueItems`` see it: ``true`` is not ``1``."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return bool(one == two)


def _unique(items: list[Any]) -> bool:
    if all(isinstance(x, str) for x in items):
        return len(set(items)) == len(items)
    return not any(_equal(a, b) for i, a in enumerate(items) for b in items[i + 1 :])


def _matcher(
    min_length: int | None, max_length: int | None, pattern: str | None, memo: set[str]
) -> Callable[[str], bool]:
    regex = re.compile(pattern) if pattern is not None else None

    def match(v: str) -> bool:
        if (min_length is not None and len(v) < min_length) or (max_length is not None and len(v) > max_length):
            return False
        if regex is not None and not regex.search(v):
            return False
        if len(memo) < _MEMO:
            memo.add(v)
        return True

    return match


class _Codegen:
    """The schema as the source of plain Python functions, one per object or array schema, that return a bool.

    Leaf schemas (types, enums, patterns, bounds) become inline expressions; no exception is raised or
    caught and nothing is formatted on the way, which is what makes it ~20x faster than jsonschema here.
    """

    def __init__(self, defs: Mapping[str, Any], shared: frozenset[str] = frozenset()) -> None:
        self.defs = defs
        # $defs whose objects one instance may hold many times (the same object): see ref()
        self.shared = shared
        self.memos: dict[str, set[int]] = {}
        self.names: dict[str, Any] = {"_equal": _equal, "_unique": _unique, "_MISSING": object()}
        self.source: list[str] = []
        self.refs: dict[str, str] = {}
        self.inlining: set[str] = set()
        self.functions = 0

    def const(self, value: Any, prefix: str = "_c") -> str:
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def expr(self, node: Any, v: str) -> str:
        """An expression, true where ``v`` is valid against ``node``."""
        if node is True or node == {}:
            return "True"
        if node is False:
            return "False"
        if not isinstance(node, dict):
            raise UnsupportedSchema(f"schema {node!r}")
        unknown = set(node) - _KEYWORDS - _ANNOTATIONS
        if unknown:
            raise UnsupportedSchema(", ".join(sorted(unknown)))
        if (_OBJECT | _ARRAY) & node.keys():
            return f"{self.function(node)}({v})"
        parts = []
        if "$ref" in node:
            parts.append(self.ref(node["$ref"], v))
        for values in [node["enum"]] if "enum" in node else []:
            parts.append(self.enum(values, v))
        if "const" in node:
            parts.append(self.enum([node["const"]], v))
        string = self.string(node, v)
        number = " and ".join(f"not {v} {op} {self.const(node[k])}" for k, op in _BOUNDS.items() if k in node)
        if "type" in node:
            # one test per type, with the keywords that apply to it: a string's pattern, a number's bounds
            alternatives = []
            for name in [node["type"]] if isinstance(node["type"], str) else node["type"]:
                extra = string if name == "string" else number if name in ("number", "integer") else ""
                alternatives.append(f"({_TYPES[name].format(v=v)} and {extra})" if extra else _TYPES[name].format(v=v))
            parts.append("(" + " or ".join(alternatives) + ")")
        else:
            if string:
                parts.append(f"(not isinstance({v}, str) or {string})")
            if number:
                parts.append(f"(not {_TYPES['number'].format(v=v)} or {number})")
        if "anyOf" in node:
            parts.append("(" + " or ".join(self.expr(n, v) for n in node["anyOf"]) + ")")
        if "allOf" in node:
            parts.append("(" + " and ".join(self.expr(n, v) for n in node["allOf"]) + ")")
        if "not" in node:
            parts.append(f"(not {self.expr(node['not'], v)})")
        if "if" in node:
            then, otherwise = self.expr(node.get("then", True), v), self.expr(node.get("else", True), v)
            parts.append(f"(({then}) if ({self.expr(node['if'], v)}) else ({otherwise}))")
        return "(" + " and ".join(parts) + ")" if parts else "True"

    def string(self, node: dict[str, Any], v: str) -> str:
        """The string keywords of ``node`` as a test of a ``str`` ``v`` ("" when it has none)."""
        if not _STRING & node.keys():
            return ""
        memo: set[str] = set()
        seen = self.const(memo, "_seen")
        match = self.const(_matcher(node.get("minLength"), node.get("maxLength"), node.get("pattern"), memo), "_match")
        return f"({v} in {seen} or {match}({v}))"

    def enum(self, values: list[Any], v: str) -> str:
        if all(x is None or isinstance(x, str) for x in values):
            words = self.const(frozenset(x for x in values if x is not None))
            return (
                f"({v} is None or isinstance({v}, str) and {v} in {words})"
                if None in values
                else (f"(isinstance({v}, str) and {v} in {words})")
            )
        return f"any(_equal({v}, e) for e in {self.const(list(values))})"

    def ref(self, ref: str, v: str) -> str:
        if not ref.startswith("#/$defs/") or ref.removeprefix("#/$defs/") not in self.defs:
            raise UnsupportedSchema(f"$ref {ref!r}")
        name = ref.removeprefix("#/$defs/")
        target = self.defs[name]
        if name not in self.inlining and isinstance(target, dict) and not (_OBJECT | _ARRAY) & target.keys():
            self.inlining.add(name)  # a leaf (an enum, an id pattern) is checked inline, not called
            try:
                return self.expr(target, v)
            finally:
                self.inlining.discard(name)
        if name not in self.refs:
            self.refs[name] = f"_ref_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"  # set first: a recursive ref calls it
            self.emit(self.refs[name], self.defs[name])
        if name in self.shared:
            # checked once per object and call: read_json shares each error among the records naming it
            ids = self.memos.setdefault(name, set())
            seen = self.const(ids, "_ids")
            return f"(id({v}) in {seen} or ({self.refs[name]}({v}) and not {seen}.add(id({v}))))"
        return f"{self.refs[name]}({v})"

    def function(self, node: dict[str, Any]) -> str:
        self.functions += 1
        name = f"_f{self.functions}"
        self.emit(name, node)
        return name

    def emit(self, name: str, node: Any) -> None:
        """``def name(v): ...`` for ``node``, added to the source."""
        if not isinstance(node, dict) or not (_OBJECT | _ARRAY) & node.keys():
            self.source.append(f"def {name}(v):\n    return {self.expr(node, 'v')}\n")
            return
        body: list[str] = []

        def fail_unless(check: str, depth: int = 1, before: str = "") -> None:
            pad = "    " * depth
            body.extend([*([pad + before] if before else []), f"{pad}if not {check}:", f"{pad}    return False"])

        rest = {k: node[k] for k in node if k not in _OBJECT | _ARRAY}
        if rest:
            fail_unless(self.expr(rest, "v"))
        if _OBJECT & node.keys():
            body.append("    if isinstance(v, dict):")
            properties = node.get("properties", {})
            required = node.get("required", [])
            if "minProperties" in node:
                fail_unless(f"len(v) >= {int(node['minProperties'])}", 2)
            if "maxProperties" in node:
                fail_unless(f"len(v) <= {int(node['maxProperties'])}", 2)
            if required:
                fail_unless(f"v.keys() >= {self.const(frozenset(required))}", 2)
            additional = node.get("additionalProperties", True)
            if additional is False:
                fail_unless(f"v.keys() <= {self.const(frozenset(properties))}", 2)
            for key, prop in properties.items():
                check = self.expr(prop, "x")
                if check == "True":
                    continue
                if key in required:
                    fail_unless(check, 2, f"x = v[{key!r}]")
                else:
                    fail_unless(f"(x is _MISSING or {check})", 2, f"x = v.get({key!r}, _MISSING)")
            if additional is not True and additional is not False:
                known = self.const(frozenset(properties))
                body.append("        for k, x in v.items():")
                fail_unless(f"(k in {known} or {self.expr(additional, 'x')})", 3)
            if "propertyNames" in node:
                body.append("        for x in v:")
                fail_unless(self.expr(node["propertyNames"], "x"), 3)
        if _ARRAY & node.keys():
            body.append("    if isinstance(v, list):")
            if "minItems" in node:
                fail_unless(f"len(v) >= {int(node['minItems'])}", 2)
            if "maxItems" in node:
                fail_unless(f"len(v) <= {int(node['maxItems'])}", 2)
            if "items" in node:
                body.append("        for x in v:")
                fail_unless(self.expr(node["items"], "x"), 3)
            if node.get("uniqueItems"):
                fail_unless("_unique(v)", 2)
        body.append("    return True")
        self.source.append(f"def {name}(v):\n" + "\n".join(body) + "\n")

    def first_invalid(self, name: str, node: Any) -> None:
        """``def name(items)``: the index of the first item not valid against ``node``, or -1."""
        check = self.expr(node, "x")
        self.source.append(f"def {name}(items):\n    for i, x in enumerate(items):\n        if not {check}:")
        self.source[-1] += "\n            return i\n    return -1\n"

    def build(self) -> dict[str, Any]:
        namespace = dict(self.names)
        exec(compile("\n".join(self.source), "<results schema>", "exec"), namespace)  # noqa: S102 (our own source)
        return namespace


def compile_schema(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> Predicate:
    """``schema`` as one predicate: ``True`` where jsonschema (draft 2020-12) finds no error.

    Implements the keywords the results schema uses; any other raises :class:`UnsupportedSchema`.
    """
    gen = _Codegen(schema.get("$defs", {}) if defs is None else defs)
    gen.emit("_root", dict(schema))
    check: Predicate = gen.build()["_root"]
    return check


class Located:
    """The results schema as predicates: the envelope (every top-level array's items taken as valid), and per
    top-level array the index of its first invalid item. A failure is so located to ``[]`` (the envelope) or
    ``[key, index]`` (one item), and jsonschema re-checks only that part for its message.

    Objects of the ``shared`` definitions are checked once per object (by identity, within one call, while
    the instance holds them all): in memory every record names its error by sharing one object.
    """

    def __init__(self, schema: Mapping[str, Any], shared: frozenset[str] = frozenset()) -> None:
        gen = _Codegen(schema.get("$defs", {}), shared)
        envelope = dict(schema)
        envelope["properties"] = {}
        arrays: dict[str, str] = {}
        for key, prop in schema.get("properties", {}).items():
            if isinstance(prop, dict) and "items" in prop:
                arrays[key] = f"_items_{len(arrays)}"
                gen.first_invalid(arrays[key], prop["items"])
                prop = dict(prop, items=True)
            envelope["properties"][key] = prop
        gen.emit("_envelope", envelope)
        namespace = gen.build()
        self.envelope: Predicate = namespace["_envelope"]
        self.items: dict[str, Callable[[list[Any]], int]] = {key: namespace[name] for key, name in arrays.items()}
        self.memos = list(gen.memos.values())

    def first_invalid(self, results: Any) -> list[str | int] | None:
        try:
            if not self.envelope(results):
                return []
            for key, first in self.items.items():
                items = results.get(key)
                if isinstance(items, list):
                    i = first(items)
                    if i >= 0:
                        return [key, i]
            return None
        finally:
            for memo in self.memos:  # an id means that object only while the instance holds it
                memo.clear()
