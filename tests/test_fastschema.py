"""The schema compiled into plain Python checks (runner/core/fastschema.py) agrees with jsonschema."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.core import vocab as model
from runner.core.errors import ResultsError
from runner.core.results import read_json
from runner.core.schema import load_schema, validate

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"


@pytest.fixture
def results() -> dict[str, Any]:
    return read_json(FIXTURE)


def test_the_schema_compiles_into_predicates() -> None:
    """Every keyword the schema uses is one the compiler knows: validate() does not fall back to jsonschema alone."""
    from runner.core.schema import _fast

    assert _fast() is not None


# What a damaged file may hold where a value was: the wrong type, a near miss of a vocabulary, NaN.
_ODD_VALUES: list[Any] = [None, True, False, 0, -1, 4, 1.5, float("nan"), "", "x", "h5", "pass", [], ["x"], {}]


def _leaves(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))


def _mutants(item: Any, rng: Any, n: int) -> Iterator[Any]:
    """``n`` copies of ``item``, each with one place replaced, deleted or given an unknown key."""
    paths = [p for p in _leaves(item) if p]
    for _ in range(n):
        doc = copy.deepcopy(item)
        path = rng.choice(paths)
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = rng.random()
        if action < 0.15 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.25 and isinstance(parent, dict):
            parent["unexpected"] = rng.choice(_ODD_VALUES)
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(_ODD_VALUES))
        yield doc


@pytest.mark.parametrize("part", ["record", "cell", "row", "scenario", "error", "run"])
def test_the_compiled_schema_agrees_with_jsonschema_on_mutants(results: dict[str, Any], part: str) -> None:
    """A thousand random damages per part of the file: the predicates call exactly the ones jsonschema calls invalid."""
    import random

    from runner.core.fastschema import compile_schema

    schema = load_schema()
    if part == "run":
        node, items = schema["properties"]["run"], [results["run"]]
    else:
        node = schema["$defs"][part]
        kind = {"record": "records", "cell": "cells", "row": "rows", "scenario": "scenarios", "error": None}[part]
        items = [r["error"] for r in results["records"] if r["error"]] if kind is None else results[kind]
    check = compile_schema(node, defs=schema["$defs"])
    reference = Draft202012Validator(dict(node, **{"$defs": schema["$defs"]}))
    rng = random.Random(f"kc-{part}")
    disagree = []
    for item in rng.sample(items, min(10, len(items))):
        assert check(item) and reference.is_valid(item)
        for mutant in _mutants(item, rng, 100):
            if check(mutant) != reference.is_valid(mutant):
                disagree.append(mutant)
    assert disagree == []


def test_validate_names_a_bad_record_deep_in_a_long_file(results: dict[str, Any]) -> None:
    records = results["records"]
    long = dict(results, records=[dict(r, option=o) for o in model.OPTIONS for r in records])
    long["options"] = list(model.OPTIONS)
    bad = len(long["records"]) - 3
    long["records"][bad] = dict(long["records"][bad], outcome="passed")
    with pytest.raises(ResultsError, match=rf"^results\.json: \$\.records\[{bad}\]\.outcome: 'passed' is not one of"):
        validate(long)


def test_a_nan_difference_is_valid_as_jsonschema_says(results: dict[str, Any]) -> None:
    # jsonschema fails `minimum` only where value < minimum: NaN (a model that outputs NaN) passes
    next(r for r in results["records"] if r["max_abs_diff"] is not None)["max_abs_diff"] = float("nan")
    validate(results)
    assert Draft202012Validator(load_schema()).is_valid(results)


def test_a_shared_error_is_checked_again_in_the_next_call(results: dict[str, Any]) -> None:
    """Each error object is checked once per call (records share them): a later call sees it changed."""
    validate(results)
    record = next(r for r in results["records"] if r["error"])
    record["error"]["origin"] = "harness"
    with pytest.raises(ResultsError, match=r"^results\.json: \$\.records\[\d+\]\.error"):
        validate(results)
