"""The one command line: ``keras-compat`` (or ``python -m runner``).

``run`` measures the grid and publishes; ``report``, ``diff``, ``upgrade``, ``badges`` and
``merge`` read results.json files (``stale``: is its data too old?); ``rows`` and ``scenarios`` list the catalog. Each
subcommand's ``func`` takes the parsed args and returns the exit code; a
KerasCompatError becomes one ``error: ...`` line and its exit code.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from runner import __version__
from runner.cli.model import add_model_commands
from runner.cli.run import cmd_run, scan_index
from runner.core.errors import KerasCompatError
from runner.core.results import read_json
from runner.core.schema import validate
from runner.core.vocab import FORMATS
from runner.report.age import MAX_AGE_DAYS, age_days, staleness
from runner.run.backends import default_home
from runner.run.catalog import REPO, load_catalog
from runner.run.dispatch import BACKENDS
from runner.run.grid import GRID_FILE, load_grid
from runner.run.pairs import PAIRS_MODES

log = logging.getLogger("keras_compat")


def _results(path: str) -> dict:
    """A results.json read and validated; a missing or broken one is a one-line ResultsError."""
    results = read_json(Path(path))
    validate(results)
    return results


def cmd_report(args: argparse.Namespace) -> int:
    from runner.report.publish import publish_beside

    results = _results(args.results)
    for p in [*publish_beside(results, Path(args.out), validated=True), scan_index(results, Path(args.out))]:
        print(f"wrote {p}")
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from runner.report.upgrade_md import upgrade_markdown

    print(upgrade_markdown(read_json(Path(args.results)), args.src, args.dst), end="")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from runner.report.publish import publish_run
    from runner.run.merge import merge_files

    merged = merge_files([Path(p) for p in args.results])
    for p in [*publish_run(merged, Path(args.out)), scan_index(merged, Path(args.out))]:
        print(f"wrote {p}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from runner.report.diff import diff_markdown, diff_results

    sys.stdout.write(diff_markdown(diff_results(_results(args.old), _results(args.new))))
    return 0


def cmd_badges(args: argparse.Namespace) -> int:
    from runner.report.badges import write_badges

    for path in write_badges(_results(args.results), Path(args.out)):
        print(f"wrote {path}")
    return 0


def cmd_stale(args: argparse.Namespace) -> int:
    results = read_json(Path(args.results))
    message = staleness(results, args.max_age_days)
    if message:
        print(f"{args.results}: {message}", file=sys.stderr)
        return 1
    print(f"{args.results}: fresh: {results['run']['finished']}, {age_days(results):.1f} days old")
    return 0


def cmd_rows(args: argparse.Namespace) -> int:
    grid = load_grid(Path(args.grid) if args.grid else None)
    for row in grid.rows:
        extra = f"  [expect env_error: {row.expect_env_error}]" if row.expect_env_error else ""
        print(f"{row.id:28} {row.label}  tags={','.join(row.tags)}{extra}")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    for s in load_catalog().values():
        print(f"{s.id:28} {s.title}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="keras-compat",
        description="Will your saved Keras models still load, and "
        "compute the same thing? Measured in real, isolated environments.",
    )
    p.add_argument("--version", action="version", version=__version__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenarios in grid rows and write results.json, MATRIX.md, index.html")
    run.add_argument("--rows", action="append", help="row ids or globs, comma-separated (default: all)")
    run.add_argument("--scenarios", action="append", help="scenario ids or globs (default: all)")
    run.add_argument("--formats", action="append", help=f"formats or globs: {', '.join(FORMATS)} (default: all)")
    run.add_argument(
        "--pairs",
        default="targets",
        choices=list(PAIRS_MODES),
        help="save/load env pairs: same (same-env matrix), targets (+ upgrade targets, default), all",
    )
    run.add_argument("--shard", default=None, help="I/N: run shard I of N (split by load row); join with `merge`")
    run.add_argument(
        "--stage",
        default="all",
        choices=["all", "save", "load"],
        help="all: saves and loads (default); save: only the saves of --rows, written to --out for load jobs; "
        "load: only the loads, of the artifacts save jobs wrote (--artifacts)",
    )
    run.add_argument(
        "--artifacts",
        action="append",
        metavar="DIR",
        help="--stage load: a folder `run --stage save --out DIR` wrote (repeat for every save job)",
    )
    run.add_argument(
        "--lazy",
        default="always",
        choices=["cross", "always", "never"],
        help="stop at a cell's first load call that works: always (default; a canary's cells make every call), "
        "on cross-env pairs only, or never",
    )
    run.add_argument(
        "--engine",
        default="fork",
        choices=["fork", "fresh"],
        help="fork: each save and load in a child of a warmed-up interpreter (default); "
        "fresh: a fresh interpreter per save and per load (the slow reference)",
    )
    run.add_argument("--isolate", action="store_true", help="the same as --engine fresh")
    run.add_argument(
        "--shuffle",
        type=int,
        default=None,
        metavar="SEED",
        help="run saves and loads in a random order drawn from SEED (the records must not change)",
    )
    run.add_argument("--out", default=str(REPO / "reports"), help="where results.json and the reports go")
    run.add_argument(
        "--work",
        default=os.environ.get("KC_WORK") or str(REPO / ".kc"),
        help="artifacts and the results cache (resumable)",
    )
    run.add_argument("--home", default=None, help=f"where envs live (default: $KC_HOME or {default_home()})")
    run.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 2,
        help="CPU slots: saves and loads in flight at once, over every row (default: CPU count)",
    )
    run.add_argument(
        "--backend", default="uv", choices=sorted(BACKENDS), help="for rows that name none in grid.toml (default: uv)"
    )
    run.add_argument("--grid", default=None, help=f"grid file (default: {GRID_FILE.relative_to(REPO)})")
    run.add_argument(
        "--quiet", action="store_true", help="no progress (default: a bar on a terminal, else a line every 30 s)"
    )
    run.set_defaults(func=cmd_run)
    rep = sub.add_parser("report", help="re-render MATRIX.md and index.html from a results.json")
    rep.add_argument("--results", default=str(REPO / "reports" / "results.json"))
    rep.add_argument("--out", default=str(REPO / "reports"))
    rep.set_defaults(func=cmd_report)
    rows = sub.add_parser("rows", help="list the grid's rows")
    rows.add_argument("--grid", default=None)
    rows.set_defaults(func=cmd_rows)
    sc = sub.add_parser("scenarios", help="list the scenario catalog")
    sc.set_defaults(func=cmd_scenarios)
    up = sub.add_parser(
        "upgrade", help="Markdown of every scenario x format whose status changes from one row to another"
    )
    up.add_argument("--from", dest="src", required=True, help="row the models are saved in")
    up.add_argument("--to", dest="dst", required=True, help="row they are loaded in after the upgrade")
    up.add_argument("--results", default=str(REPO / "reports" / "results.json"))
    up.set_defaults(func=cmd_upgrade)
    mg = sub.add_parser("merge", help="join shards' results.json files into one and render the reports")
    mg.add_argument("results", nargs="+", help="the shards' results.json files")
    mg.add_argument("--out", default=str(REPO / "reports"))
    mg.set_defaults(func=cmd_merge)
    diff = sub.add_parser(
        "diff", help="what changed between two results.json: newly broken, newly fixed, changed error"
    )
    diff.add_argument("old", help="the earlier results.json")
    diff.add_argument("new", help="the later results.json")
    diff.set_defaults(func=cmd_diff)
    add_model_commands(sub)
    __import__("runner.cli.releases", fromlist=["add_release_commands"]).add_release_commands(sub)  # discover, bisect
    stale = sub.add_parser("stale", help="exit 1 when a results.json's data is older than --max-age-days")
    stale.add_argument("results", help="the results.json to check (e.g. the published one)")
    stale.add_argument("--max-age-days", type=float, default=MAX_AGE_DAYS, help=f"default: {MAX_AGE_DAYS}, the page's")
    stale.set_defaults(func=cmd_stale)
    badges = sub.add_parser("badges", help="write pass-rate.svg and last-run.svg for the README")
    badges.add_argument(
        "--results", default=str(REPO / "reports" / "results.json"), help="the results.json to summarise"
    )
    badges.add_argument("--out", default=str(REPO / "reports"), help="directory the SVGs are written to")
    badges.set_defaults(func=cmd_badges)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except KerasCompatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: finished cells are saved; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
