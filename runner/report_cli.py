"""``python -m runner diff OLD NEW`` and ``python -m runner badges``: the report side of the CLI.

:func:`add_subcommands` registers them on the main parser's subparsers; each
subcommand's ``func`` takes the parsed args and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runner.errors import KerasCompatError


def cmd_diff(args: argparse.Namespace) -> int:
    from runner.diff import diff_markdown, diff_results
    from runner.report import load_results
    from runner.results_schema import validate

    old, new = load_results(Path(args.old)), load_results(Path(args.new))
    validate(old)
    validate(new)
    sys.stdout.write(diff_markdown(diff_results(old, new)))
    return 0


def cmd_badges(args: argparse.Namespace) -> int:
    from runner.badges import write_badges
    from runner.report import load_results
    from runner.results_schema import validate

    results = load_results(Path(args.results))
    validate(results)
    for path in write_badges(results, Path(args.out)):
        print(f"wrote {path}")
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``diff`` and ``badges`` on ``sub`` (the main parser's subparsers)."""
    diff = sub.add_parser(
        "diff", help="what changed between two results.json: newly broken, newly fixed, changed error"
    )
    diff.add_argument("old", help="the earlier results.json")
    diff.add_argument("new", help="the later results.json")
    diff.set_defaults(func=cmd_diff)
    badges = sub.add_parser("badges", help="write pass-rate.svg and last-run.svg for the README")
    badges.add_argument("--results", default="reports/results.json", help="the results.json to summarise")
    badges.add_argument("--out", default="reports", help="directory the SVGs are written to")
    badges.set_defaults(func=cmd_badges)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m runner.report_cli diff OLD NEW``), for use before the lead wires it."""
    parser = argparse.ArgumentParser(prog="python -m runner.report_cli")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KerasCompatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
