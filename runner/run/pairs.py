"""Which (save row, load row) pairs a run measures: pure planning over the grid.

``same``     every row loads its own artifacts (the same-env matrix).
``targets``  ``same`` plus the upgrades a team actually makes: every row's artifacts
             are loaded in the newest row of each Keras line (bundled Keras 2 on its
             last TF, tf-keras on the newest TF, Keras 3 on the newest TF), in the next
             release of the row's own line (and the next release's artifacts in this
             one: the rollback), in the next TF release in every flavour
             it ships (TF 2.15 -> TF 2.16 with tf-keras and with Keras 3), and, for rows of the Python axis, in the
             same TF on the other Python(s). Load-only rows (other Keras 3 backends)
             load the artifacts of the Keras 3 row with the same Keras version.
``all``      every ordered pair of rows (upgrades and downgrades).
"""

from __future__ import annotations

from runner.core.lines import CONTAINER, LEGACY, next_release, next_tf, release_lines
from runner.core.versions import minor

from .grid import Row

Pair = tuple[str, str]  # save row id, load row id
PAIRS_MODES = ("same", "targets", "all")


def targets(rows: list[Row]) -> dict[str, set[str]]:
    """For each saving row, the rows its artifacts are loaded in (besides itself)."""
    containers = [r for r in rows if CONTAINER in r.tags]  # only with their twin: see the end
    rows = [r for r in rows if CONTAINER not in r.tags]
    by_line = release_lines(rows)
    newest = {flavour: line[-1].id for flavour, line in by_line.items() if flavour not in LEGACY}
    out: dict[str, set[str]] = {r.id: set() for r in rows if not r.load_only}
    for line in by_line.values():
        for i, row in enumerate(line):
            if i + 1 < len(line):
                out[row.id].add(line[i + 1].id)
                # rolling back: the next release's files, loaded in the release it replaced
                out[line[i + 1].id].add(row.id)
    for row in rows:
        if row.load_only:
            continue
        out[row.id].update(newest.values())
        out[row.id].update(r.id for r in next_tf(row, by_line))
        if row.flavour in LEGACY:  # a team's old files: also in every TF 2.x row its Python runs
            out[row.id].update(
                r.id
                for r in rows
                if r.flavour not in LEGACY and not r.load_only and minor(r.python) == minor(row.python)
            )
        if "python-axis" in row.tags or any(
            "python-axis" in r.tags and r.tf == row.tf and r.flavour == row.flavour for r in rows
        ):
            out[row.id].update(r.id for r in rows if r.tf == row.tf and r.flavour == row.flavour and not r.load_only)
        # the next release of the line, for a Python-axis row: what its main row moves to
        if "python-axis" in row.tags:
            later = next_release(row, by_line.get(row.flavour, []))
            if later is not None:
                out[row.id].add(later.id)
    for row in rows:
        if row.load_only:
            for saver in rows:
                same_release = saver.keras == row.keras and saver.tf == row.tf
                if saver.flavour == "keras3" and not saver.load_only and same_release:
                    out[saver.id].add(row.id)

    # a row with a `container` twin of the same flavour/tf/keras/python minor: both ways
    def twin_key(r: Row) -> tuple:
        return r.flavour, r.tf, r.keras, r.python.rsplit(".", 1)[0]

    for box in containers:
        out[box.id] = {r.id for r in rows if not r.load_only and twin_key(r) == twin_key(box)}
        for twin in out[box.id]:
            out[twin].add(box.id)
    for row_id in out:
        out[row_id].discard(row_id)
    return out


def plan_pairs(rows: list[Row], mode: str) -> list[Pair]:
    ids = [r.id for r in rows]
    savers = [r.id for r in rows if not r.load_only]
    if mode == "same":
        return [(r, r) for r in savers]
    if mode == "all":
        return [(s, t) for s in savers for t in ids]
    if mode == "targets":
        tgt = targets(rows)
        pairs = [(s, s) for s in savers]
        order = {r: i for i, r in enumerate(ids)}
        for s in savers:
            pairs.extend((s, t) for t in sorted(tgt[s], key=order.__getitem__))
        return pairs
    raise ValueError(f"unknown pairs mode {mode!r}")


def shard(pairs: list[Pair], index: int, count: int) -> list[Pair]:
    """The pairs of shard ``index`` (1-based) of ``count``, split by load row.

    All pairs of one load row stay on one shard, so each shard imports each load
    env once; any save row a shard needs is saved there (saving is cheap). Load
    rows go, biggest first, to the shard with the fewest pairs so far: the same
    pairs always give the same split, and the union of all shards is ``pairs``.
    """
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"shard {index}/{count}: use I/N with 1 <= I <= N")
    per_load: dict[str, int] = {}
    for _, load in pairs:
        per_load[load] = per_load.get(load, 0) + 1
    sizes = [0] * count
    owner: dict[str, int] = {}
    for load in sorted(per_load, key=lambda r: (-per_load[r], r)):
        target = min(range(count), key=lambda i: (sizes[i], i))
        owner[load] = target
        sizes[target] += per_load[load]
    return [p for p in pairs if owner[p[1]] == index - 1]


def save_groups(rows: list[Row], count: int) -> list[list[str]]:
    """The saving rows split into ``count`` save jobs of nearly equal size, in grid order within each
    (job ``i`` takes every ``count``-th row from ``i``: old and new releases mixed, so jobs cost alike)."""
    savers = [r.id for r in rows if not r.load_only]
    if count < 1 or count > len(savers):
        raise ValueError(f"{count} save jobs for {len(savers)} saving rows: use 1..{len(savers)}")
    return [savers[i::count] for i in range(count)]
