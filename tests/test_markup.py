"""The Markdown/HTML helpers, the templates' strictness, and reading a results file to publish."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import StrictUndefined

from runner.core.errors import ResultsError
from runner.core.results import read_json
from runner.core.signature import error_signature
from runner.core.vocab import STATUS_MEANINGS, STATUSES
from runner.report.markup import environment, md_code, md_fenced, md_text, script_json
from runner.report.publish import publish_beside
from tests.pages import embedded, matrix_table

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
XSS = "<script>alert(1)</script>"
ENV_ERROR_ROW = "tf2.3-k2-py3.7"


def _render_file(path: Path, out: Path) -> list[Path]:
    return publish_beside(read_json(path), out)


@pytest.fixture
def results() -> dict[str, Any]:
    return read_json(FIXTURE)


# ---- helpers and entry points ----------------------------------------------------


def test_script_json_cannot_close_the_block() -> None:
    text = str(script_json({"m": "</script><!-- & -->"}))
    assert "</" not in text and "<!--" not in text
    assert json.loads(text) == {"m": "</script><!-- & -->"}


def test_md_code_survives_backticks_and_pipes() -> None:
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x`") == "`` `x` ``"
    assert md_code("a | b", table=True) == "`a \\| b`"
    assert md_code("line\nbreak") == "`line break`"
    assert md_fenced("```inner```").startswith("````text\n")


def test_md_text_escapes_markdown() -> None:
    assert md_text("a|b <i>*x*</i> [l](u)") == "a\\|b \\<i\\>\\*x\\*\\</i\\> \\[l\\](u)"


def test_error_signature_normalises_counters_and_addresses() -> None:
    a = error_signature("NameError", "calling layer 'lambda_3' at 0x7f3a2b  failed")
    b = error_signature("NameError", "calling layer 'lambda_12' at 0x55aa00 failed")
    assert a == b
    assert a != error_signature("TypeError", "calling layer 'lambda_3' at 0x7f3a2b failed")


def test_templates_are_strict_and_html_only_is_autoescaped() -> None:
    env = environment()
    assert env.undefined is StrictUndefined
    assert env.autoescape("index.html.j2") is True  # type: ignore[operator]
    assert env.autoescape("matrix.md.j2") is False  # type: ignore[operator]


def test_render_validates_first(results: dict[str, Any], tmp_path: Path) -> None:
    bad = copy.deepcopy(results)
    bad["cells"][0]["status"] = "mostly_fine"
    with pytest.raises(ResultsError, match=r"\$\.cells\[0\]\.status"):
        publish_beside(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_main_reads_a_results_file(tmp_path: Path) -> None:
    paths = _render_file(FIXTURE, tmp_path / "reports")
    assert [p.name for p in paths] == ["MATRIX.md", "index.html", "pass-rate.svg", "last-run.svg"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_main_reports_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no results file at"):
        _render_file(tmp_path / "missing.json", tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ResultsError, match="not JSON"):
        _render_file(broken, tmp_path)


def test_status_meanings_cover_the_vocabulary() -> None:
    assert set(STATUS_MEANINGS) == set(STATUSES)


def test_columns_are_ordered_by_flavour_then_numeric_version(results: dict[str, Any], tmp_path: Path) -> None:
    results["rows"].reverse()
    # a keras3 row with an older TF than a keras2 row still comes after every keras2 row
    next(r for r in results["rows"] if r["flavour"] == "keras3")["tf"] = "2.9.9"
    md = publish_beside(results, tmp_path)[0].read_text(encoding="utf-8")
    header = matrix_table(md)[0][2:]
    ids = [re.match(r"\*\*(.+?)\*\*", h).group(1).replace("\\", "") for h in header]  # type: ignore[union-attr]
    # keras2 before keras3; TF 2.3 before 2.10 (numeric, not string, order)
    assert ids == ["tf2.3-k2-py3.7", "tf2.10-k2-py3.9", "tf2.16-k3-py3.11"]


def test_html_survives_a_nan_difference(results: dict[str, Any], tmp_path: Path) -> None:
    record = next(r for r in results["records"] if r["outcome"] == "wrong_output")
    record["max_abs_diff"] = float("nan")
    html = publish_beside(results, tmp_path)[1].read_text(encoding="utf-8")
    data = embedded(html)  # strict JSON: json.loads would accept NaN, so check the text too
    assert "NaN" not in html.split('id="kc-data">', 1)[1].split("</script>", 1)[0]
    diffs = [r[data["record_fields"].index("max_abs_diff")] for r in data["records"]]
    assert "nan" in diffs
