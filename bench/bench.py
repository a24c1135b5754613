"""Benchmark: the three engines on the same cells, side by side, in one run.

    python bench/bench.py                      # sample: 2 rows, 4 scenarios, h5 + keras, same + targets pairs
    python bench/bench.py --scenarios 'lambda_*' --rows tf2.15-k2-py3.11,tf2.21-k3.15-py3.11
    python bench/bench.py --full               # also time the fork engine alone, cold, on the whole default grid

Engines (``runner/run/workers.py``): ``fork`` (the default: a child of a warmed-up
interpreter per save and per load), ``shared`` (one interpreter answers every
request in turn: the old engine, not isolated) and ``fresh`` (a fresh interpreter
per request: the reference). Each starts from built envs and an empty results cache
and does its own saves. Printed per engine: wall time, requests answered, loads per
second of the load phase, harness processes started (each imports TensorFlow); then
the ratios, the machine's load average, and the runner-minutes a ``--pairs all``
nightly would need on 20 shards (extrapolated from the fork engine's rates).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runner.core.vocab import FORMATS  # noqa: E402
from runner.run.backends import UvBackend  # noqa: E402
from runner.run.catalog import load_catalog  # noqa: E402
from runner.run.engine import Engine  # noqa: E402
from runner.run.grid import load_grid, select  # noqa: E402
from runner.run.pairs import plan_pairs, shard  # noqa: E402

DEFAULT_ROWS = "tf2.15-k2-py3.11,tf2.21-k3.15-py3.11"


def tf_import_seconds(env, repeats: int = 2) -> float:
    code = "import time; t = time.time(); import tensorflow; print(time.time() - t)"
    times = []
    for _ in range(repeats):
        out = subprocess.run(env.python_argv() + ["-c", code], env=env.process_env(), capture_output=True, text=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def timed_run(rows, pairs, scenarios, formats, jobs, **engine_args):
    work = Path(tempfile.mkdtemp(prefix="kc-bench-"))
    try:
        engine = Engine(backend=UvBackend(), work=work, scenarios=scenarios, formats=formats, jobs=jobs, **engine_args)
        start = time.monotonic()
        result = engine.run(rows, pairs)
        return time.monotonic() - start, result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def engine_line(name: str, wall: float, res) -> str:
    loads_s = res.timings.get("rows_s", 0) + res.timings.get("cross_s", 0) or wall
    modes = {k: res.processes[k] for k in ("fork", "fresh", "shared", "parent") if res.processes[k]}
    return (
        f"{name:7} {wall:7.1f}s wall, {res.loads:5d} loads in {loads_s:6.1f}s = {res.loads / max(loads_s, 1e-9):5.2f} "
        f"loads/s, {res.worker_starts:4d} processes, by mode {modes}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default=DEFAULT_ROWS)
    ap.add_argument(
        "--scenarios",
        default="lambda_closure_scalar,lambda_closure_rebound,subclass_with_config,hub_direct",
        help="the fresh engine starts TensorFlow per request: keep the sample small",
    )
    ap.add_argument("--formats", default="h5,keras")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--full", action="store_true", help="also time the engine on the whole default grid (cold cache)")
    ap.add_argument("--engines", default="fork,shared,fresh", help="which engines to compare (comma-separated)")
    args = ap.parse_args()

    grid = load_grid()
    catalog = load_catalog()
    rows = [grid.row(r) for r in select([args.rows], [r.id for r in grid.rows], "row")]
    scenarios = {s: catalog[s] for s in select([args.scenarios], list(catalog), "scenario")}
    formats = select([args.formats], list(FORMATS), "format")
    pairs = plan_pairs(rows, "targets")
    cells = len(pairs) * len(scenarios) * len(formats)
    print(
        f"sample: {len(rows)} rows, {len(pairs)} pairs (same + targets), {len(scenarios)} scenarios, "
        f"{len(formats)} formats = {cells} cells; {args.jobs} jobs"
    )
    envs = [UvBackend().prepare(r) for r in rows]  # envs already built for both approaches
    imports = {e.row_id: tf_import_seconds(e) for e in envs}
    imp = statistics.mean(imports.values())
    print("TF import per process: " + ", ".join(f"{k} {v:.1f}s" for k, v in imports.items()))

    print(f"machine load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    measured = {}
    for name in args.engines.split(","):
        wall, res = timed_run(rows, pairs, scenarios, formats, args.jobs, engine=name)
        measured[name] = (wall, res)
        print(engine_line(name, wall, res), flush=True)
    print(f"machine load average after: {os.getloadavg()[0]:.2f} (1 min)")
    if "fork" in measured:
        wall, res = measured["fork"]
        rate = res.loads / max((res.timings.get("rows_s", 0) + res.timings.get("cross_s", 0) or wall), 1e-9)
        for other in ("shared", "fresh"):
            if other in measured:
                owall, ores = measured[other]
                orate = ores.loads / max(
                    (ores.timings.get("rows_s", 0) + ores.timings.get("cross_s", 0) or owall), 1e-9
                )
                print(f"fork vs {other}: {owall / wall:.2f}x wall, {rate / max(orate, 1e-9):.2f}x loads/s")
    else:
        wall, res = next(iter(measured.values()))
    lps = res.loads / max((res.timings.get("rows_s", 0) + res.timings.get("cross_s", 0) or wall) * args.jobs, 1e-9)

    # a --pairs all nightly, extrapolated from the measured per-load and per-row costs
    all_rows = list(grid.rows)
    all_pairs = plan_pairs(all_rows, "all")
    per_cell_loads = res.loads / max(res.ran, 1)
    print(f"imports: TF import per process {imp:.1f}s")
    all_loads = len(all_pairs) * len(catalog) * len(FORMATS) * per_cell_loads
    per_row_s = (
        (res.timings.get("envs_s", 0) + res.processes["start_s"] / args.jobs + res.processes["save_s"] / args.jobs)
        * args.jobs
        / max(len(rows), 1)
    )
    shards = [shard(all_pairs, i, 20) for i in range(1, 21)]
    worst = max(shards, key=len)
    worst_rows = len({r for p in worst for r in p})
    worst_loads = len(worst) * len(catalog) * len(FORMATS) * per_cell_loads
    worst_s = worst_loads / (lps * args.jobs) + worst_rows * per_row_s / args.jobs
    total_min = (
        sum(
            (
                len(s) * len(catalog) * len(FORMATS) * per_cell_loads / (lps * args.jobs)
                + len({r for p in s for r in p}) * per_row_s / args.jobs
            )
            for s in shards
        )
        / 60
    )
    print(
        f"--pairs all: {len(all_pairs)} pairs, ~{all_loads:,.0f} loads at {lps:.2f} loads/s/core; on 20 shards of "
        f"{args.jobs} cores: ~{total_min:.0f} runner-minutes in all, the slowest shard ~{worst_s / 60:.0f} min"
    )

    if args.full:
        full_rows = list(grid.rows)
        full_pairs = plan_pairs(full_rows, "targets")
        fwall, fres = timed_run(full_rows, full_pairs, catalog, list(FORMATS), args.jobs)
        fcells = len(full_pairs) * len(catalog) * len(FORMATS)
        print(
            f"whole default grid (targets, cold cache, envs built): {fwall / 60:.1f} min, {fcells} cells, "
            f"{fres.loads} loads, {fcells / fwall:.1f} cells/s; phases {fres.timings}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
