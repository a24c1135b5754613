"""``keras-compat scan`` and ``check``: a team's own model file, read as data or loaded in the grid's envs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runner.core.errors import SelectionError
from runner.run.catalog import REPO
from runner.run.dispatch import BACKENDS
from runner.run.grid import load_grid, select


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


def cmd_check(args: argparse.Namespace) -> int:
    import json

    from runner.core.vocab import STATUS_LABELS
    from runner.run.check import check
    from runner.scan.predict import saved_in
    from runner.scan.reader import scan

    model = Path(args.model)
    facts = scan(model)  # a bad file is one line here, before any env is built
    if args.input and not Path(args.input).is_file():
        raise SelectionError(f"--input {args.input}: no such file; pass a .npy array of the model's input")
    if args.serve and not Path(args.serve).is_file():
        raise SelectionError(f"--serve {args.serve}: no such file; pass the Python file your service loads with")
    grid = load_grid(Path(args.grid) if args.grid else None)
    rows = [grid.row(r) for r in select(args.rows, [r.id for r in grid.rows], "row")]
    as_dicts = [{"id": r.id, "flavour": r.flavour, "keras": r.keras, "tags": list(r.tags)} for r in rows]
    origin = saved_in(facts, as_dicts)
    sandbox = args.sandbox or args.backend == "docker"  # a uv row in a container is the sandbox
    backend = BACKENDS["uv" if sandbox else args.backend](home=Path(args.home) if args.home else None)
    found = check(
        model,
        rows,
        backend,
        reference=origin["id"] if origin else None,
        input_path=Path(args.input) if args.input else None,
        serve=Path(args.serve) if args.serve else None,
        jobs=args.jobs,
        sandbox=sandbox,
        written=WRITTEN_OF_SCAN.get(facts.format),
    )
    if args.json:
        print(json.dumps(found, indent=1))
        return 0
    print(
        f"{model}: Keras {facts.keras_version or '?'}; outputs compared with "
        f"{found['reference'] or 'nothing (the env it was saved in is not selected or did not load it)'}; "
        f"{len(rows)} environments in {found['wall_s']}s" + (" (every load in a container: --sandbox)" * sandbox)
    )
    holds = [f"{v.kind.replace('_', ' ')} in {v.where}" for v in getattr(facts, "vectors", [])]
    fixes = {
        "pass_custom_objects": "pass your CUSTOM_OBJECTS (as --serve does) to load_model",
        "pass_unsafe": "load_model(..., safe_mode=False): only for files you trust",
    }
    for v in found["rows"]:
        symbol, label = STATUS_LABELS[v["status"]]
        fix = fixes.get(v["status"], v["fix"] if v["fix"] and "scenario" not in v["fix"] else "")
        print(f"{v['row']:28} {symbol} {label}" + (f"  ({fix})" if fix else ""))
        if v["status"] not in ("pass", "pass_custom_objects", "pass_unsafe"):
            for r in v["records"]:
                if r["error"] and r["outcome"] != "unsupported":
                    print(
                        f"{'':31}{r['option']}: {r['error']['type']}: {' '.join(r['error']['message'].split())[:110]}"
                    )
        for line in ran_lines(v, holds):
            print(f"{'':31}{line}")
    window = [v["row"] for v in found["rows"] if v["status"] == "pass"]
    print("loads unchanged with a plain load_model and computes the same in: " + (", ".join(window) or "none"))
    return 0


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
        help="load your model in every selected environment (each load isolated), call it "
        "and compare its outputs with the environment it was saved in",
    )
    ck.add_argument("model", help="a .h5 or .keras file, or a SavedModel directory")
    ck.add_argument("--rows", action="append", help="row ids or globs, comma-separated (default: the whole grid)")
    ck.add_argument(
        "--input", default=None, help="a .npy input to call the model on (default: seeded data of its input shape)"
    )
    ck.add_argument(
        "--serve",
        default=None,
        help="your loading code (a .py file run in each env's child, never "
        "here): its CUSTOM_OBJECTS dict and register() function are tried as load options",
    )
    ck.add_argument("--json", action="store_true", help="every record and verdict as JSON")
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
