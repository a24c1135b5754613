"""runner/report/diff.py: what changed between two runs, and `diff OLD NEW` on the command line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from runner import cli
from runner.core.results import read_json
from runner.core.signature import error_signature
from runner.report.diff import KINDS, classify, diff_markdown, diff_results

FIXTURE = Path(__file__).parent / "fixtures" / "results_real.json"


@pytest.fixture
def new() -> dict[str, Any]:
    data: dict[str, Any] = read_json(FIXTURE)
    return data


def _cell(results: dict[str, Any], status: str, same_env: bool = True, skip: int = 0) -> dict[str, Any]:
    found = [c for c in results["cells"] if c["status"] == status and (c["save_row"] == c["load_row"]) == same_env]
    return found[skip]


def _error(message: str) -> dict[str, Any]:
    return {"type": "ValueError", "message": message, "traceback": None}


def test_classify() -> None:
    ok = {"status": "pass", "error": None}
    assert classify(ok, {"status": "load_error", "error": _error("x")}) == "newly_broken"
    assert classify({"status": "load_error", "error": _error("x")}, ok) == "newly_fixed"
    assert classify({"status": "load_error", "error": _error("x")}, {"status": "load_error", "error": _error("y")}) == (
        "changed_error"
    )
    assert classify({"status": "load_error", "error": _error("x")}, {"status": "call_error", "error": _error("x")}) == (
        "changed_error"
    )
    # the user's plain load_model call raises now: a break (runner/core/cells.py transition)
    assert classify(ok, {"status": "pass_unsafe", "error": _error("x")}) == "newly_broken"
    assert classify({"status": "pass_unsafe", "error": _error("x")}, ok) == "changed_status"
    # a Keras layer counter or an address is not a change
    assert (
        classify(
            {"status": "load_error", "error": _error("layer lambda_3 at 0x7f12")},
            {"status": "load_error", "error": _error("layer lambda_12 at 0x55aa")},
        )
        is None
    )
    assert classify(ok, dict(ok)) is None


def test_identical_runs_have_no_changes(new: dict[str, Any]) -> None:
    d = diff_results(new, copy.deepcopy(new))
    assert all(d[k] == [] for k in KINDS)
    assert d["unchanged"] == len(new["cells"]) and d["added"] == d["removed"] == 0
    assert "No cell changed." in diff_markdown(d)


def test_newly_broken_fixed_and_changed_error(new: dict[str, Any]) -> None:
    old = copy.deepcopy(new)
    broken = _cell(old, "pass")  # passes in old ...
    fixed = _cell(old, "load_error")
    changed = _cell(old, "load_error", same_env=False)
    # ... so make the new run break it, and so on
    key = lambda c: (c["scenario"], c["format"], c["save_row"], c["load_row"])  # noqa: E731
    cells = {key(c): c for c in new["cells"]}
    cells[key(broken)].update(status="load_error", option="default", error=_error("Unknown layer: 'Lambda'"), fix="x")
    cells[key(fixed)].update(status="pass", option="default", error=None, fix=None)
    cells[key(changed)].update(error=_error("a different message"))
    new["cells"].append({**cells[key(broken)], "format": "weights", "scenario": "zz_new"})  # only in new
    d = diff_results(old, new)
    assert [e["key"]["scenario"] for e in d["newly_broken"]] == [broken["scenario"]]
    assert d["newly_broken"][0]["old"]["status"] == "pass"
    assert d["newly_broken"][0]["new"] == {
        "status": "load_error",
        "option": "default",
        "error": "ValueError: Unknown layer: 'Lambda'",
    }
    assert [e["key"] for e in d["newly_fixed"]] == [
        dict(zip(("scenario", "format", "save_row", "load_row"), key(fixed), strict=True))
    ]
    assert len(d["changed_error"]) == 1 and d["changed_error"][0]["new"]["error"].endswith("a different message")
    assert d["added"] == 1 and d["removed"] == 0
    md = diff_markdown(d)
    assert "| Newly broken | 1 |" in md and "## Newly fixed (1)" in md
    assert "`ValueError: Unknown layer: 'Lambda'`" in md
    for line in md.splitlines():
        if line.startswith("| `"):
            assert line.count(" | ") == 5  # six columns, pipes in messages escaped


def test_markdown_escapes_pipes_and_html(new: dict[str, Any]) -> None:
    old = copy.deepcopy(new)
    cell = _cell(new, "load_error")
    cell["error"] = _error("a | b <script>alert(1)</script>")
    md = diff_markdown(diff_results(old, new))
    assert "a \\| b" in md
    assert "<script>" not in md.replace("`ValueError: a \\| b <script>alert(1)</script>`", "")


def test_cli_diff_prints_markdown(new: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = copy.deepcopy(new)
    _cell(old, "pass").update(status="load_error", option="default", error=_error("boom"), fix="x")
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(new), encoding="utf-8")
    args = cli.parser().parse_args(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Changes between two keras-compat runs") and "| Newly fixed | 1 |" in out


def test_cli_diff_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert "no results file at" in capsys.readouterr().err


def test_cli_badges(new: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text(json.dumps(new), encoding="utf-8")
    assert cli.main(["badges", "--results", str(tmp_path / "r.json"), "--out", str(tmp_path / "b")]) == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["last-run.svg", "pass-rate.svg"]


def test_the_size_of_a_wrong_answer_is_not_a_changed_error() -> None:
    """Two runs of the same wrong output differ only in the number: not a change (the number stays in the record)."""

    def wrong(diff: str, rtol: str = "1e-05") -> dict[str, Any]:
        return {
            "status": "wrong_output",
            "error": {
                "type": "OutputMismatch",
                "traceback": "",
                "message": f"max |loaded - original| = {diff} (rtol={rtol}, atol=1e-06)",
            },
        }

    assert classify(wrong("0.0440212"), wrong("0.176451")) is None
    assert classify(wrong("0.0440212"), wrong("nan")) is None
    # a changed tolerance is a real change
    assert classify(wrong("0.0440212"), wrong("0.0440212", rtol="0.01")) == "changed_error"


def test_a_graph_tensors_op_id_is_not_a_changed_error() -> None:
    """Keras 3's export() names the untracked resource by its op id, which depends on what the process built first."""

    def untracked(op: str) -> dict[str, Any]:
        message = (
            f'Tried to export a function which references untracked resource Tensor("{op}:0", shape=(), '
            "dtype=resource). TensorFlow objects (e.g. tf.Variable) captured by functions must be tracked"
        )
        return {"status": "save_error", "error": {"type": "AssertionError", "traceback": "", "message": message}}

    assert classify(untracked("3100"), untracked("2887")) is None
    assert error_signature("AssertionError", untracked("3100")["error"]["message"])[1].count('Tensor("N:0"') == 1
