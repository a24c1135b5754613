"""runner/report/claims.py and runner/claims.toml: the articles' claims, checked against cells."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from runner.core.results import read_json
from runner.report import claims as C

FIXTURE = Path(__file__).parent / "fixtures" / "results_real.json"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
K2, TFK, K3 = "tf2.15-k2-py3.11", "tf2.21-tfk2.21-py3.11", "tf2.21-k3.13-py3.11"


@pytest.fixture
def results() -> dict[str, Any]:
    data: dict[str, Any] = read_json(FIXTURE)
    return data


def _by_id(results: dict[str, Any]) -> dict[str, C.ClaimResult]:
    return {r.claim.id: r for r in C.evaluate(C.load_claims(), results)}


def test_claims_file_is_valid_and_covers_every_article() -> None:
    claims = C.load_claims()
    assert 12 <= len(claims) <= 25
    sources = {c.source for c in claims}
    assert sources == {
        "000_0d9a4bd23d5734f6.txt",
        "001_77cc7cee5b85fa15.txt",
        "002_3e5b7dc6c5aa62e0.txt",
        "003_a0d10364f25ce6f5.txt",
        "004_bc4954ecb3d11f58.txt",
    }
    known = {p.stem for p in SCENARIOS.glob("*.py")} - {"harness"}
    for claim in claims:
        assert set(claim.scenarios) <= known, claim.id
        assert claim.quote and len(claim.quote) < 200


@pytest.mark.skipif(not SEEDS.exists(), reason="shared/seeds not checked out beside the repo")
def test_claims_name_existing_articles() -> None:
    for claim in C.load_claims():
        assert (SEEDS / claim.source).exists(), claim.source


def test_verdicts_on_the_recorded_run(results: dict[str, Any]) -> None:
    by_id = _by_id(results)
    # "saved to .h5 fails with Unknown layer: Lambda": tf.keras loads it fine, Keras 3 refuses it with another error
    assert by_id["lambda-h5-unknown-layer"].rows == {K2: "does_not_hold", TFK: "does_not_hold", K3: "does_not_hold"}
    # "simple lambdas load": true in Keras 2 and tf-keras, not in Keras 3
    assert by_id["lambda-simple-loads"].rows == {K2: "holds", TFK: "holds", K3: "does_not_hold"}
    assert by_id["lambda-simple-loads"].overall == "depends"
    assert by_id["subclass-with-config-custom-objects"].rows[K2] == "holds"
    # Estimators are gone from TF 2.16: not measured there
    assert by_id["estimator-fails-with-custom-and-lambda"].rows[K3] == "not_measured"
    # a scenario not in the run: nothing measured
    assert set(by_id["lambda-eval-likely-failure"].rows.values()) == {"not_measured"}


def test_cell_verdicts_say_why(results: dict[str, Any]) -> None:
    result = _by_id(results)["lambda-h5-unknown-layer"]
    k3 = next(v for v in result.cells if v.row == K3)
    assert k3.verdict == "does_not_hold" and k3.why.startswith("default load: load_error: ValueError")
    k2 = next(v for v in result.cells if v.row == K2)
    assert k2.why == "default load: ok"


def _claim(**expect: Any) -> C.Claim:
    return C.Claim.from_dict(
        {
            "id": "t",
            "source": "s.txt",
            "quote": "q",
            "scenarios": ["lambda_simple"],
            "formats": ["h5"],
            "expect": expect,
        },
        "test",
    )


def _cell(status: str, error: str | None = None) -> dict[str, Any]:
    e = {"type": "ValueError", "message": error, "traceback": None} if error else None
    return {"status": status, "error": e}


def test_check_cell_rules() -> None:
    ok_record = {"outcome": "ok", "error": None}
    error = {"type": "ValueError", "message": "Unknown layer: Lambda", "traceback": None}
    fail = {"outcome": "load_error", "error": error}
    claim = _claim(option="default", outcomes=["load_error"], error_contains=["unknown LAYER"])
    assert C.check_cell(claim, _cell("load_error"), {"default": fail})[0] == "holds"  # case-insensitive
    assert C.check_cell(claim, _cell("pass"), {"default": ok_record})[0] == "does_not_hold"
    assert C.check_cell(claim, _cell("load_error"), {})[0] == "not_measured"  # lazy pair: option not tried
    assert C.check_cell(claim, _cell("build_error"), {"default": fail})[0] == "not_measured"
    unsupported = {"outcome": "unsupported", "error": None}
    assert (
        C.check_cell(_claim(option="safe_mode_off", outcomes=["ok"]), _cell("pass"), {"safe_mode_off": unsupported})[0]
        == "not_measured"
    )
    by_status = _claim(statuses=["save_error"], error_type="TypeError")
    assert (
        C.check_cell(
            by_status, {"status": "save_error", "error": {"type": "TypeError", "message": "m", "traceback": None}}, {}
        )[0]
        == "not_measured"
    )


def test_combine_any_and_all(results: dict[str, Any]) -> None:
    base = {
        "id": "t",
        "source": "s.txt",
        "quote": "q",
        "scenarios": ["stateful_layer"],
        "formats": ["h5", "weights"],
        "expect": {"statuses": ["wrong_output"]},
        "unmeasured": ["env_error"],
    }
    (all_of,) = C.evaluate([C.Claim.from_dict(base, "t")], results)
    (any_of,) = C.evaluate([C.Claim.from_dict({**base, "combine": "any"}, "t")], results)
    assert all_of.rows[K3] == "does_not_hold"  # h5 is a load error, only weights computes wrong
    assert any_of.rows[K3] == "holds"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key"),
        ({"expect": {"statuses": ["mostly_fine"]}}, "unknown mostly_fine"),
        ({"expect": {"option": "sideways"}}, "unknown option"),
        ({"expect": {"outcomes": ["ok"]}}, "outcomes need an option"),
        ({"expect": {}}, "empty"),
        ({"formats": ["onnx"]}, "unknown onnx"),
        ({"combine": "most"}, "combine"),
    ],
)
def test_invalid_claims_are_rejected(change: dict[str, Any], message: str) -> None:
    data = {
        "id": "t",
        "source": "s.txt",
        "quote": "q",
        "scenarios": ["x"],
        "formats": ["h5"],
        "expect": {"statuses": ["pass"]},
        **change,
    }
    with pytest.raises(C.ClaimsError, match=re.escape(message)):
        C.Claim.from_dict(data, "claims.toml: claim[0]")


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    one = (
        '[[claim]]\nid = "a"\nsource = "s"\nquote = "q"\nscenarios = ["x"]\nformats = ["h5"]\n'
        'expect = {statuses = ["pass"]}\n'
    )
    (tmp_path / "c.toml").write_text(one + one, encoding="utf-8")
    with pytest.raises(C.ClaimsError, match="duplicate claim id"):
        C.load_claims(tmp_path / "c.toml")
