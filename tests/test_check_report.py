"""What ``keras-compat check`` says a file ran, from the records' audit events (no TensorFlow here); and the
one registry of backends that ``run`` and ``check`` share."""

from __future__ import annotations

from runner.cli.model import event_text, ran_lines

ROW = {"row": "tf2.18-k3.6-py3.11", "label": "TF 2.18.1 · Keras 3 3.6.0 · Py 3.11.7"}
SYSTEM = {"phase": "load", "event": "os.system", "detail": "echo load >> canary.txt"}
UNPICKLE = {"phase": "load", "event": "pickle.find_class", "detail": "posix.system"}


def _rec(call: str, events: list[dict] | None, note: str | None = None) -> dict:
    return {"option": "default", "call": call, "events": events, "events_note": note}


def test_one_line_per_phase_and_what_it_did_naming_the_row_and_the_calls() -> None:
    verdict = dict(
        ROW,
        records=[
            _rec('keras.models.load_model("m.keras")', [UNPICKLE, SYSTEM]),
            _rec('keras.models.load_model("m.keras", safe_mode=False)', [UNPICKLE, SYSTEM]),
            _rec('keras.models.load_model("m.keras", compile=False)', []),
        ],
    )
    (line,) = ran_lines(verdict, ["pickle in model.weights.npz"])
    assert line.startswith("loading ran an unpickling of posix.system, os.system('echo load >> canary.txt') on ")
    assert "(tf2.18-k3.6-py3.11) in " in line and 'load_model("m.keras"), keras.models.load_model(' in line
    assert line.endswith(": the file holds pickle in model.weights.npz")


def test_what_the_first_call_ran_is_said_apart() -> None:
    verdict = dict(ROW, records=[_rec("tf.saved_model.load(...)", [dict(SYSTEM, phase="call")])])
    (line,) = ran_lines(verdict, [])
    assert line.startswith("the first call ran os.system(") and "the file holds" not in line


def test_python37_rows_say_it_cannot_be_observed() -> None:
    note = "Python 3.7 has no audit hooks (PEP 578 is CPython 3.8+): what the load did cannot be observed"
    verdict = dict(ROW, records=[_rec("a", None, note), _rec("b", None, note)])
    assert ran_lines(verdict, []) == [f"what the loads ran: {note}"]


def test_event_words() -> None:
    assert event_text({"event": "marshal.loads", "detail": "650 bytes"}) == "marshal.loads (650 bytes of bytecode)"
    assert event_text({"event": "open", "detail": "/etc/x (w)"}) == "a write to /etc/x (w)"
    assert event_text({"event": "os.fork", "detail": ""}) == "os.fork"


def test_run_and_check_share_one_registry_of_backends() -> None:
    from runner.cli import model
    from runner.run import backends, dispatch
    from runner.run.grid import BACKEND_NAMES

    assert model.BACKENDS is dispatch.BACKENDS and not hasattr(backends, "BACKENDS")
    assert tuple(dispatch.BACKENDS) == BACKEND_NAMES
