"""A stand-in for ``python -m runner.harness serve``: the protocol, no TensorFlow.

For tests of the orchestrator's plumbing only (sessions, retries, fallbacks, the
engine's order, dedupe and lazy options); it claims nothing about what breaks where.
What it answers depends on the request's scenario name:

``crash_in_fork``  a fork child dies (exit code 3); a fresh process answers ok
``crash_always``   dies in every mode (a fresh one after telling its call, as the real harness does)
``parent_dies``    the serving process itself exits, the first time only (a marker file)
``needs_custom``   default load fails, custom_objects works
anything else      ok
Environment: ``FAKE_NO_FORK=1`` makes the fork check fail; ``FAKE_LOG=FILE`` appends
each request (mode, scenario, option) to FILE; ``FAKE_SLEEP=S`` makes every load take S seconds;
``FAKE_SAVE_HANG=FILE``: while FILE exists, a save writes its artifacts and hangs before its meta.json.
"""

import argparse
import json
import os
import sys
import threading
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def answer(req, mode):
    name = req.get("scenario", "")
    if req["kind"] == "save":
        os.makedirs(req["out"], exist_ok=True)
        for fmt in req["formats"]:  # an artifact per format, as a real save writes
            with open(os.path.join(req["out"], "model." + fmt), "w") as handle:
                handle.write(name + fmt)
        hang = os.environ.get("FAKE_SAVE_HANG")
        if hang and os.path.exists(hang):  # a save that is stopped halfway: no meta.json yet
            time.sleep(120)
        formats = {
            f: {"outcome": "ok", "error": None, "save_s": 0.0, "written": "file", "sha256": name + f}
            for f in req["formats"]
        }
        meta = {
            "outcome": "ok",
            "stage": "save",
            "error": None,
            "stages": {},
            "formats": formats,
            "ref_sha256": "ref-" + name,
        }
        with open(os.path.join(req["out"], "meta.json"), "w") as handle:
            json.dump(meta, handle)
        return {"outcome": "ok", "stage": "save", "error": None}
    if name == "crash_always" or (name == "crash_in_fork" and mode == "fork"):
        return {
            "outcome": "crash",
            "stage": "load",
            "exit_code": 3,
            "stderr_tail": ["boom"],
            "error": None,
            "max_abs_diff": None,
            "durations": {},
        }
    ok = {
        "outcome": "ok",
        "stage": "compare",
        "error": None,
        "max_abs_diff": 0.0,
        "durations": {},
        "tolerance": {"rtol": 1e-5, "atol": 1e-6},
    }
    if name == "needs_custom" and req["option"] == "default":
        return dict(
            ok,
            outcome="load_error",
            stage="load",
            max_abs_diff=None,
            error={"type": "NameError", "message": "name 't' is not defined", "traceback": ""},
        )
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command")
    ap.add_argument("--scenario-dir", required=True)
    ap.add_argument("--mode", default="fork")
    args = ap.parse_args()
    fork = args.mode == "fork" and os.environ.get("FAKE_NO_FORK") != "1"
    emit(
        {
            "event": "ready",
            "fork": fork,
            "fork_error": None if fork or args.mode != "fork" else "no fork here",
            "facts": {},
            "mode": args.mode,
        }
    )
    mode = "fork" if fork else args.mode
    for line in sys.stdin:
        req = json.loads(line)
        if os.environ.get("FAKE_LOG"):
            with open(os.environ["FAKE_LOG"], "a") as handle:
                handle.write(json.dumps([mode, req.get("scenario"), req.get("option")]) + "\n")
        if req.get("scenario") == "parent_dies":
            marker = os.path.join(args.scenario_dir, "parent_died")
            if not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(9)
        if req.get("scenario") == "crash_always" and mode != "fork":
            # as the real harness does, the call's code goes out before the call runs (and dies)
            emit({"event": "call", "id": req["id"], "call": 'keras.models.load_model("model.h5")'})
            os._exit(3)
        if req["kind"] == "load" and os.environ.get("FAKE_SLEEP"):
            # a load that costs time (progress estimates), answered beside the others as forked children are
            threading.Thread(target=_later, args=(req, mode, float(os.environ["FAKE_SLEEP"]))).start()
            continue
        record = answer(req, mode)
        record.update(id=req["id"], event="record", mode=mode)
        emit(record)


_EMIT = threading.Lock()


def _later(req, mode, seconds):
    time.sleep(seconds)
    record = answer(req, mode)
    record.update(id=req["id"], event="record", mode=mode)
    with _EMIT:
        emit(record)


if __name__ == "__main__":
    main()
