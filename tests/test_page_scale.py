"""The page at ``--pairs all`` size: its packed columns (runner/report/page_pack.py), their inflater in the
browser (templates/page/data.js) for every kind of DEFLATE block, and bench/scale.py, which makes the
``--pairs all`` file the page and the render are timed on (bench/page.py)."""

from __future__ import annotations

import copy
import json
import random
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.core.results import read_json, write_json
from runner.core.schema import validate
from runner.report import page_pack
from runner.report.page_pack import Columns, columns_of, pack
from runner.report.publish import publish_beside
from tests.pages import embedded

FIXTURES = Path(__file__).parent / "fixtures"
BENCH = Path(__file__).resolve().parents[1] / "bench"


def _scale() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        import scale
    finally:
        sys.path.remove(str(BENCH))
    return scale


# ---- packing ------------------------------------------------------------------------------------------------------


def test_columns_pack_into_the_smallest_typed_arrays_and_back() -> None:
    rng = random.Random(19)
    ranges = {"u1": (0, 255), "i1": (-1, 100), "u2": (0, 60_000), "i2": (-1, 30_000), "i4": (-1, 2**31 - 1)}
    columns = Columns(list(ranges))
    rows = [tuple(rng.randint(*ranges[name]) for name in ranges) for _ in range(5_000)]
    rows += [tuple(hi for _, hi in ranges.values()), tuple(lo for lo, _ in ranges.values())]
    for row in rows:
        columns.append(row)
    packed = pack(columns)
    assert packed["n"] == len(rows)
    assert [(name, kind) for name, kind, _ in packed["columns"]] == [(name, name) for name in ranges]
    assert all(offset % 4 == 0 for _, _, offset in packed["columns"])  # the page views each column in place
    assert columns_of(packed) == {name: [r[k] for r in rows] for k, name in enumerate(ranges)}


def test_a_value_past_32_bits_is_refused() -> None:
    with pytest.raises(OverflowError):
        Columns(["x"]).append((2**31,))


def test_columns_extend_side_by_side() -> None:
    left, right = Columns(["a", "b"]), Columns(["c"])
    for i in range(3):
        left.append((i, -i))
        right.append((10 * i,))
    left.extend(right)
    assert left.names == ("a", "b", "c") and len(left) == 3
    assert columns_of(pack(left)) == {"a": [0, 1, 2], "b": [0, -1, -2], "c": [0, 10, 20]}


def test_the_page_is_a_fraction_of_the_rows_it_carries(tmp_path: Path) -> None:
    results = read_json(FIXTURES / "results_real.json")
    html = (publish_beside(results, tmp_path)[1]).read_text(encoding="utf-8")
    data = embedded(html)
    rows = len(json.dumps([data["cells"], data["records"]], separators=(",", ":")))
    packed = sum(len(p["data"]) for p in json.loads(_kc_data(html))["packed"].values())
    assert packed < rows / 4


def _kc_data(html: str) -> str:
    return html.split('id="kc-data">', 1)[1].split("</script>", 1)[0]


# ---- bench/scale.py -----------------------------------------------------------------------------------------------


@pytest.fixture
def sparse(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """The real fixture (3 rows, every pair measured) with only one cross-env pair left per save row."""
    raw = json.loads((FIXTURES / "results_real.json").read_text(encoding="utf-8"))
    rows = [r["id"] for r in raw["rows"]]
    keep = {(rows[0], rows[1]), (rows[1], rows[0]), (rows[2], rows[0])}
    for kind in ("cells", "records"):
        raw[kind] = [x for x in raw[kind] if x["save_row"] == x["load_row"] or (x["save_row"], x["load_row"]) in keep]
    path = tmp_path / "sparse.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return raw, path


def test_scale_fills_every_pair_with_a_copy_of_a_measured_target(sparse: tuple[dict[str, Any], Path]) -> None:
    raw, path = sparse
    out = path.with_name("all.json")
    counts = _scale().scale(path, out)
    big = json.loads(out.read_text(encoding="utf-8"))
    rows = [r["id"] for r in raw["rows"]]
    pairs = {(c["save_row"], c["load_row"]) for c in big["cells"]}
    assert pairs == {(s, ld) for s in rows for ld in rows} and counts["pairs"] == 9
    assert counts == {"pairs": 9, "cells": len(big["cells"]), "records": len(big["records"])}
    assert big["run"]["pairs"] == "all"
    # the measured cells are kept as they were, in their order, before the copies
    assert big["cells"][: len(raw["cells"])] == raw["cells"]
    # a new pair of a save row holds that row's measured target's cells, loaded elsewhere
    source = {
        (c["scenario"], c["format"]): c for c in raw["cells"] if (c["save_row"], c["load_row"]) == (rows[0], rows[1])
    }
    copied = [c for c in big["cells"] if (c["save_row"], c["load_row"]) == (rows[0], rows[2])]
    assert len(copied) == len(source)
    assert all(dict(c, load_row=rows[1]) == source[(c["scenario"], c["format"])] for c in copied)
    validate(read_json(out))  # unique keys, known rows: a valid results.json of its own schema version


@pytest.mark.parametrize("fixture", ["results_small.json", "results_real.json"])
def test_scale_reads_any_readable_version(fixture: str, tmp_path: Path) -> None:
    """The generator keeps the file's own form (schema 2's inline-free records, 4's calls and artifacts)."""
    results = read_json(FIXTURES / fixture)
    path = tmp_path / "in.json"
    write_json(results, path)
    counts = _scale().scale(path, tmp_path / "out.json")
    savers = {c["save_row"] for c in results["cells"]}
    assert counts["pairs"] == len(savers) * len(results["rows"])
    validate(read_json(tmp_path / "out.json"))


# ---- the page's inflater, for every kind of DEFLATE block -----------------------------------------------------------


@pytest.fixture
def scaled_pages(
    sparse: tuple[dict[str, Any], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """The --pairs all file of the sparse fixture, rendered with each kind of DEFLATE block zlib writes."""
    _, path = sparse
    _scale().scale(path, tmp_path / "all.json")
    results = read_json(tmp_path / "all.json")
    kinds = {
        "dynamic": (9, zlib.Z_DEFAULT_STRATEGY),
        "fixed": (9, zlib.Z_FIXED),
        "stored": (0, zlib.Z_DEFAULT_STRATEGY),
    }
    out = {}
    for kind, (level, strategy) in kinds.items():
        monkeypatch.setattr(page_pack, "_LEVEL", level)
        monkeypatch.setattr(page_pack, "_STRATEGY", strategy)
        folder = tmp_path / kind
        publish_beside(copy.deepcopy(results), folder)
        out[kind] = folder / "index.html"
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.mark.browser
@pytest.mark.parametrize("kind", ["dynamic", "fixed", "stored"])
def test_the_page_inflates_its_columns_and_shows_every_record(
    browser: Any, scaled_pages: dict[str, Path], kind: str
) -> None:
    from tests.test_browser import Console

    html = scaled_pages[kind].read_text(encoding="utf-8")
    data = embedded(html)
    fields = data["cell_fields"]
    cells = [dict(zip(fields, c, strict=True)) for c in data["cells"]]
    per_cell: dict[int, int] = {}
    for r in data["records"]:
        per_cell[r[0]] = per_cell.get(r[0], 0) + 1
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        console = Console(page)
        rows = [r["id"] for r in data["rows"]]
        # a pair bench/scale.py made: saved in the first row, loaded in the last
        page.goto(scaled_pages[kind].as_uri() + f"#from={rows[0]}&to={rows[2]}")
        page.wait_for_selector("#upgrade-table tbody tr")
        cross = [c for c in cells if (c["save_row"], c["load_row"]) == (0, 2)]
        assert page.locator("#upgrade-table tbody tr.ans").count() == len(cross)
        squares = sum(1 for c in cells if c["save_row"] == c["load_row"])
        assert page.locator("#overview-table button.sq").count() == squares
        # the dialog of the cell with the most records lists each of its calls
        i = max(per_cell, key=lambda k: (per_cell[k], -k))
        c = cells[i]
        cell_id = "/".join(
            [
                data["scenarios"][c["scenario"]]["id"],
                data["formats"][c["format"]],
                rows[c["save_row"]],
                rows[c["load_row"]],
            ]
        )
        page.goto(scaled_pages[kind].as_uri() + f"#cell={cell_id}")
        page.wait_for_selector("#detail[open]")
        assert page.locator("#detail table.calls tbody tr").count() == per_cell[i]
        assert console.errors == []
    finally:
        context.close()
