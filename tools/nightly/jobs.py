"""The nightly's jobs, as the workflow runs them and as this machine can run them one by one.

    python tools/nightly/jobs.py save --job I/M --out DIR            # save job I of M: its rows' saves
    python tools/nightly/jobs.py load --shard I/N --artifacts DIR --out DIR   # DIR: a save job's --out, or a
                                                                                 # folder of them
    python tools/nightly/jobs.py simulate --rows SEL --save-jobs M --shards N --out DIR

``save`` builds only its own rows' envs and writes their artifacts with their save records
(``run --stage save``); ``load`` builds only its load rows' envs, loads every pair of its
shard from the save jobs' folders (``run --stage load --pairs all --shard I/N``); ``merge``
is ``python -m runner merge``. Every job uses the same absolute work folder
(``$KC_NIGHTLY_WORK``, default /tmp/kc-nightly-work), because a saved model may hold absolute
paths into it (a hub layer's module) and every runner checks out to the same place.

``simulate`` runs those jobs as separate processes here, each with a fresh ``KC_HOME`` and an
empty work folder, as a fresh runner would have them (the uv cache is shared, as the nightly
shares it): it measures each job's wall time and peak disk, the size of each save job's
folder, merges the shards, and diffs the merged results against one `--pairs all` run of the
same selection on this machine: 0 cells may differ.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from runner.run.grid import load_grid, select  # noqa: E402
from runner.run.pairs import save_groups  # noqa: E402

WORK = Path(os.environ.get("KC_NIGHTLY_WORK") or "/tmp/kc-nightly-work")


def _fraction(text: str, flag: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise SystemExit(f"error: {flag} {text}: use I/N, e.g. {flag} 2/8") from None
    if not 1 <= i <= n:
        raise SystemExit(f"error: {flag} {text}: use I/N with 1 <= I <= N")
    return i, n


def _rows(selection: list[str] | None) -> list:
    grid = load_grid()
    return [grid.row(r) for r in select(selection, [r.id for r in grid.rows], "row")]


def save_command(job: str, out: str, selection: list[str] | None = None) -> list[str]:
    i, m = _fraction(job, "--job")
    group = save_groups(_rows(selection), m)[i - 1]
    return [sys.executable, "-m", "runner", "run", "--stage", "save", "--rows", ",".join(group),
            "--work", str(WORK), "--out", out, "--quiet"]


def bundles(folders: list[str]) -> list[str]:
    """Each folder a save job wrote: the given ones, or their subfolders (the downloaded artifacts of every job)."""
    out = []
    for folder in folders:
        path = Path(folder)
        found = [path] if (path / "saves.json").exists() else sorted(p.parent for p in path.glob("*/saves.json"))
        if not found:
            raise SystemExit(f"error: --artifacts {folder}: no saves.json in it or its subfolders (a save job's --out)")
        out += [str(p) for p in found]
    return out


def load_command(
    shard: str, artifacts: list[str], out: str, selection: list[str] | None = None, pairs: str = "all"
) -> list[str]:
    _fraction(shard, "--shard")
    artifacts = bundles(artifacts)
    cmd = [sys.executable, "-m", "runner", "run", "--stage", "load", "--pairs", pairs, "--shard", shard,
           "--work", str(WORK), "--out", out, "--quiet"]
    for rows in selection or []:
        cmd += ["--rows", rows]
    for folder in artifacts:
        cmd += ["--artifacts", folder]
    return cmd


def _du(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        if not path.exists():
            continue
        res = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
        if res.returncode == 0 and res.stdout.split():
            total += int(res.stdout.split()[0])
    return total


def _job(name: str, cmd: list[str], home: Path, watch: list[Path], log: Path) -> dict:
    """One job as a fresh runner runs it: an empty KC_HOME and work folder; peak disk sampled every 2 s."""
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(WORK, ignore_errors=True)
    home.mkdir(parents=True)
    env = dict(os.environ, KC_HOME=str(home), UV_PYTHON_DOWNLOADS=os.environ.get("UV_PYTHON_DOWNLOADS", "never"),
               UV_LINK_MODE="copy")  # envs hold their own copy of each file: what a runner's disk holds
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(2.0):
            peak[0] = max(peak[0], _du([home, WORK, *watch]))

    threading.Thread(target=sample, daemon=True).start()
    started = time.monotonic()
    with open(log, "w") as handle:
        rc = subprocess.run(cmd, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - started
    done.set()
    peak[0] = max(peak[0], _du([home, WORK, *watch]))
    shutil.rmtree(home, ignore_errors=True)
    return {"job": name, "rc": rc, "wall_s": round(wall, 1), "peak_disk_gb": round(peak[0] / 1e9, 2), "log": str(log)}


def simulate(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    jobs = []
    saves = []
    for i in range(1, args.save_jobs + 1):
        folder = out / f"save-{i}"
        cmd = save_command(f"{i}/{args.save_jobs}", str(folder), args.rows)
        jobs.append(_job(f"save {i}/{args.save_jobs}", cmd, out / "home", [folder], out / f"save-{i}.log"))
        jobs[-1]["bundle_mb"] = round(_du([folder]) / 1e6, 1)
        saves.append(str(folder))
    shards = []
    for i in range(1, args.shards + 1):
        folder = out / f"shard-{i}"
        cmd = load_command(f"{i}/{args.shards}", saves, str(folder), args.rows)
        jobs.append(_job(f"load {i}/{args.shards}", cmd, out / "home", [folder], out / f"shard-{i}.log"))
        shards.append(str(folder / "results.json"))
    merged = out / "merged"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "runner", "merge", *shards, "--out", str(merged)], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    jobs.append({"job": "merge", "rc": 0, "wall_s": round(time.monotonic() - started, 1), "peak_disk_gb": None})
    reference = out / "one-machine"
    cmd = [sys.executable, "-m", "runner", "run", "--pairs", "all", "--work", str(out / "one-machine-work"),
           "--out", str(reference), "--quiet"]
    for rows in args.rows or []:
        cmd += ["--rows", rows]
    started = time.monotonic()
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    one_machine = round(time.monotonic() - started, 1)
    differ = _differ(merged / "results.json", reference / "results.json")
    report = {"jobs": jobs, "one_machine_wall_s": one_machine, "cells_differ": differ,
              "load": os.getloadavg()}
    (out / "simulation.json").write_text(json.dumps(report, indent=1))
    print(f"{'job':14} {'rc':>3} {'wall':>8} {'peak disk':>10} {'bundle':>9}")
    for j in jobs:
        disk = f"{j['peak_disk_gb']} GB" if j.get("peak_disk_gb") is not None else "-"
        bundle = f"{j['bundle_mb']} MB" if "bundle_mb" in j else ""
        print(f"{j['job']:14} {j['rc']:>3} {j['wall_s']:>7}s {disk:>10} {bundle:>9}")
    print(f"one machine, --pairs all: {one_machine}s; cells that differ from the merged jobs: {len(differ)}")
    for line in differ[:20]:
        print("  " + line)
    return 0 if not differ and all(j["rc"] == 0 for j in jobs) else 1


def _differ(a: Path, b: Path) -> list[str]:
    from runner.core.results import read_json

    def cells(path: Path) -> dict:
        return {(c["scenario"], c["format"], c["save_row"], c["load_row"]): (c["status"], c["option"], c["fix"])
                for c in read_json(path)["cells"]}

    one, two = cells(a), cells(b)
    keys = sorted(one.keys() | two.keys())
    return [f"{'/'.join(k)}: {one.get(k)} vs {two.get(k)}" for k in keys if one.get(k) != two.get(k)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tools/nightly/jobs.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save", help="save job I of M")
    s.add_argument("--job", required=True, help="I/M")
    s.add_argument("--rows", action="append")
    s.add_argument("--out", required=True)
    ld = sub.add_parser("load", help="load shard I of N, from the save jobs' folders")
    ld.add_argument("--shard", required=True, help="I/N")
    ld.add_argument("--artifacts", action="append", required=True)
    ld.add_argument("--rows", action="append")
    ld.add_argument("--pairs", default="all", help="which pairs (runner/run/pairs.py PAIRS_MODES; default: all)")
    ld.add_argument("--out", required=True)
    sim = sub.add_parser("simulate", help="every job here, one by one, measured; merged and diffed")
    sim.add_argument("--rows", action="append")
    sim.add_argument("--save-jobs", type=int, default=2)
    sim.add_argument("--shards", type=int, default=3)
    sim.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.command == "simulate":
        return simulate(args)
    if args.command == "save":
        cmd = save_command(args.job, args.out, args.rows)
    else:
        cmd = load_command(args.shard, args.artifacts, args.out, args.rows, args.pairs)
    print("+ " + " ".join(cmd[1:]), file=sys.stderr)
    return subprocess.run(cmd, cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main())
