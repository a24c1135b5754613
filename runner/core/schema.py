"""Validation of ``results.json`` against ``runner/schema/results.schema.json``.

The schema checks shape and vocabularies; :func:`validate` adds the cross
references a JSON schema cannot express (every cell names a known scenario,
format and row). Either kind of violation is a :class:`~runner.errors.ResultsError`
whose one-line message names the JSON path that is wrong.
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
def _validator() -> Draft202012Validator:
    schema = load_schema()
    defs = schema.get("$defs", {})
    return Draft202012Validator(_inline_refs({k: v for k, v in schema.items() if k != "$defs"}, defs))


def json_path(path: Iterable[str | int]) -> str:
    """``['cells', 3, 'status']`` -> ``$.cells[3].status``."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _schema_error(error: ValidationError) -> ResultsError:
    return ResultsError(f"results.json: {json_path(error.absolute_path)}: {_one_line(error.message)}")


def _reference_errors(results: dict[str, Any]) -> Iterator[str]:
    """Cross references the schema cannot check, as ``path: message`` strings."""
    row_ids: set[str] = set()
    for i, row in enumerate(results["rows"]):
        if row["id"] in row_ids:
            yield f"{json_path(['rows', i, 'id'])}: duplicate row id {row['id']!r}"
        row_ids.add(row["id"])
    scenario_ids: set[str] = set()
    for i, scenario in enumerate(results["scenarios"]):
        if scenario["id"] in scenario_ids:
            yield f"{json_path(['scenarios', i, 'id'])}: duplicate scenario id {scenario['id']!r}"
        scenario_ids.add(scenario["id"])
    formats = set(results["formats"])
    options = set(results["options"])
    n_errors = len(results.get("errors") or [])

    for kind in ("records", "cells"):
        seen: set[tuple[str, ...]] = set()
        for i, item in enumerate(results[kind]):
            if item["scenario"] not in scenario_ids:
                yield f"{json_path([kind, i, 'scenario'])}: unknown scenario {item['scenario']!r}"
            if item["format"] not in formats:
                yield f"{json_path([kind, i, 'format'])}: format {item['format']!r} is not in $.formats"
            for key in ("save_row", "load_row"):
                if item[key] not in row_ids:
                    yield f"{json_path([kind, i, key])}: unknown row {item[key]!r}"
            if item["option"] not in options:
                yield f"{json_path([kind, i, 'option'])}: option {item['option']!r} is not in $.options"
            if isinstance(item["error"], int) and item["error"] >= n_errors:
                yield f"{json_path([kind, i, 'error'])}: error index {item['error']} is not in $.errors"
            fields = ("scenario", "format", "save_row", "load_row") + (("option",) if kind == "records" else ())
            item_key = tuple(str(item[k]) for k in fields)
            if item_key in seen:
                yield f"{json_path([kind, i])}: duplicate {kind[:-1]} {'/'.join(item_key)}"
            seen.add(item_key)


def validate(results: dict[str, Any]) -> None:
    """Raise :class:`ResultsError` naming the first wrong JSON path, or return ``None``."""
    error = best_match(_validator().iter_errors(results))
    if error is not None:
        raise _schema_error(error)
    for message in _reference_errors(results):
        raise ResultsError(f"results.json: {message}")
