"""A results.json at ``--pairs all`` size, for timing the render and the page at the nightly's scale.

    python bench/scale.py reports/results.json /tmp/big/results.json
    python -m runner report --results /tmp/big/results.json --out /tmp/big
    python bench/page.py --page /tmp/big/index.html

``--pairs all`` loads every saving row's artifacts in every row. The input's measured
pairs are kept as they are; every unmeasured (save row, load row) pair gets a copy of
the cells and records of a measured cross-env pair, the same save row's where it has
one (so each copy holds what that row saved), with the load row (and, for a row with no
measured target, the save row) renamed. The result has the file's own rows, savers x
rows pairs, and about as many records per cross-env cell as the input: for the default
grid of 46 rows (44 save), 2,024 pairs, 153,824 cells and ~580k records (8x today's
``--pairs targets`` run). The data is made up: only its size and shape are real.

Reads and writes the file form of any schema version ``read_json`` reads (errors stay
indexes), and streams the output, so it needs little more memory than the input.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

PAIR = ("save_row", "load_row")


def _pairs(items: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in items:
        out.setdefault((item["save_row"], item["load_row"]), []).append(item)
    return out


def plan(data: dict[str, Any]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Every unmeasured (save row, load row) pair, with the measured cross-env pair it copies."""
    rows = [r["id"] for r in data["rows"]]
    measured = set(_pairs(data["cells"]))
    savers = [r for r in rows if any(s == r for s, _ in measured)]
    cross = sorted((p for p in measured if p[0] != p[1]), key=lambda p: (rows.index(p[0]), rows.index(p[1])))
    if not cross:
        raise SystemExit("error: the input has no cross-env cell to copy: run it with --pairs targets or all")
    targets_of: dict[str, list[tuple[str, str]]] = {}
    for pair in cross:
        targets_of.setdefault(pair[0], []).append(pair)
    out = []
    turn = 0
    for save in savers:
        own = targets_of.get(save, [])
        for load in rows:
            if load == save or (save, load) in measured:
                continue
            # round robin: the copies of one save row differ from one another as its measured targets do
            pool = own or cross
            out.append(((save, load), pool[turn % len(pool)]))
            turn += 1
    return out


def _copies(
    items: dict[tuple[str, str], list[dict[str, Any]]], steps: list[tuple[tuple[str, str], tuple[str, str]]]
) -> Iterator[dict[str, Any]]:
    for (save, load), source in steps:
        for item in items[source]:
            yield {**item, "save_row": save, "load_row": load}


def _array(out: TextIO, items: Iterator[dict[str, Any]]) -> int:
    """``items`` as a compact JSON array, one at a time; returns how many."""
    out.write("[")
    n = 0
    for item in items:
        out.write(("," if n else "") + json.dumps(item, separators=(",", ":"), ensure_ascii=False))
        n += 1
    out.write("]")
    return n


def scale(source: Path, target: Path) -> dict[str, int]:
    """Write the ``--pairs all`` file of ``source`` to ``target``; returns what it holds."""
    data = json.loads(source.read_text(encoding="utf-8"))
    steps = plan(data)
    cells, records = _pairs(data["cells"]), _pairs(data["records"])
    run = dict(data["run"], pairs="all")
    counts = {"pairs": len(cells) + len(steps)}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write("{")
        for i, (key, value) in enumerate(data.items()):
            out.write(("," if i else "") + json.dumps(key) + ":")
            if key in ("cells", "records"):
                counts[key] = _array(out, itertools.chain(value, _copies(cells if key == "cells" else records, steps)))
            else:
                out.write(json.dumps(run if key == "run" else value, separators=(",", ":"), ensure_ascii=False))
        out.write("}\n")
    tmp.replace(target)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a results.json with cross-env cells (e.g. reports/results.json)")
    parser.add_argument("target", type=Path, help="where the --pairs all file is written")
    args = parser.parse_args(argv)
    if not args.source.exists():
        parser.exit(2, f"error: {args.source}: no such file\n")
    start = time.perf_counter()
    counts = scale(args.source, args.target)
    print(
        f"{args.target}: {counts['pairs']:,} pairs, {counts['cells']:,} cells, {counts['records']:,} records, "
        f"{args.target.stat().st_size / 1e6:.0f} MB ({time.perf_counter() - start:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
