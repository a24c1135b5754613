"""check's answers say what happened and nothing more: "computes the same" only after a comparison, the
call each answer rests on, and an exit code a CI gate can read (runner/cli/model.py)."""

from __future__ import annotations

from runner.cli.model import answer_line, loads_as_today


def _v(row: str, status: str, **kw) -> dict:
    return {
        "row": row,
        "status": status,
        "option": "default",
        "call": 'keras.models.load_model("m.h5")',
        "fix": None,
        "error": None,
        **kw,
    }


def test_computes_the_same_only_where_outputs_were_compared() -> None:
    alone = answer_line(_v("a", "pass"), reference=None)
    assert "not compared" in alone and "computes the same" not in alone
    assert "computes the same as r" in answer_line(_v("a", "pass", compared_with="r"), reference="r")
    assert "the reference" in answer_line(_v("r", "pass", compared_with="r"), reference="r")
    tfsm = answer_line(_v("k3", "pass_inference_only", call='keras.layers.TFSMLayer("m", call_endpoint="serve")'), None)
    assert "inference only" in tfsm and "TFSMLayer" in tfsm  # the call named, not "a plain load_model"
    wrong = answer_line(_v("b", "wrong_output", compared_with="r"), reference="r")
    assert "silently wrong" in wrong and "than r" in wrong


def test_a_failing_row_says_its_deciding_error_whole() -> None:
    message = "x" * 500
    line = answer_line(_v("a", "load_error", error={"type": "ValueError", "message": message}), None)
    assert line.endswith(message)  # no 110-character cut


def test_the_exit_gate_is_the_call_the_team_makes_today() -> None:
    rows = [_v("a", "pass_unsafe"), _v("b", "pass_custom_objects"), _v("c", "load_error")]
    assert loads_as_today(rows, serve=False, required=[]) == ([], [])  # nothing loads plainly: exit 1
    assert loads_as_today(rows, serve=True, required=[]) == (["b"], [])
    assert loads_as_today(rows, serve=True, required=["b", "c"]) == (["b"], ["c"])
