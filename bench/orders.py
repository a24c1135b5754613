"""Run the grid in two orders and diff the answers: with isolated loads nothing may change.

    python bench/orders.py                                  # two runs of the default grid, seeds 1 and 2, own saves
    python bench/orders.py --rows 'tf2.0-*,tf2.2-*' --scenarios 'lambda_*'
    python bench/orders.py --against reports/results.json --artifacts .kc/artifacts --seed 7
                                                            # one more run, in another order, loading the same artifacts

Each run is ``python -m runner run --shuffle SEED`` (saves and loads in a random
order) with its own work folder and no results cache. Printed: how many cells
differ in status, option or fix, how many records differ in outcome, error or output
difference, how many error messages differ, and each run's wall time. Exit 1 when
anything differs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runner.core.results import read_json  # noqa: E402


def run(seed: int, folder: Path, extra: list[str], artifacts: Path | None) -> tuple[dict, float]:
    work = folder / f"work-{seed}"
    work.mkdir(parents=True, exist_ok=True)
    if artifacts is not None:  # load the same artifacts: only the load order differs
        (work / "artifacts").symlink_to(artifacts.resolve())
    start = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            "--shuffle",
            str(seed),
            "--work",
            str(work),
            "--out",
            str(folder / f"out-{seed}"),
            "--quiet",
            *extra,
        ],
        cwd=REPO,
        check=True,
    )
    return read_json(folder / f"out-{seed}" / "results.json"), time.monotonic() - start


def _record(r: dict) -> tuple:
    err = r["error"] or {}
    diff = None if r["max_abs_diff"] is None else round(r["max_abs_diff"], 5)
    return r["outcome"], r["stage"], err.get("type"), err.get("message"), diff


def compare(a: dict, b: dict) -> dict[str, int]:
    def key(x: dict) -> tuple:
        return x["scenario"], x["format"], x["save_row"], x["load_row"]

    cells_a = {key(c): c for c in a["cells"]}
    cells_b = {key(c): c for c in b["cells"]}
    recs_a = {(*key(r), r["option"]): r for r in a["records"]}
    recs_b = {(*key(r), r["option"]): r for r in b["records"]}
    common_cells = cells_a.keys() & cells_b.keys()
    common_recs = recs_a.keys() & recs_b.keys()
    out = {
        "cells": len(common_cells),
        "cells_differ": sum(
            (cells_a[k]["status"], cells_a[k]["option"], cells_a[k]["fix"])
            != (cells_b[k]["status"], cells_b[k]["option"], cells_b[k]["fix"])
            for k in common_cells
        ),
        "records": len(common_recs),
        "records_differ": sum(_record(recs_a[k]) != _record(recs_b[k]) for k in common_recs),
        "messages_differ": sum(
            (recs_a[k]["error"] or {}).get("message") != (recs_b[k]["error"] or {}).get("message") for k in common_recs
        ),
        "only_in_one": len(cells_a.keys() ^ cells_b.keys()),
    }
    for k in sorted(common_cells):
        if cells_a[k]["status"] != cells_b[k]["status"]:
            print(f"  differs: {k}: {cells_a[k]['status']} / {cells_b[k]['status']}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1,2", help="two shuffle seeds (two runs)")
    ap.add_argument("--against", default=None, help="an existing results.json to compare one run with")
    ap.add_argument("--artifacts", default=None, help="with --against: the artifacts that run saved (loads only)")
    ap.add_argument("--seed", type=int, default=7, help="with --against: the seed of the one run")
    ap.add_argument("--rows", default=None)
    ap.add_argument("--scenarios", default=None)
    ap.add_argument("--formats", default=None)
    ap.add_argument("--folder", default=None, help="where the runs go (default: a new temp folder)")
    args = ap.parse_args()
    extra = [
        arg
        for name in ("rows", "scenarios", "formats")
        if getattr(args, name)
        for arg in (f"--{name}", getattr(args, name))
    ]
    folder = Path(args.folder or tempfile.mkdtemp(prefix="kc-orders-"))
    print(f"machine load average: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores; runs in {folder}")
    if args.against:
        a, wall_a = read_json(Path(args.against)), float("nan")
        b, wall_b = run(args.seed, folder, extra, Path(args.artifacts) if args.artifacts else None)
    else:
        one, two = (int(s) for s in args.seeds.split(","))
        a, wall_a = run(one, folder, extra, None)
        b, wall_b = run(two, folder, extra, None)
    found = compare(a, b)
    print(f"wall: {wall_a:.0f}s and {wall_b:.0f}s; " + ", ".join(f"{k} {v}" for k, v in found.items()))
    return 1 if found["cells_differ"] or found["records_differ"] or found["only_in_one"] else 0


if __name__ == "__main__":
    sys.exit(main())
