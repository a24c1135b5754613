"""Benchmark: this engine vs the naive approach on the same cells, and the whole grid.

    python bench/bench.py                      # sample: 2 rows, every scenario and format, same + targets pairs
    python bench/bench.py --scenarios 'lambda_*' --rows tf2.15-k2-py3.11,tf2.21-k3.15-py3.11
    python bench/bench.py --full               # also time the engine alone, cold, on the whole default grid

The naive approach is one fresh ``python`` process per load with every option tried
(``Engine(isolate=True, lazy="never")``); both start from built envs and an empty
results cache, and both save through one process per row, so the ratio measures
the loads. Printed: both wall times and their ratio, cells per second, the share of
time spent importing TensorFlow, loads per second per core, and the runner-minutes a
``--pairs all`` nightly would need on 20 shards (extrapolated from the measured rates).
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

from runner.backends import UvBackend  # noqa: E402
from runner.catalog import load_catalog  # noqa: E402
from runner.execute import Engine  # noqa: E402
from runner.grid import load_grid, select  # noqa: E402
from runner.model import FORMATS  # noqa: E402
from runner.pairs import plan_pairs, shard  # noqa: E402

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default=DEFAULT_ROWS)
    ap.add_argument("--scenarios", default="*")
    ap.add_argument("--formats", default="*")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--full", action="store_true", help="also time the engine on the whole default grid (cold cache)")
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args()

    grid = load_grid()
    catalog = load_catalog()
    rows = [grid.row(r) for r in select([args.rows], [r.id for r in grid.rows], "row")]
    scenarios = {s: catalog[s] for s in select([args.scenarios], list(catalog), "scenario")}
    formats = select([args.formats], list(FORMATS), "format")
    pairs = plan_pairs(rows, "targets")
    cells = len(pairs) * len(scenarios) * len(formats)
    print(f"sample: {len(rows)} rows, {len(pairs)} pairs (same + targets), {len(scenarios)} scenarios, "
          f"{len(formats)} formats = {cells} cells; {args.jobs} jobs")
    envs = [UvBackend().prepare(r) for r in rows]  # envs already built for both approaches
    imports = {e.row_id: tf_import_seconds(e) for e in envs}
    imp = statistics.mean(imports.values())
    print("TF import per process: " + ", ".join(f"{k} {v:.1f}s" for k, v in imports.items()))

    wall, res = timed_run(rows, pairs, scenarios, formats, args.jobs)
    processes = res.worker_starts + len(rows)  # load workers + one save process per row
    share = processes * imp / (wall * args.jobs)
    lps = res.loads / max(res.timings.get("loads_s", wall) * args.jobs, 1e-9)
    print(f"engine: {wall:.1f}s wall, {cells / wall:.2f} cells/s, {res.loads} loads ({res.deduped} deduplicated), "
          f"{processes} TF imports = {share:.0%} of core time; loads/s/core {lps:.2f}; phases {res.timings}")
    if not args.skip_naive:
        nwall, nres = timed_run(rows, pairs, scenarios, formats, args.jobs, isolate=True, lazy="never")
        nproc = nres.worker_starts + len(rows)
        nshare = nproc * imp / (nwall * args.jobs)
        print(f"naive:  {nwall:.1f}s wall, {cells / nwall:.2f} cells/s, {nres.loads} loads, {nproc} TF imports = "
              f"{nshare:.0%} of core time")
        print(f"speed-up: {nwall / wall:.1f}x on the same {cells} cells")

    # a --pairs all nightly, extrapolated from the measured per-load and per-row costs
    all_rows = list(grid.rows)
    all_pairs = plan_pairs(all_rows, "all")
    per_cell_loads = res.loads / max(res.ran, 1)
    all_loads = len(all_pairs) * len(catalog) * len(FORMATS) * per_cell_loads
    per_row_s = (res.timings.get("envs_s", 0) + res.timings.get("saves_s", 0)) * args.jobs / max(len(rows), 1)
    shards = [shard(all_pairs, i, 20) for i in range(1, 21)]
    worst = max(shards, key=len)
    worst_rows = len({r for p in worst for r in p})
    worst_loads = len(worst) * len(catalog) * len(FORMATS) * per_cell_loads
    worst_s = worst_loads / (lps * args.jobs) + worst_rows * per_row_s / args.jobs
    total_min = sum(
        (len(s) * len(catalog) * len(FORMATS) * per_cell_loads / (lps * args.jobs)
         + len({r for p in s for r in p}) * per_row_s / args.jobs) for s in shards) / 60
    print(f"--pairs all: {len(all_pairs)} pairs, ~{all_loads:,.0f} loads at {lps:.2f} loads/s/core; on 20 shards of "
          f"{args.jobs} cores: ~{total_min:.0f} runner-minutes in all, the slowest shard ~{worst_s / 60:.0f} min")

    if args.full:
        full_rows = list(grid.rows)
        full_pairs = plan_pairs(full_rows, "targets")
        fwall, fres = timed_run(full_rows, full_pairs, catalog, list(FORMATS), args.jobs)
        fcells = len(full_pairs) * len(catalog) * len(FORMATS)
        print(f"whole default grid (targets, cold cache, envs built): {fwall / 60:.1f} min, {fcells} cells, "
              f"{fres.loads} loads, {fcells / fwall:.1f} cells/s; phases {fres.timings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
