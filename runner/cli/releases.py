"""``keras-compat discover`` and ``bisect``: new releases into the grid, and the exact release a cell changes at."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from runner.core.errors import GridError
from runner.core.lines import CONTAINER
from runner.core.results import utc_now
from runner.core.versions import version_key
from runner.run import discover, gridedit
from runner.run import index as pkg_index
from runner.run.grid import GRID_FILE, Row, parse_grid
from runner.run.gridedit import OTHER_PACKAGES, TF_PACKAGES, Plan, Skip, pins
from runner.run.index import Release, release_key


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GridError(f"cannot read grid file {path}: {exc.strerror}") from None


def _write_out(path: str | None, text: str) -> None:
    if path:
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise GridError(f"cannot write {target}: {exc.strerror}") from None


# --- what discover says ------------------------------------------------------------------------


def python_range(pythons: Iterable[str]) -> str:
    pythons = sorted(pythons, key=version_key)
    if not pythons:
        return "-"
    return pythons[0] if len(pythons) == 1 else f"{pythons[0]}-{pythons[-1]}"


def to_dict(plan: Plan, failed: Mapping[str, str] | None = None, written: bool = False) -> dict[str, Any]:
    """The plan as JSON data (``--json``): what the workflow reads to run and describe the new rows."""

    def release(r: Release) -> dict[str, Any]:
        return {"version": r.version, "uploaded": r.uploaded, "pythons": list(r.pythons), "yanked": r.yanked}

    return {
        "index": plan.index.url,
        "asked": plan.index.asked,
        "grid": plan.grid,
        "written": written,
        "newest": {name: release(r) for name, r in plan.newest.items()},
        "unmeasured": {name: [release(r) for r in rs] for name, rs in plan.unmeasured.items()},
        "rows": [
            {"id": n.id, "rule": n.rule, "why": n.why, "template": n.template, "after": n.after, "row": dict(n.data)}
            for n in plan.rows
        ],
        "pins": [
            {"row": c.row, "package": c.package, "old": c.old, "new": c.new, "uploaded": c.uploaded} for c in plan.pins
        ],
        "changed": plan.changed,
        "skipped": [
            {"package": s.package, "version": s.version, "reason": s.reason, "detail": s.detail, "rows": list(s.rows)}
            for s in plan.skipped
        ],
        "notes": list(plan.notes),
        "failed": dict(failed or {}),
    }


def grid_pins(text: str) -> dict[str, str]:
    """Per asked package, the newest version the grid pins (Keras: the newest Keras 3)."""
    rows = [r for r in parse_grid(text).rows if not r.load_only and CONTAINER not in r.tags]
    out = {}
    for name in (*TF_PACKAGES, *OTHER_PACKAGES):
        versions = [v for r in rows for n, v in pins(r.packages).items() if n == name]
        if name == "keras":
            versions = [v for v in versions if version_key(v)[0] >= 3] or versions
        if versions:
            out[name] = max(versions, key=release_key)
    return out


def _releases(releases: tuple[Release, ...]) -> str:
    """``keras 3.14.0 (2026-04-03), 3.14.1 (2026-05-07)``, or the first and last of more than three."""
    shown = [f"{r.version} ({r.date})" for r in releases]
    if len(shown) > 3:
        shown = [shown[0], "…", shown[-1] + f", {len(shown)} releases"]
    return f"{releases[0].package} " + ", ".join(shown)


def skip_line(s: Skip) -> str:
    kept = f" ({', '.join(s.rows)} {'keeps' if len(s.rows) == 1 else 'keep'} the older pin)" if s.rows else ""
    return f"skipped {s.package} {s.version}: {s.detail}{kept}"


def text_lines(plan: Plan, grid_text: str, written: bool = False) -> list[str]:
    """What ``discover`` prints on stdout."""
    in_grid = grid_pins(grid_text)
    out = [f"index {plan.index.url}, asked {plan.index.asked}; grid {plan.grid}"]
    out.append(f"{'package':16} {'newest':10} {'released':10}  {'CPython':10} {'grid pins'}")
    for name, r in plan.newest.items():
        out.append(f"{name:16} {r.version:10} {r.date:10}  {python_range(r.pythons):10} {in_grid.get(name, '-')}")
    newer = [_releases(rs) for rs in plan.unmeasured.values() if rs]
    out.append("newer than the grid: " + ("; ".join(newer) if newer else "none"))
    verb = "added" if written else "to add"
    out.append(f"rows {verb}: {len(plan.rows)}" + ("" if plan.rows else " (the grid has what the rules ask for)"))
    for n in plan.rows:
        row = Row.from_dict(dict(n.data), n.id)
        out.append(f"  + {n.id:26} {', '.join(row.packages)}  [{', '.join(row.tags)}]  {n.why}")
    out.append(f"pins {'replaced' if written else 'to replace'}: {len(plan.pins)}")
    for c in plan.pins:
        out.append(f"  ~ {c.row:26} {c.package} {c.old} -> {c.new} ({c.uploaded[:10]})")
    return out


def markdown(plan: Plan, failed: Mapping[str, str] | None = None) -> str:
    """The plan as Markdown: the body of the pull request the discover workflow opens."""
    out = [
        f"New releases on {plan.index.url} (asked {plan.index.asked}), in the grid's rules (`keras-compat discover`).",
        "",
    ]
    if plan.rows:
        out += ["### Rows added", "", "| row | packages | tags | why |", "|---|---|---|---|"]
        for n in plan.rows:
            row = Row.from_dict(dict(n.data), n.id)
            packages = ", ".join(f"`{p}`" for p in row.packages)
            out.append(f"| `{n.id}` | {packages} | {', '.join(row.tags)} | {n.why} |")
        out.append("")
    if plan.pins:
        out += ["### Pins replaced", "", "| row | package | from | to | released |", "|---|---|---|---|---|"]
        out += [f"| `{c.row}` | {c.package} | {c.old} | {c.new} | {c.uploaded[:10]} |" for c in plan.pins]
        out.append("")
    if not plan.rows and not plan.pins:
        out += ["Nothing to add: the grid has what the rules ask for.", ""]
    extra = [skip_line(s) for s in plan.skipped] + [f"note: {n}" for n in plan.notes]
    extra += [f"not written: {row_id}: {why}" for row_id, why in (failed or {}).items()]
    if extra:
        out += ["### Skipped and notes", ""] + [f"- {line}" for line in extra] + [""]
    return "\n".join(out)


def cmd_discover(args: argparse.Namespace) -> int:
    grid_path = Path(args.grid) if args.grid else GRID_FILE
    text = _read(grid_path)
    rows = parse_grid(text, str(grid_path)).rows  # a broken grid is one line before the index is asked
    url = pkg_index.index_url(args.index_url)
    client = pkg_index.IndexClient(url, timeout=args.timeout)
    answers = {name: client(name) for name in gridedit.packages_of(rows)}
    if args.record:
        for name, answer in answers.items():
            _write_out(str(Path(args.record) / f"{name}.json"), pkg_index.record_text(answer))
    index = pkg_index.read_index(url, utc_now(), answers, [r.python for r in rows])
    plan = discover.plan(text, index, str(grid_path))
    failed: dict[str, str] = {}
    if args.write and plan.changed:
        written = gridedit.write(grid_path, plan, gridedit.default_build())
        plan, failed = written.plan, dict(written.failed)
    print("\n".join(text_lines(plan, text, written=bool(args.write))))
    for skip in plan.skipped:
        print(skip_line(skip), file=sys.stderr)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    for row_id, why in failed.items():
        print(f"error: {row_id} not written: its env could not be built: {why}", file=sys.stderr)
    _write_out(args.json, json.dumps(to_dict(plan, failed, written=bool(args.write)), indent=1) + "\n")
    _write_out(args.markdown, markdown(plan, failed))
    return 2 if failed else 0


def cmd_bisect(args: argparse.Namespace) -> int:
    import shutil
    import tempfile
    import time

    from runner.run import bisect
    from runner.run.catalog import load_catalog

    grid_path = Path(args.grid) if args.grid else GRID_FILE
    text = _read(grid_path)
    q = bisect.ask(
        text,
        args.scenario,
        args.format,
        args.save_row,
        (args.between[0], args.between[1]),
        package=args.package,
        scenarios=list(load_catalog()),
    )
    url = pkg_index.index_url(args.index_url)
    client = pkg_index.IndexClient(url, timeout=args.timeout)
    pythons = [r.python for r in parse_grid(text).rows]
    index = pkg_index.read_index(url, utc_now(), {q.package: client(q.package)}, pythons)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kc-bisect-"))
    releases, skipped = bisect.between(index, q)
    held = ", ".join(p for p in q.held.packages if not p.lower().startswith(q.package + "=="))
    print(
        f"bisect {q.scenario} {q.format}: saved in {q.save.id}, loaded with {q.package} {q.low} .. {q.high} "
        f"on {q.held.id}'s other pins ({held}; Python {q.held.python})"
    )
    print(f"{len(releases)} releases: " + ", ".join(f"{r.version} ({r.date})" for r in releases))
    for line in skipped:
        print(line, file=sys.stderr)
    measure = bisect.CliMeasure(q, bisect.grid_table(text, q.save.id), work)
    start = time.monotonic()
    try:
        answer = bisect.bisect(text, q, index, measure, on_probe=lambda p: print(bisect.probe_line(p), flush=True))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    for line in bisect.report(answer):
        print(line)
    print(f"{len(answer.probes)} probes in {time.monotonic() - start:.0f} s")
    return 0


def add_release_commands(sub: argparse._SubParsersAction) -> None:
    dis = sub.add_parser(
        "discover",
        help="which TensorFlow, Keras, tf-keras and TF-Hub releases the index has, and the rows the grid's rules add",
    )
    dis.add_argument("--grid", default=None, help=f"grid file (default: {GRID_FILE})")
    dis.add_argument(
        "--index-url",
        default=None,
        help="the package index (default: $UV_DEFAULT_INDEX, $UV_INDEX_URL, $PIP_INDEX_URL, else PyPI); "
        "asked through its JSON API, <root>/pypi/<name>/json",
    )
    dis.add_argument(
        "--write",
        action="store_true",
        help="add the rows and pins to the grid file; each row's env (and lock) is built first, "
        "and only the rows that build are written",
    )
    dis.add_argument("--json", default=None, metavar="PATH", help="write the plan as JSON (for the workflow)")
    dis.add_argument("--markdown", default=None, metavar="PATH", help="write the plan as Markdown (a PR body)")
    dis.add_argument("--record", default=None, metavar="DIR", help="also save the index's answers (trimmed) in DIR")
    dis.add_argument("--timeout", type=float, default=60.0, help="seconds per index request (default: 60)")
    dis.set_defaults(func=cmd_discover)
    bis = sub.add_parser("bisect", help="the first release between two rows' pins at which a cell's status changes")
    bis.add_argument("--scenario", required=True, help="the cell's scenario (see `keras-compat scenarios`)")
    bis.add_argument("--format", required=True, help="the cell's format: h5, keras, savedmodel or weights")
    bis.add_argument("--save-row", required=True, help="the row the model is saved in")
    bis.add_argument(
        "--between", nargs=2, required=True, metavar=("ROW1", "ROW2"), help="the load rows whose pins bound the search"
    )
    bis.add_argument(
        "--package",
        default=None,
        help="the package to walk (default: the one the rows differ in; Keras for two Keras 3 rows, else TF); "
        "ROW1's other pins are held",
    )
    bis.add_argument("--grid", default=None, help=f"grid file (default: {GRID_FILE})")
    bis.add_argument("--index-url", default=None, help="the package index (as for discover)")
    bis.add_argument(
        "--work", default=None, help="artifacts and results cache of the probes (default: a temp dir, removed)"
    )
    bis.add_argument("--timeout", type=float, default=60.0, help="seconds per index request (default: 60)")
    bis.set_defaults(func=cmd_bisect)
