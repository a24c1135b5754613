"""The report's sections on the recorded real run: ranges, upgrades, claims, changes, trend, badges."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from runner.core.results import read_json
from runner.core.vocab import WORKING
from runner.report import view
from runner.report.markup import md_text
from runner.report.page import page_data
from runner.report.publish import PREVIOUS_NAME, publish_beside
from runner.report.ranges import ScenarioRanges, version_ranges
from runner.report.view import build_view
from tests.pages import embedded, matrix_table, md_tables

# ---- The recorded real run: ranges, upgrades, claims, changes, trend, badges -----

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
REAL = Path(__file__).parent / "fixtures" / "results_real.json"
K2, TFK, K3 = "tf2.15-k2-py3.11", "tf2.21-tfk2.21-py3.11", "tf2.21-k3.13-py3.11"


@pytest.fixture
def results() -> dict[str, Any]:
    return read_json(FIXTURE)


@pytest.fixture
def real() -> dict[str, Any]:
    return read_json(REAL)


def _row(row_id: str, flavour: str, tf: str, keras: str, python: str = "3.11.7", tags: tuple[str, ...] = ()) -> dict:
    return {"id": row_id, "flavour": flavour, "tf": tf, "keras": keras, "python": python, "tags": list(tags)}


def test_version_ranges_group_equal_statuses_along_a_line() -> None:
    rows = [_row(f"tf2.{m}", "keras2", f"2.{m}.0", f"2.{m}.0") for m in (0, 5, 11, 12, 15)]
    statuses = ["pass", "pass", "pass", "pass_unsafe", "pass_unsafe"]
    (line,) = version_ranges(zip(rows, statuses, strict=True))
    assert [(r.versions, r.value) for r in line.ranges] == [("TF 2.0–2.11", "pass"), ("TF ≥ 2.12", "pass_unsafe")]


def test_version_ranges_skip_unmeasured_and_python_axis_rows_and_use_keras_for_keras3() -> None:
    rows = [
        _row("a", "keras3", "2.16.1", "3.1.1"),
        _row("b", "keras3", "2.17.0", "3.5.0"),
        _row("b-py", "keras3", "2.17.0", "3.5.0", python="3.9.18", tags=("python-axis",)),
        _row("c", "keras3", "2.21.0", "3.13.0"),
        _row("d", "keras2", "2.15.1", "2.15.0"),
    ]
    values = ["load_error", None, "pass", "load_error", "pass"]
    keras2, keras3 = version_ranges(zip(rows, values, strict=True))
    assert keras2.flavour == "keras2" and [(r.versions, r.value) for r in keras2.ranges] == [("TF 2.15", "pass")]
    # a Keras 3 range names its TF releases too
    assert [(r.versions, r.value) for r in keras3.ranges] == [("Keras 3.1–3.13 (TF 2.16–2.21)", "load_error")]


def test_ranges_report_first_broken_and_first_fixed(results: dict[str, Any]) -> None:
    view = build_view(results)
    assert len(view.ranges) == len(results["scenarios"]) * len(results["formats"])
    sr = ScenarioRanges(
        scenario={"id": "s"},
        format="h5",
        lines=version_ranges(
            zip(
                [_row(f"r{m}", "keras2", f"2.{m}.0", "x") for m in (1, 2, 3)],
                ["pass", "load_error", "pass"],
                strict=True,
            )
        ),
    )
    assert [(k, after.lo) for k, _, _, after in sr.transitions] == [("broken", "2.2"), ("fixed", "2.3")]


def test_md_and_html_show_version_ranges(real: dict[str, Any], tmp_path: Path) -> None:
    md, html = (p.read_text(encoding="utf-8") for p in publish_beside(real, tmp_path)[:2])
    ranges = md.split("## Version ranges", 1)[1].split("\n## ", 1)[0]
    line = next(ln for ln in ranges.splitlines() if ln.startswith("| `lambda_simple` | `h5` |"))
    assert "keras2: TF 2.15 ✅ pass" in line and "keras3: Keras 3.13 (TF 2.21) ❌ load error" in line
    # the step from the last Keras 2 release to the first Keras 3 one is reported
    assert "broken in Keras 2 → 3" in line
    section = html.split('id="ranges"', 1)[1].split("</section>", 1)[0]
    assert 'data-scenario="lambda_simple" data-format="h5"' in section
    assert '<span class="ver">Keras 3.13 (TF 2.21)</span>' in section


def test_upgrades_summarise_line_switches_with_what_breaks(real: dict[str, Any]) -> None:
    view = build_view(real)
    pairs = {(u.save["id"], u.load["id"]): u for u in view.upgrades}
    assert set(pairs) == {(K2, TFK), (K2, K3), (TFK, K3)}  # forward only: no downgrade from Keras 3
    up = pairs[(K2, K3)]
    assert len(up.cells) == len(real["scenarios"]) * len(real["formats"])
    broken = {(c.after.scenario, c.after.format) for c in up.changed("breaks")}
    assert ("lambda_simple", "h5") in broken
    assert all(c.before is not None and c.before.status in WORKING for c in up.changed("breaks"))


def test_upgrades_between_consecutive_releases_of_a_line(real: dict[str, Any]) -> None:
    # A second keras2 row whose artifacts are loaded in the existing one: an "older release" of the same line.
    old = copy.deepcopy(next(r for r in real["rows"] if r["id"] == K2))
    old.update(id="tf2.14-k2-py3.11", tf="2.14.1", keras="2.14.0")
    real["rows"].append(old)
    for cell in [c for c in real["cells"] if c["save_row"] == K2 and c["load_row"] == K2]:
        real["cells"].append({**cell, "save_row": old["id"]})
        real["cells"].append({**cell, "save_row": old["id"], "load_row": old["id"]})
    view = build_view(real)
    kinds = {(u.save["id"], u.load["id"]): u.kind for u in view.upgrades}
    assert kinds[(old["id"], K2)] == "next release"


def test_load_only_rows_are_another_backend_not_a_release(real: dict[str, Any]) -> None:
    jax = copy.deepcopy(next(r for r in real["rows"] if r["id"] == K3))
    jax.update(id="jax-k3.13-py3.11", env_vars={"KERAS_BACKEND": "jax"}, tags=["backend"])
    real["rows"].append(jax)
    for cell in [c for c in real["cells"] if c["save_row"] == K3 and c["load_row"] == K3]:
        real["cells"].append({**cell, "load_row": jax["id"]})  # loads Keras 3 artifacts, saves none
    view = build_view(real)
    kinds = {(u.save["id"], u.load["id"]): u.kind for u in view.upgrades}
    assert kinds[(K3, jax["id"])] == "other backend"
    assert (K2, jax["id"]) not in kinds  # K2 -> newest keras3 is still the TF row
    assert kinds[(K2, K3)] == "line switch"
    data = page_data(view)
    ids = [r["id"] for r in data["rows"]]
    assert [ids[i] for i in data["shortcuts"][ids.index(K3)]["backends"]] == [jax["id"]]


def test_md_has_upgrade_and_claims_summaries(real: dict[str, Any], tmp_path: Path) -> None:
    md = publish_beside(real, tmp_path)[0].read_text(encoding="utf-8")
    upgrades = md.split("## Upgrades", 1)[1].split("\n## ", 1)[0]
    assert f"| `{K2}` | `{K3}` | line switch | 24 |" in upgrades
    assert f"**{md_text(K2)} → {md_text(K3)} breaks:**" in upgrades
    claims = md.split("## Claims", 1)[1].split("\n## ", 1)[0]
    assert "Unknown layer" in claims and "✘ does not hold" in claims and "✔ holds" in claims
    for table in md_tables(md):
        assert len({len(row) for row in table}) == 1


def test_md_keeps_only_the_top_error_groups(
    results: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(view, "TOP_GROUPS_MD", 2)
    md = publish_beside(results, tmp_path)[0].read_text(encoding="utf-8")
    failures = md.split("## Failures", 1)[1].split("\n## ", 1)[0]
    assert failures.count("### E") == 2
    assert "the 2 most frequent are below" in failures


def test_html_claims_link_to_the_cells_that_test_them(real: dict[str, Any], tmp_path: Path) -> None:
    html = publish_beside(real, tmp_path)[1].read_text(encoding="utf-8")
    data = embedded(html)
    claims = html.split('id="claims"', 1)[1].split("</section>", 1)[0]
    row = claims.split('id="claim-lambda-h5-unknown-layer"', 1)[1].split("</tr>", 1)[0]
    (index,) = re.findall(r'data-claim="(\d+)"', row)
    listed = data["claims"][int(index)]
    assert {v for _, v, _ in listed} == {"does_not_hold"}
    cells = [data["cells"][i] for i, _, _ in listed]
    assert len(cells) == 3
    fields = data["cell_fields"]
    assert {data["scenarios"][dict(zip(fields, c, strict=True))["scenario"]]["id"] for c in cells} == {"lambda_simple"}
    assert "does not hold" in row


def test_changes_since_the_previous_run(real: dict[str, Any], tmp_path: Path) -> None:
    previous = copy.deepcopy(real)
    previous["run"]["finished"] = "2026-11-20T05:00:00Z"
    same = [c for c in previous["cells"] if c["save_row"] == c["load_row"]]
    was_broken = next(c for c in same if c["status"] == "pass")
    was_broken.update(status="load_error", error={"type": "ValueError", "message": "old <b>bug</b>", "traceback": None})
    (tmp_path / PREVIOUS_NAME).write_text(json.dumps(previous), encoding="utf-8")
    md, html = (p.read_text(encoding="utf-8") for p in publish_beside(real, tmp_path)[:2])
    assert "## Changed since the last run" in md and "1 newly fixed" in md
    section = html.split('id="changes"', 1)[1].split("</section>", 1)[0]
    assert "Newly fixed</b> · 1 cell" in section
    data = embedded(html)
    ((index, (kind, old_status)),) = data["changes"].items()
    assert kind == "newly_fixed" and old_status == "load_error"
    assert 'name="change"' in html


def test_a_broken_previous_file_is_skipped(real: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / PREVIOUS_NAME).write_text("{", encoding="utf-8")
    html = publish_beside(real, tmp_path)[1].read_text(encoding="utf-8")
    assert 'id="changes"' not in html


def test_trend_comes_from_the_history_file(real: dict[str, Any], tmp_path: Path) -> None:
    from runner.report.history import append_history

    older = copy.deepcopy(real)
    older["run"]["finished"] = "2026-11-19T05:00:00Z"
    append_history(older, tmp_path / "history.jsonl")
    html = publish_beside(real, tmp_path)[1].read_text(encoding="utf-8")
    trend = html.split('id="trend"', 1)[1].split("</section>", 1)[0]
    assert trend.count("<tr") == 3  # header + the older run + this one (added though not in the file yet)
    assert "(this run)" in trend and "<polyline" in trend


def test_badges_are_written_and_escaped(real: dict[str, Any], tmp_path: Path) -> None:
    paths = publish_beside(real, tmp_path)
    svgs = {p.name: p.read_text(encoding="utf-8") for p in paths if p.suffix == ".svg"}
    # the matrix's scope, as on the page: cells saved and loaded in the same env
    same = [c for c in real["cells"] if c["save_row"] == c["load_row"]]
    passing = sum(1 for c in same if c["status"] == "pass")
    assert f"{passing / len(same):.0%} of {len(same)} cells" in svgs["pass-rate.svg"]
    assert real["run"]["finished"][:10] in svgs["last-run.svg"]
    for svg in svgs.values():
        assert svg.startswith("<svg") and 'role="img"' in svg


def test_page_data_shortcuts_find_python_twins_and_next_releases(real: dict[str, Any]) -> None:
    twin = copy.deepcopy(next(r for r in real["rows"] if r["id"] == K3))
    twin.update(id="tf2.21-k3.13-py3.13", python="3.13.0", tags=["python-axis"])
    real["rows"].append(twin)
    view = build_view(real)
    data = page_data(view)
    ids = [r["id"] for r in data["rows"]]
    k3 = data["shortcuts"][ids.index(K3)]
    assert [ids[i] for i in k3["twins"]] == [twin["id"]]
    assert {ids[i] for i in k3["newest"]} == {K2, TFK}


def test_real_fixture_renders_every_cell(real: dict[str, Any], tmp_path: Path) -> None:
    md, html = (p.read_text(encoding="utf-8") for p in publish_beside(real, tmp_path)[:2])
    data = embedded(html)
    assert len(data["cells"]) == len(real["cells"]) and len(data["records"]) == len(real["records"])
    # lazy cross-env cells have 1 record, same-env ones all 5: both are kept as they are
    per_cell: dict[int, int] = {}
    for r in data["records"]:
        per_cell[r[0]] = per_cell.get(r[0], 0) + 1
    assert set(per_cell.values()) == {1, 5}
    header = matrix_table(md)[0]
    assert len(header) == 2 + len(real["rows"])


def test_a_previous_file_with_a_wrong_shape_is_skipped(real: dict[str, Any], tmp_path: Path) -> None:
    previous = copy.deepcopy(real)
    del previous["cells"][0]["status"]
    (tmp_path / PREVIOUS_NAME).write_text(json.dumps(previous), encoding="utf-8")
    html = publish_beside(real, tmp_path)[1].read_text(encoding="utf-8")
    assert 'id="changes"' not in html


def test_python_axis_twins_get_an_upgrade_summary(real: dict[str, Any]) -> None:
    twin = copy.deepcopy(next(r for r in real["rows"] if r["id"] == K2))
    twin.update(id="tf2.15-k2-py3.9", python="3.9.18", tags=["python-axis"])
    real["rows"].append(twin)
    for cell in [c for c in real["cells"] if c["save_row"] == K2 and c["load_row"] == K2]:
        real["cells"].append({**cell, "save_row": twin["id"]})
    view = build_view(real)
    kinds = {(u.save["id"], u.load["id"]): u.kind for u in view.upgrades}
    assert kinds[(twin["id"], K2)] == "same TF, other Python"
