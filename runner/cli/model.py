"""``keras-compat scan`` and ``check``: a team's own model file, read as data or loaded in the grid's envs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runner.core.errors import SelectionError
from runner.run.catalog import REPO
from runner.run.dispatch import BACKENDS
from runner.run.grid import Row, load_grid, select


def cmd_scan(args: argparse.Namespace) -> int:
    import json

    from runner.scan.index import load_predictions
    from runner.scan.predict import predict, text
    from runner.scan.reader import ScanError, scan

    index = None  # read once for every file: the measurements are the slow part of a scan
    found: list[dict] = []
    failed = 0
    for model in args.models:
        try:
            facts = scan(Path(model))  # reads the file as data: nothing in it is run
        except ScanError as exc:
            if len(args.models) == 1:
                raise
            print(f"error: {exc}", file=sys.stderr)  # one line per bad file; the others are still scanned
            failed += 1
            continue
        if index is None:
            index = load_predictions(Path(args.results))
        prediction = predict(facts, index)
        if not args.json:
            sys.stdout.write(("\n" if found else "") + text(prediction))
        found.append(prediction)
    if args.json:
        print(json.dumps(found[0] if len(args.models) == 1 else found, indent=1))  # one object for one file
    return 2 if failed else 0


# What scan's format means on disk (the calls that read a file follow it: runner/harness/protocol.py calls_for).
WRITTEN_OF_SCAN = {"h5": "hdf5", "keras": "zip", "keras_h5": "hdf5", "savedmodel": "savedmodel_dir"}


def references_for(facts, rows: list[Row]) -> list[str]:
    """The rows to compare outputs with, best first: the one nearest to the versions the file was saved with
    (its Keras, TF and bytecode Python: runner/scan/predict.py saved_in), then the others of its line by
    closeness. Empty when no row matches the saver: then the rows are compared with each other."""
    from runner.core.versions import version_key
    from runner.scan.predict import saved_in

    as_dicts = [
        {
            "id": r.id,
            "flavour": r.flavour,
            "keras": r.keras,
            "tf": r.tf,
            "python": r.python,
            "tags": list(r.tags),
            "env_vars": dict(r.env_vars),
        }
        for r in rows
    ]
    first = saved_in(facts, as_dicts)
    if first is None:
        return []
    want = version_key(first["keras"]) + (0, 0, 0)

    def closeness(r: dict) -> tuple:
        keras = version_key(r["keras"]) + (0, 0, 0)
        return (
            r["flavour"] != first["flavour"],
            [abs(a - b) for a, b in zip(keras[:3], want[:3], strict=True)],
            r["id"],
        )

    return [first["id"]] + [r["id"] for r in sorted(as_dicts, key=closeness) if r["id"] != first["id"]]


_SAY = {  # a row's one-line answer: what the status means for the call a user makes
    "pass": "works: {call}",
    "pass_custom_objects": "works with your custom objects: {call}",
    "pass_unsafe": "works only with safe_mode=False (it runs the file's stored code): {call}",
    "pass_inference_only": "works for inference only (no fit, summary or layer access): {call}",
    "wrong_output": "silently wrong: {call} loads and computes something else",
}


def answer_line(v: dict, reference: str | None) -> str:
    """One row's answer: what works and how, whether it was compared, or the deciding error."""
    from runner.core.vocab import STATUS_LABELS, WORKING

    symbol, label = STATUS_LABELS[v["status"]]  # type: ignore[index]
    call = " ".join((v.get("call") or v["option"]).split())
    if v["status"] in _SAY:
        text = _SAY[v["status"]].format(call=call)
        if v["status"] in WORKING:
            if v["row"] == reference:
                text += " (the reference the others are compared with)"
            elif v.get("compared_with"):
                text += f"; computes the same as {v['compared_with']}"
            else:
                text += "; loads and runs, not compared: no reference produced an output"
        elif v.get("compared_with"):
            text += f" than {v['compared_with']}"
        return f"{symbol} {text}"
    error = v.get("error") or {}
    first = " ".join(str(error.get("message", "")).split())
    return f"{symbol} {label}: {call}: {error.get('type', '')}: {first}" if error else f"{symbol} {label}"


def loads_as_today(verdicts: list[dict], serve: bool, required: list[str]) -> tuple[list[str], list[str]]:
    """The rows that load the model as the team loads it today (the plain call; with ``--serve``, also the
    custom objects it passes), and the ``required`` rows that do not. ``check`` exits 1 when the first is
    empty or the second is not: the gate of the CI use."""
    today = {"pass", "pass_custom_objects"} if serve else {"pass"}
    loads = [v["row"] for v in verdicts if v["status"] in today]
    return loads, [r for r in required if r not in loads]


def cmd_check(args: argparse.Namespace) -> int:
    import json

    from runner.core.vocab import WORKING
    from runner.run.check import check
    from runner.scan.reader import scan

    model = Path(args.model)
    facts = scan(model)  # a bad file is one line here, before any env is built
    if args.input and not Path(args.input).is_file():
        raise SelectionError(
            f"--input {args.input}: no such file; pass a .npy array of the model's input (or a .npz, one per input)"
        )
    if args.serve and not Path(args.serve).is_file():
        raise SelectionError(f"--serve {args.serve}: no such file; pass the Python file your service loads with")
    grid = load_grid(Path(args.grid) if args.grid else None)
    rows = [grid.row(r) for r in select(args.rows, [r.id for r in grid.rows], "row")]
    required = select(args.require, [r.id for r in rows], "row") if args.require else []
    references = references_for(facts, rows)
    sandbox = args.sandbox or args.backend == "docker"  # a uv row in a container is the sandbox
    backend = BACKENDS["uv" if sandbox else args.backend](home=Path(args.home) if args.home else None)
    found = check(
        model,
        rows,
        backend,
        references=references,
        input_path=Path(args.input) if args.input else None,
        serve=Path(args.serve) if args.serve else None,
        jobs=args.jobs,
        sandbox=sandbox,
        written=WRITTEN_OF_SCAN.get(facts.format),
    )
    loads, missing = loads_as_today(found["rows"], bool(args.serve), required)
    found["loads_as_today"] = loads
    found["exit"] = 1 if (missing or not loads) else 0
    text = json.dumps(found, indent=1)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    if args.json:
        print(text)
        return found["exit"]
    reference = found["reference"]
    saver = ", ".join(
        p
        for p in (
            f"Keras {facts.keras_version}" if facts.keras_version else "",
            f"TF {facts.tf_version}" if facts.tf_version else "",
        )
        if p
    )
    print(
        f"{model}: saved by {saver or 'an unknown Keras'}; {len(rows)} environments in {found['wall_s']}s"
        + (" (every load in a container: --sandbox)" * sandbox)
    )
    for v in found["rows"]:
        print(f"{v['row']:28} {answer_line(v, reference)}")
        if v["fix"] and v["status"] not in WORKING:  # a working row's answer names its call already
            print(f"{'':29}fix: {v['fix']}")
    how = {
        "saved_in": "the env nearest to the versions the file was saved with",
        "nearest": f"the nearest env that loaded it ({references[0]} did not)" if references else "",
        "each_other": "no env matches the file's saver: the envs are compared with each other",
        "none": "no env produced an output",
    }[found["reference_how"]]
    print(f"outputs compared with: {reference or 'nothing'} ({how})")
    print("loads as you load it today in: " + (", ".join(loads) or "none"))
    if missing:
        print("required but not loading as today: " + ", ".join(missing))
    holds = [f"{v.kind.replace('_', ' ')} in {v.where}" for v in getattr(facts, "vectors", [])]
    print("\nevery call made:")
    for v in found["rows"]:
        print(f"  {v['row']} ({v['label']})")
        for r in v["records"]:
            err = r.get("error") or {}
            said = f": {err.get('type')}: {' '.join(str(err.get('message', '')).split())}" if err else ""
            print(f"    {r.get('call') or r['option']}: {r['outcome']}{said}")
        for line in ran_lines(v, holds):
            print(f"    {line}")
    return found["exit"]


# How an audit event reads after "loading ran" / "the first call ran" (runner/harness/audit.py).
_EVENT_WORDS = {
    "pickle.find_class": "an unpickling of {}",
    "marshal.loads": "marshal.loads ({} of bytecode)",
    "marshal.load": "marshal.load {}",
    "open": "a write to {}",
    "import": "an import of {}",
    "urllib.Request": "a fetch of {}",
    "read": "a read of {}",
    "truncated": "({})",
}


def event_text(event: dict) -> str:
    """``os.system('echo …')``, ``an unpickling of posix.system``: one audit event as the check says it."""
    words = _EVENT_WORDS.get(event["event"])
    if words:
        return words.format(event["detail"])
    return f"{event['event']}({event['detail']!r})" if event["detail"] else event["event"]


def ran_lines(verdict: dict, holds: list[str]) -> list[str]:
    """What the calls made in one row did besides reading the file, one line per phase and what it did
    (the calls that did the same listed together): ``loading ran os.system('…') on TF 2.18.1 · Keras 3
    3.6.0 · Py 3.11.7 (tf2.18-k3.6-py3.11) in keras.models.load_model("model.keras"): the file holds …``."""
    said: dict[tuple[str, str], list[str]] = {}
    notes = []
    for r in verdict["records"]:
        if r.get("events") is None:
            if r.get("events_note") and r["events_note"] not in notes:
                notes.append(r["events_note"])
            continue
        for phase, verb in (("load", "loading ran"), ("call", "the first call ran")):
            events = [e for e in r["events"] if e["phase"] == phase]
            if events:
                what = ", ".join(event_text(e) for e in events)
                said.setdefault((verb, what), []).append(r.get("call") or r["option"])
    lines = [f"what the loads ran: {note}" for note in notes]
    for (verb, what), calls in said.items():
        lines.append(
            f"{verb} {what} on {verdict['label']} ({verdict['row']}) in {', '.join(calls)}"
            + (f": the file holds {', '.join(holds)}" if holds else "")
        )
    return lines


def add_model_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sc = sub.add_parser(
        "scan",
        help="what a .h5/.keras/SavedModel holds (Lambda code, custom classes, versions) "
        "and what the grid measured for its patterns, without running anything from it",
    )
    sc.add_argument("models", nargs="+", metavar="model", help=".h5 or .keras files, or SavedModel directories")
    sc.add_argument(
        "--results",
        default=str(REPO / "reports" / "results.json"),
        help="the measurements to predict from (scan-index.json beside it is read instead when newer)",
    )
    sc.add_argument(
        "--json", action="store_true", help="the scan and the prediction as JSON (a list for several files)"
    )
    sc.set_defaults(func=cmd_scan)
    ck = sub.add_parser(
        "check",
        help="load your model in every selected environment (each load isolated), call it, compare its outputs "
        "with the environment nearest to its saver; exit 1 when no environment loads it as you do today",
    )
    ck.add_argument("model", help="a .h5 or .keras file, or a SavedModel directory")
    ck.add_argument("--rows", action="append", help="row ids or globs, comma-separated (default: the whole grid)")
    ck.add_argument(
        "--input",
        default=None,
        help="a .npy input to call the model on, or a .npz with one array per input name "
        "(default: seeded data of each input's shape)",
    )
    ck.add_argument(
        "--serve",
        default=None,
        help="your loading code (a .py file run in each env's child, never "
        "here): its CUSTOM_OBJECTS dict and register() function are tried as load options",
    )
    ck.add_argument("--json", action="store_true", help="every record and verdict as JSON")
    ck.add_argument("--json-out", default=None, metavar="FILE", help="also write the JSON to FILE (with the text)")
    ck.add_argument(
        "--require",
        action="append",
        metavar="ROWS",
        help="rows (ids or globs) that must load the model as you load it today; else exit 1",
    )
    ck.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="rows at once (default: CPU count)")
    ck.add_argument("--home", default=None, help="where envs live (default: $KC_HOME)")
    ck.add_argument(
        "--sandbox",
        action="store_true",
        help="run every load in a container of the base image (the row's lock as its packages, no network, "
        "the repository read-only, only a scratch folder writable; engine and image: tools/docker/engine.sh ensure)",
    )
    ck.add_argument(
        "--backend", default="uv", choices=sorted(BACKENDS), help="uv (default), or docker: the same as --sandbox"
    )
    ck.add_argument("--grid", default=None, help="grid file")
    ck.set_defaults(func=cmd_check)
