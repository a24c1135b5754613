"""Validation of ``results.json`` against ``runner/schema/results.schema.json``.

The schema checks shape and vocabularies; :func:`validate` adds the cross
references a JSON schema cannot express (every cell names a known scenario,
format and row). Either kind of violation is a :class:`~runner.errors.ResultsError`
whose one-line message names the JSON path that is wrong.

Two validators of the one schema: ``jsonschema``, the reference, which words every
message; and the schema compiled into plain Python predicates (``runner/core/fastschema.py``)
that only answer "valid or not", in seconds where jsonschema takes minutes over a
``--pairs all`` run (~580k records; once 85-89 % of a render). :func:`validate` runs the
predicates over the whole file; where they say no, jsonschema checks the one part that
failed (a record, a cell, a row, or the envelope around the arrays) and names the path.
A schema keyword the compiler does not know makes :func:`validate` use jsonschema alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .errors import ResultsError
from .fastschema import Located, UnsupportedSchema

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schema" / "results.schema.json"

# jsonschema messages embed the offending instance; a whole record would make the
# message unreadable, so it is cut.
_MAX_MESSAGE = 200


@cache
def load_schema() -> dict[str, Any]:
    """The results schema, parsed (and checked to be a valid draft 2020-12 schema)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local ``#/$defs/x`` reference replaced by its target.

    Resolving ``$ref`` per instance is about half of jsonschema's time on a run
    with tens of thousands of records; the schema has no recursive references.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = dict(_inline_refs(defs[ref.removeprefix("#/$defs/")], defs))
            target.update({k: _inline_refs(v, defs) for k, v in node.items() if k != "$ref"})
            return target
        return {k: _inline_refs(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


@cache
def _inlined() -> dict[str, Any]:
    schema = load_schema()
    inlined: dict[str, Any] = _inline_refs({k: v for k, v in schema.items() if k != "$defs"}, schema.get("$defs", {}))
    return inlined


def _validator(schema: dict[str, Any] | None = None) -> Draft202012Validator:
    return Draft202012Validator(_inlined() if schema is None else schema)


@cache
def _fast() -> Located | None:
    try:
        return Located(load_schema(), shared=frozenset({"error"}))
    except UnsupportedSchema:
        return None


# ---- Messages -------------------------------------------------------------------------------------------------------


def json_path(path: Iterable[str | int]) -> str:
    """``['cells', 3, 'status']`` -> ``$.cells[3].status``."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _schema_error(error: ValidationError, prefix: Iterable[str | int] = ()) -> ResultsError:
    path = json_path([*prefix, *error.absolute_path])
    return ResultsError(f"results.json: {path}: {_one_line(error.message)}")


def _located_error(results: Any, where: list[str | int]) -> ValidationError | None:
    """jsonschema's error in the part ``where``: ``[key, index]`` one item, ``[]`` the envelope (its arrays'
    items taken as valid)."""
    schema = _inlined()
    if where:
        key, index = where
        return best_match(_validator(schema["properties"][key]["items"]).iter_errors(results[key][index]))
    properties = {
        k: dict(p, items=True) if isinstance(p, dict) and "items" in p else p for k, p in schema["properties"].items()
    }
    return best_match(_validator(dict(schema, properties=properties)).iter_errors(results))


def schema_error(results: Any) -> ResultsError | None:
    """The schema error in ``results`` (the predicates find it, jsonschema words it), or None."""
    fast = _fast()
    if fast is None:
        error = best_match(_validator().iter_errors(results))
        return None if error is None else _schema_error(error)
    where = fast.first_invalid(results)
    if where is None:
        return None
    error = _located_error(results, where)
    if error is None:  # the predicates and jsonschema disagree: jsonschema decides (tests keep this unreachable)
        error, where = best_match(_validator().iter_errors(results)), []
    return None if error is None else _schema_error(error, where)


# ---- Cross references -----------------------------------------------------------------------------------------------


def _reference_errors(results: dict[str, Any]) -> Iterator[str]:
    """Cross references the schema cannot check, as ``path: message`` strings."""
    row_ids: dict[str, int] = {}
    for i, row in enumerate(results["rows"]):
        if row["id"] in row_ids:
            yield f"{json_path(['rows', i, 'id'])}: duplicate row id {row['id']!r}"
        row_ids.setdefault(row["id"], len(row_ids))
    scenario_ids: dict[str, int] = {}
    for i, scenario in enumerate(results["scenarios"]):
        if scenario["id"] in scenario_ids:
            yield f"{json_path(['scenarios', i, 'id'])}: duplicate scenario id {scenario['id']!r}"
        scenario_ids.setdefault(scenario["id"], len(scenario_ids))
    formats = {f: i for i, f in enumerate(dict.fromkeys(results["formats"]))}
    options = {o: i for i, o in enumerate(dict.fromkeys(results["options"]))}
    n_errors = len(results.get("errors") or [])
    n_rows = len(row_ids)

    for kind in ("records", "cells"):
        # one bit per possible key: a --pairs all run has ~580k records, and a set of their tuples ~60 MB
        n_options = len(options) if kind == "records" else 1
        seen = bytearray(len(scenario_ids) * len(formats) * n_rows * n_rows * n_options)
        for i, item in enumerate(results[kind]):
            scenario = scenario_ids.get(item["scenario"])
            fmt = formats.get(item["format"])
            save = row_ids.get(item["save_row"])
            load = row_ids.get(item["load_row"])
            option = options.get(item["option"])
            error = item["error"]
            if scenario is None:
                yield f"{json_path([kind, i, 'scenario'])}: unknown scenario {item['scenario']!r}"
            if fmt is None:
                yield f"{json_path([kind, i, 'format'])}: format {item['format']!r} is not in $.formats"
            for key, found in (("save_row", save), ("load_row", load)):
                if found is None:
                    yield f"{json_path([kind, i, key])}: unknown row {item[key]!r}"
            if option is None:
                yield f"{json_path([kind, i, 'option'])}: option {item['option']!r} is not in $.options"
            if isinstance(error, int) and not isinstance(error, bool) and error >= n_errors:
                yield f"{json_path([kind, i, 'error'])}: error index {error} is not in $.errors"
            if scenario is None or fmt is None or save is None or load is None or option is None:
                continue
            bit = (((scenario * len(formats) + fmt) * n_rows + save) * n_rows + load) * n_options
            bit += option if kind == "records" else 0
            if seen[bit]:
                fields = ("scenario", "format", "save_row", "load_row") + (("option",) if kind == "records" else ())
                yield f"{json_path([kind, i])}: duplicate {kind[:-1]} {'/'.join(str(item[k]) for k in fields)}"
            seen[bit] = 1


def validate(results: dict[str, Any]) -> None:
    """Raise :class:`ResultsError` naming the first wrong JSON path, or return ``None``."""
    error = schema_error(results)
    if error is not None:
        raise error
    for message in _reference_errors(results):
        raise ResultsError(f"results.json: {message}")
