"""The fast engine gives the same answers as the naive, fully isolated one.

Naive: a fresh interpreter for every single load, every option tried. Engine: one
worker per load row loading artifacts back to back (fresh serving ``__main__`` per
load, custom-object registry restored), options tried lazily on cross-env pairs,
identical artifacts loaded once. Same sample both ways, real envs; every record the
engine wrote must equal the naive one, and every cell must get the same status.
The sample holds the cases batching could get wrong: a Lambda global resolved
through ``__main__`` (rebound), a global registry (``registered``), and a cross-env
pair where lazy options apply (one that passes by default, one that needs custom_objects).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.backends import UvBackend
from runner.catalog import load_catalog
from runner.execute import Engine
from runner.grid import load_grid
from runner.model import OPTIONS
from runner.results import cells_from

pytestmark = pytest.mark.integration

SCENARIOS = ["lambda_closure_rebound", "subclass_with_config", "lambda_simple"]
FORMATS = ["h5", "keras"]


def _rows():
    grid = load_grid()
    k2 = next(r for r in grid.rows if r.flavour == "keras2" and r.tf.startswith("2.15.") and "main" in r.tags)
    k3 = next(r for r in grid.rows if r.flavour == "keras3" and r.tf.startswith("2.21.") and "main" in r.tags)
    return [k2, k3]


def _key(r: dict) -> tuple:
    return (r["scenario"], r["format"], r["save_row"], r["load_row"], r["option"])


def _comparable(r: dict) -> tuple:
    err = r["error"] or {}
    diff = None if r["max_abs_diff"] is None else round(r["max_abs_diff"], 5)
    return (r["outcome"], r["stage"], r["written"], err.get("type"), err.get("message"), diff)


def test_engine_matches_fresh_process_per_load(tmp_path: Path) -> None:
    rows = _rows()
    catalog = load_catalog()
    scenarios = {s: catalog[s] for s in SCENARIOS}
    pairs = [(rows[0].id, rows[0].id), (rows[1].id, rows[1].id), (rows[0].id, rows[1].id), (rows[1].id, rows[0].id)]
    fast = Engine(backend=UvBackend(), work=tmp_path / "fast", scenarios=scenarios, formats=FORMATS).run(rows, pairs)
    # same artifacts (saved once), no cache: only the way of loading differs
    naive = Engine(backend=UvBackend(), work=tmp_path / "fast", scenarios=scenarios, formats=FORMATS, isolate=True,
                   lazy="never", use_cache=False).run(rows, pairs)
    assert naive.worker_starts == naive.loads  # really one interpreter per load
    assert fast.worker_starts <= len(rows)
    assert fast.loads <= naive.loads
    # lazy options on cross-env cells: tried in order, stopping at the first option that works
    # (compile_off only when none does); worked out here from the naive run's full records
    outcome = {_key(r): r["outcome"] for r in naive.records}
    skipped = 0
    for cell_key in {_key(r)[:4] for r in naive.records if r["save_row"] != r["load_row"]}:
        tried = []
        for option in OPTIONS:
            tried.append(option)
            if option != "compile_off" and outcome[cell_key + (option,)] == "ok":
                break
        assert [r["option"] for r in fast.records if _key(r)[:4] == cell_key] == tried, cell_key
        skipped += len(OPTIONS) - len(tried)
    assert skipped > 0
    assert naive.loads - fast.loads == skipped  # exactly the skipped options, nothing else
    reference = {_key(r): r for r in naive.records}
    assert len(fast.records) >= len(pairs) * len(SCENARIOS) * len(FORMATS)
    for record in fast.records:
        assert _comparable(record) == _comparable(reference[_key(record)]), _key(record)
    fast_cells = {(c["scenario"], c["format"], c["save_row"], c["load_row"]): (c["status"], c["option"], c["fix"])
                  for c in cells_from(fast.records, scenarios)}
    naive_cells = {(c["scenario"], c["format"], c["save_row"], c["load_row"]): (c["status"], c["option"], c["fix"])
                   for c in cells_from(naive.records, scenarios)}
    assert fast_cells == naive_cells
    # the sample is not trivially all-pass: it holds a silent wrong answer and a registry-only pass
    statuses = {s for s, _, _ in fast_cells.values()}
    assert "wrong_output" in statuses and "pass_custom_objects" in statuses
