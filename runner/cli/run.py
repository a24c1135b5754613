"""``keras-compat run``: measure the grid (or one stage of the nightly) and publish."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from runner import __version__
from runner.core.cells import count_statuses
from runner.core.errors import HarnessDefect, SelectionError
from runner.core.vocab import FORMATS
from runner.run.catalog import load_catalog, measured_in
from runner.run.dispatch import RowBackends
from runner.run.grid import load_grid, select
from runner.run.pairs import plan_pairs, shard
from runner.run.progress import PlainProgress, RichProgress, prior_costs, tox_terminal
from runner.run.state import Progress as EngineProgress


def cmd_run(args: argparse.Namespace) -> int:
    from runner.core.results import utc_now
    from runner.report.publish import publish_run
    from runner.run.collect import build_results, command_line
    from runner.run.coverage import coverage
    from runner.run.engine import Engine
    from runner.run.state import Progress

    if args.jobs < 1:
        raise SelectionError(f"--jobs {args.jobs}: use 1 or more CPU slots (default: the CPU count)")
    grid = load_grid(Path(args.grid) if args.grid else None)
    catalog = load_catalog()
    row_ids = select(args.rows, [r.id for r in grid.rows], "row")
    scenario_ids = select(args.scenarios, list(catalog), "scenario")
    formats = select(args.formats, list(FORMATS), "format")
    rows = [grid.row(r) for r in row_ids]
    scenarios = {s: catalog[s] for s in scenario_ids}
    work = Path(args.work)
    backend = RowBackends(home=Path(args.home) if args.home else None, default=args.backend, work=work)
    terminal = None if args.quiet else tox_terminal()
    if args.quiet:
        progress: EngineProgress = Progress()
    elif terminal is not None or not sys.stderr.isatty():
        progress = PlainProgress(terminal=terminal)
    else:
        progress = RichProgress()
    if isinstance(progress, PlainProgress):  # what each kind of cell cost in the last published run, read aside
        shown, last = progress, Path(args.out) / "results.json"
        threading.Thread(target=lambda: shown.prior(prior_costs(last)), daemon=True).start()
    started, t0 = utc_now(), time.monotonic()
    if args.stage == "load" and not args.artifacts:
        raise SelectionError(
            "--stage load reads what save jobs wrote: pass --artifacts DIR (run --stage save --out DIR)"
        )
    if args.artifacts and args.stage != "load":
        raise SelectionError("--artifacts is for --stage load")
    pairs = plan_pairs(rows, "same" if args.stage == "save" else args.pairs)
    if args.shard:
        index, _, count = args.shard.partition("/")
        try:
            pairs = shard(pairs, int(index), int(count))
        except ValueError:
            raise SelectionError(f"--shard {args.shard}: use I/N with 1 <= I <= N, e.g. --shard 2/20") from None
        rows = [r for r in rows if any(r.id in p for p in pairs)]
    cells = sum(len(measured_in(pair, scenarios)) for pair in pairs) * len(formats)
    print(
        f"keras-compat {__version__}: {len(rows)} rows, {len(pairs)} save/load pairs ({args.pairs}) x "
        f"{len(scenarios)} scenarios x {len(formats)} formats = {cells} cells (a vector's canary only where it was "
        f"saved), {args.jobs} CPU slots",
        file=sys.stderr,
    )
    engine = Engine(
        backend=backend,
        work=work,
        scenarios=scenarios,
        formats=formats,
        jobs=args.jobs,
        progress=progress,
        lazy=args.lazy,
        engine="fresh" if args.isolate else args.engine,
        shuffle=args.shuffle,
        run_id=started,
        stage=args.stage,
        bundles=[Path(a) for a in args.artifacts or []],
    )

    def stop(signum, frame):  # Ctrl-C or SIGTERM: stop workers, record nothing in flight, keep what finished
        engine.stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        run = engine.run(rows, pairs)
    finally:
        if isinstance(progress, RichProgress):
            progress.stop()
    if run.defects:
        first = run.defects[0]
        where = first["error"]["traceback"].strip().rsplit("\n", 1)[-1] if first["error"].get("traceback") else ""
        raise HarnessDefect(
            f"{len(run.defects)} cell(s) failed in keras-compat's own harness code, not in TensorFlow or Keras "
            f"(nothing published; the other cells are cached): first {first['scenario']} {first['format']} "
            f"saved in {first['save_row']}, loaded in {first['load_row']}, {first['option']}: "
            f"{first['error']['type']}: {first['error']['message'][:200]} {where}; see the row's log in "
            f"{work / 'logs'}"
        )
    wall_s = time.monotonic() - t0
    finished = utc_now()
    if args.stage == "save":  # the save job's artifacts and save records, for the load jobs
        from runner.run.bundle import write_bundle

        path = write_bundle(Path(args.out), run, engine.artifacts, work)
        saved = sum(1 for _ in Path(args.out).glob("artifacts/*/*/manifest.json"))
        print(f"{len(rows)} rows saved ({saved} artifacts) in {wall_s:.0f}s; wrote {path}", file=sys.stderr)
        return 0
    known = engine.store.runs()
    measured = [
        {
            "started": run_id,
            "finished": known.get(run_id, {}).get("finished"),
            "wall_s": known.get(run_id, {}).get("wall_s"),
            "cells": n,
        }
        for run_id, n in sorted(run.measured.items(), key=lambda item: str(item[0]))
        if run_id is not None  # cells cached before runs were recorded
    ]
    results = build_results(
        run,
        scenarios,
        formats,
        started=started,
        finished=finished,
        measured=measured,
        wall_s=wall_s,
        pairs=args.pairs,
        selection={"rows": args.rows or ["*"], "scenarios": args.scenarios or ["*"], "formats": args.formats or ["*"]},
        command=command_line(),
        engine=engine.engine,
        shuffle=args.shuffle,
        row_order=[r.id for r in grid.rows],
    )
    results["coverage"] = coverage(results["rows"], asked=finished)  # what the page does not measure yet
    written = publish_run(results, Path(args.out)) + [scan_index(results, Path(args.out))]
    counts = count_statuses(cell["status"] for cell in results["cells"])
    print(
        f"{len(results['cells'])} cells ({run.ran} run, {run.cached} from cache) in {time.monotonic() - t0:.0f}s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
        file=sys.stderr,
    )
    modes = ", ".join(f"{k} {run.processes[k]}" for k in ("fork", "fresh", "parent", "shared") if run.processes[k])
    print(
        f"  loads sent {run.loads}, deduplicated {run.deduped}; answered by mode: {modes or 'none'}; "
        f"harness processes {run.worker_starts}, fork crashes/hangs confirmed fresh "
        f"{run.processes['confirmed_fresh']}, parents restarted {run.processes['parent_restarts']}; "
        + ", ".join(f"{k} {v}s" for k, v in run.timings.items()),
        file=sys.stderr,
    )
    print(
        "  core seconds: " + ", ".join(f"{k} {run.processes[k]:.0f}" for k in ("start_s", "save_s", "load_s")),
        file=sys.stderr,
    )
    if run.slots:
        states = ", ".join(f"{k} {v:.0f}s" for k, v in run.slots.items() if k not in ("slots", "busy_share"))
        print(
            f"  {run.slots['slots']} slots, {run.slots['busy_share']:.0%} busy ({states}; "
            f"timeline in {work / 'logs' / 'slots.jsonl'})",
            file=sys.stderr,
        )
    for row_id, why in run.no_fork.items():
        print(f"  no fork on {row_id} (a fresh interpreter per request): {why}", file=sys.stderr)
    for row_run in run.rows:
        if row_run.error:
            print(f"  env_error {row_run.row.id}: {row_run.error}", file=sys.stderr)
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0


def scan_index(results: dict, out: Path) -> Path:
    """``scan-index.json`` beside the reports: what `scan` predicts from, without reading results.json."""
    from runner.scan.index import INDEX_NAME, write_index

    return write_index(results, out / INDEX_NAME)
