"""The results schema: it accepts the contract, rejects what is not in it, and agrees with runner/core/vocab.py."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.core import vocab as model
from runner.core.errors import KerasCompatError, ResultsError
from runner.core.results import read_json, write_json
from runner.core.schema import json_path, load_schema, validate

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
REAL_RUN = Path(__file__).resolve().parent.parent / "reports" / "results.json"


@pytest.fixture
def results() -> dict[str, Any]:
    return read_json(FIXTURE)


def _schemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema in the schema document, with a pointer-ish location."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _schemas(value, f"{where}/{i}")


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_property_has_a_description() -> None:
    # if/then/else branches restate properties to constrain them; they are described where defined.
    conditional = ("/if", "/then", "/else")
    missing = [
        f"{where}/properties/{name}"
        for where, node in _schemas(load_schema())
        if isinstance(node.get("properties"), dict) and not any(part in where for part in conditional)
        for name, prop in node["properties"].items()
        if "description" not in prop
    ]
    assert missing == []


def test_every_object_closes_its_properties() -> None:
    schema = load_schema()
    open_objects = [
        where for where, node in _schemas(schema) if node.get("type") == "object" and "additionalProperties" not in node
    ]
    assert open_objects == []
    # The only objects allowed extra keys are maps, and their values are typed.
    maps = [where for where, node in _schemas(schema) if isinstance(node.get("additionalProperties"), dict)]
    assert sorted(maps) == [
        "#/$defs/lock/properties/packages",
        "#/$defs/row/properties/env_vars",
        "#/properties/run/properties/engine/properties/no_fork",
    ]


@pytest.mark.parametrize(
    ("definition", "vocabulary"),
    [
        ("flavour", model.FLAVOURS),
        ("format", model.FORMATS),
        ("option", model.OPTIONS),
        ("outcome", model.OUTCOMES),
        ("status", model.STATUSES),
        ("stage", model.STAGES),
        ("written", model.WRITTEN),
    ],
)
def test_enums_match_runner_model(definition: str, vocabulary: tuple[str, ...]) -> None:
    # null is allowed where the contract says "not reached" (written: no save ran); the strings must match.
    enum = load_schema()["$defs"][definition]["enum"]
    assert tuple(v for v in enum if v is not None) == vocabulary


def test_schema_version_is_const_4() -> None:
    assert load_schema()["properties"]["schema_version"] == {
        "description": load_schema()["properties"]["schema_version"]["description"],
        "const": 4,
    }


def test_error_origins_are_the_vocabulary_but_the_harness() -> None:
    """An error raised by keras-compat's own harness fails the run: results.json can never hold one."""
    from runner.core.vocab import ORIGINS

    origin = load_schema()["$defs"]["error"]["properties"]["origin"]["enum"]
    assert tuple(origin) == tuple(o for o in ORIGINS if o != "harness")


def test_record_modes_are_the_vocabulary() -> None:
    from runner.core.vocab import MODES

    enum = load_schema()["$defs"]["record"]["properties"]["mode"]["enum"]
    assert enum == [*MODES, None]


def test_the_file_form_stores_each_error_once_and_reads_back_the_same(results: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    write_json(results, path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    validate(raw)
    assert all(isinstance(r["error"], int) or r["error"] is None for r in raw["records"] + raw["cells"])
    keys = [json.dumps(e, sort_keys=True) for e in raw["errors"]]
    assert len(keys) == len(set(keys)) > 0
    inline = len(json.dumps(results, separators=(",", ":")))
    assert len(path.read_text(encoding="utf-8")) < inline  # the fixture's repeated errors, stored once
    assert read_json(path) == results


def test_a_schema_1_file_with_inline_errors_still_reads(results: dict[str, Any], tmp_path: Path) -> None:
    old = dict(results, schema_version=1)  # what runs before the error table wrote
    path = tmp_path / "results.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert read_json(path) == results


def test_an_unknown_schema_version_is_one_line(results: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(dict(results, schema_version=9)), encoding="utf-8")
    with pytest.raises(ResultsError, match=r"schema_version 9; this keras-compat reads 1, 2") as raised:
        read_json(path)
    assert "\n" not in str(raised.value)


def test_rejects_an_error_index_outside_the_table(results: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    write_json(results, path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    i = next(i for i, c in enumerate(raw["cells"]) if c["error"] is not None)
    raw["cells"][i]["error"] = len(raw["errors"])
    with pytest.raises(ResultsError, match=rf"\$\.cells\[{i}\]\.error: error index \d+ is not in \$\.errors"):
        validate(raw)
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ResultsError, match="is not in \\$\\.errors"):
        read_json(path)


def test_fixture_is_valid(results: dict[str, Any]) -> None:
    validate(results)


def test_fixture_covers_the_vocabulary(results: dict[str, Any]) -> None:
    assert set(results["formats"]) == set(model.FORMATS)
    statuses = {c["status"] for c in results["cells"]}
    assert {"pass", "pass_unsafe", "pass_custom_objects", "wrong_output", "load_error", "env_error"} <= statuses
    assert any(r["status"] == "env_error" for r in results["rows"])
    assert any(c["save_row"] != c["load_row"] for c in results["cells"])


@pytest.mark.skipif(not REAL_RUN.exists(), reason="no reports/results.json from a real run yet")
def test_real_run_is_valid() -> None:
    validate(json.loads(REAL_RUN.read_text(encoding="utf-8")))


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value  # type: ignore[index]

    return mutate


def _delete(path: list[str | int]) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]  # type: ignore[arg-type]

    return mutate


def _pass_cell(doc: dict[str, Any]) -> int:
    return next(i for i, c in enumerate(doc["cells"]) if c["status"] == "pass")


def _ok_row(doc: dict[str, Any]) -> int:
    return next(i for i, r in enumerate(doc["rows"]) if r["status"] == "ok")


def _env_error_row(doc: dict[str, Any]) -> int:
    return next(i for i, r in enumerate(doc["rows"]) if r["status"] == "env_error")


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        pytest.param(_set(["surprise"], 1), "$:", id="unknown-top-level-property"),
        pytest.param(_set(["cells", 0, "colour"], "red"), "$.cells[0]", id="unknown-cell-property"),
        pytest.param(_set(["run", "host", "gpu"], "none"), "$.run.host", id="unknown-host-property"),
        pytest.param(_set(["records", 0, "durations", "nap_s"], 1.0), "$.records[0].durations", id="unknown-duration"),
        pytest.param(_set(["cells", 0, "status"], "passed"), "$.cells[0].status", id="bad-status"),
        pytest.param(_set(["records", 0, "format"], "pickle"), "$.records[0].format", id="bad-format"),
        pytest.param(_set(["records", 0, "outcome"], "pass"), "$.records[0].outcome", id="status-is-not-an-outcome"),
        pytest.param(_set(["records", 0, "option"], "trust_me"), "$.records[0].option", id="bad-option"),
        pytest.param(_set(["records", 0, "stage"], "export"), "$.records[0].stage", id="bad-stage"),
        pytest.param(_set(["cells", 0, "written"], "tarball"), "$.cells[0].written", id="bad-written"),
        pytest.param(_set(["rows", 0, "flavour"], "keras1"), "$.rows[0].flavour", id="bad-flavour"),
        pytest.param(_set(["run", "pairs"], "some"), "$.run.pairs", id="bad-pairs"),
        pytest.param(_set(["schema_version"], 5), "$.schema_version", id="schema-version-5"),
        pytest.param(
            _set(["records", 0, "error"], {"type": "X", "message": "m", "traceback": None, "origin": "harness"}),
            "$.records[0].error",
            id="harness-error",
        ),
        pytest.param(_set(["records", 0, "mode"], "forked"), "$.records[0].mode", id="unknown-mode"),
        pytest.param(_delete(["run", "engine"]), "$.run", id="missing-engine"),
        pytest.param(_delete(["cells", 0, "fix"]), "$.cells[0]", id="missing-fix"),
        pytest.param(
            _set(["records", 0, "error"], {"type": "X", "message": "m"}),
            "$.records[0].error",
            id="error-without-traceback",
        ),
        pytest.param(_set(["run", "started"], "yesterday"), "$.run.started", id="bad-timestamp"),
    ],
)
def test_rejects(results: dict[str, Any], mutate: Callable[[dict[str, Any]], None], where: str) -> None:
    bad = copy.deepcopy(results)
    mutate(bad)
    with pytest.raises(ResultsError) as raised:
        validate(bad)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"results.json: {where}"), message


def test_rejects_a_pass_cell_with_a_fix(results: dict[str, Any]) -> None:
    i = _pass_cell(results)
    results["cells"][i]["fix"] = "load it differently"
    with pytest.raises(ResultsError, match=rf"\$\.cells\[{i}\]\.fix"):
        validate(results)


def test_rejects_an_env_error_row_without_its_message(results: dict[str, Any]) -> None:
    i = _env_error_row(results)
    results["rows"][i]["error"] = None
    with pytest.raises(ResultsError, match=rf"\$\.rows\[{i}\]\.error"):
        validate(results)


def test_rejects_an_ok_row_without_a_lock(results: dict[str, Any]) -> None:
    i = _ok_row(results)
    results["rows"][i]["lock"] = None
    with pytest.raises(ResultsError, match=rf"\$\.rows\[{i}\]\.lock"):
        validate(results)


def test_rejects_a_cell_naming_an_unknown_row(results: dict[str, Any]) -> None:
    results["cells"][3]["load_row"] = "tf9.9-k9-py3.99"
    with pytest.raises(ResultsError, match=r"\$\.cells\[3\]\.load_row: unknown row 'tf9\.9-k9-py3\.99'"):
        validate(results)


def test_rejects_a_record_naming_an_unknown_scenario(results: dict[str, Any]) -> None:
    results["records"][5]["scenario"] = "no_such_scenario"
    with pytest.raises(ResultsError, match=r"\$\.records\[5\]\.scenario: unknown scenario"):
        validate(results)


def test_rejects_duplicate_row_ids(results: dict[str, Any]) -> None:
    results["rows"].append(copy.deepcopy(results["rows"][1]))
    last = len(results["rows"]) - 1
    with pytest.raises(ResultsError, match=rf"\$\.rows\[{last}\]\.id: duplicate row id"):
        validate(results)


def test_rejects_duplicate_cells(results: dict[str, Any]) -> None:
    results["cells"].append(copy.deepcopy(results["cells"][0]))
    with pytest.raises(ResultsError, match=r"duplicate cell"):
        validate(results)


def test_long_messages_are_cut_to_one_line(results: dict[str, Any]) -> None:
    results["cells"][0] = {"status": "x" * 5000}
    with pytest.raises(ResultsError) as raised:
        validate(results)
    assert len(str(raised.value)) < 300
    assert "\n" not in str(raised.value)


def test_results_error_is_a_user_error() -> None:
    assert issubclass(ResultsError, KerasCompatError)
    assert ResultsError("x").exit_code == 2


def test_json_path() -> None:
    assert json_path([]) == "$"
    assert json_path(["cells", 3, "error", "type"]) == "$.cells[3].error.type"


# ---- The compiled schema (runner/core/fastschema.py) against jsonschema ---------------------------------------------
