"""MATRIX.md and index.html rendered from the synthetic fixture: structure, escaping, content."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from runner.core.results import read_json
from runner.core.vocab import STATUS_LABELS, STATUSES
from runner.report.markup import GROUP_CELLS_LISTED, md_text
from runner.report.publish import publish_beside
from runner.report.view import build_view
from tests.pages import embedded, matrix_table, md_tables, same_env_cells, status_of, strip_code

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
XSS = "<script>alert(1)</script>"
ENV_ERROR_ROW = "tf2.3-k2-py3.7"


def _render_file(path: Path, out: Path) -> list[Path]:
    return publish_beside(read_json(path), out)


@pytest.fixture
def results() -> dict[str, Any]:
    return read_json(FIXTURE)


@pytest.fixture
def rendered(results: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    paths = publish_beside(results, tmp_path)
    assert [p.name for p in paths] == ["MATRIX.md", "index.html", "pass-rate.svg", "last-run.svg"]
    return {p.name: p.read_text(encoding="utf-8") for p in paths}


# ---- MATRIX.md -------------------------------------------------------------------


def test_md_has_a_row_per_scenario_and_format_and_a_column_per_row(
    results: dict[str, Any], rendered: dict[str, str]
) -> None:
    header, separator, *body = matrix_table(rendered["MATRIX.md"])
    assert header[:2] == ["Scenario", "Format"]
    column_ids = [re.match(r"\*\*(.+?)\*\*", h).group(1).replace("\\", "") for h in header[2:]]  # type: ignore[union-attr]
    assert sorted(column_ids) == sorted(r["id"] for r in results["rows"])
    assert all(set(s) <= set("-:") for s in separator)
    expected = [(f"`{s['id']}`", f"`{f}`") for s in results["scenarios"] for f in results["formats"]]
    assert [(row[0], row[1]) for row in body] == expected
    assert all(len(row) == len(header) for row in body)


def test_md_columns_are_grouped_by_flavour_and_labelled(results: dict[str, Any], rendered: dict[str, str]) -> None:
    header = matrix_table(rendered["MATRIX.md"])[0][2:]
    rows = {r["id"]: r for r in results["rows"]}
    flavours = []
    for cell in header:
        row = rows[re.match(r"\*\*(.+?)\*\*", cell).group(1).replace("\\", "")]  # type: ignore[union-attr]
        assert f"TF {row['tf']}" in cell and f"Keras {row['keras']}" in cell and f"Py {row['python']}" in cell
        assert md_text(row["flavour"]) in cell
        flavours.append(row["flavour"])
    # each flavour's columns are contiguous: as many runs as flavours
    runs = [f for i, f in enumerate(flavours) if i == 0 or flavours[i - 1] != f]
    assert len(runs) == len(set(runs))


def test_md_every_cell_has_a_symbol_and_a_label(results: dict[str, Any], rendered: dict[str, str]) -> None:
    header, _, *body = matrix_table(rendered["MATRIX.md"])
    seen = set()
    for row in body:
        for cell in row[2:]:
            status = status_of(cell)
            assert status is not None, cell
            seen.add(status)
    assert seen == {c["status"] for c in same_env_cells(results)}


def test_md_cells_match_results(results: dict[str, Any], rendered: dict[str, str]) -> None:
    header, _, *body = matrix_table(rendered["MATRIX.md"])
    columns = [re.match(r"\*\*(.+?)\*\*", h).group(1).replace("\\", "") for h in header[2:]]  # type: ignore[union-attr]
    shown = {
        (row[0].strip("`"), row[1].strip("`"), col): status_of(cell)
        for row in body
        for col, cell in zip(columns, row[2:], strict=True)
    }
    for c in same_env_cells(results):
        assert shown[(c["scenario"], c["format"], c["save_row"])] == c["status"]


def test_md_tables_are_well_formed(rendered: dict[str, str]) -> None:
    for table in md_tables(rendered["MATRIX.md"]):
        widths = {len(row) for row in table}
        assert len(widths) == 1, table[0]


def test_md_pipes_in_table_cells_are_escaped(results: dict[str, Any], tmp_path: Path) -> None:
    i = next(i for i, r in enumerate(results["rows"]) if r["status"] == "env_error")
    results["rows"][i]["error"] = "resolver says a | b"
    results["scenarios"][0]["claim"] = "works | fails"
    md = publish_beside(results, tmp_path)[0].read_text(encoding="utf-8")
    assert "resolver says a \\| b" in md
    assert "works \\| fails" in md
    for table in md_tables(md):
        assert len({len(row) for row in table}) == 1


def test_md_html_in_messages_is_inert(rendered: dict[str, str]) -> None:
    md = rendered["MATRIX.md"]
    assert XSS in md  # the exact message is shown...
    assert "<script" not in strip_code(md)  # ...but only inside code


def test_md_lists_failures_by_signature_with_fix_and_cells(results: dict[str, Any], rendered: dict[str, str]) -> None:
    md = rendered["MATRIX.md"]
    failures = md.split("## Failures", 1)[1].split("\n## ", 1)[0]
    view = build_view(results)
    for c in same_env_cells(results):
        if c["status"] == "pass":
            continue
        group = next(
            g
            for g in view.groups
            if any(
                m.index is not None
                and m.scenario == c["scenario"]
                and m.format == c["format"]
                and m.save_row == c["save_row"]
                and m.load_row == c["load_row"]
                for m in g.cells
            )
        )
        heading = f'<a id="{group.anchor}"></a>\n### {group.id} · `{group.type}`'
        assert heading in failures
        section = failures.split(heading, 1)[1].split("<a id=", 1)[0]
        assert f"`{c['scenario']}` · `{c['format']}` in `{c['save_row']}`" in section
        if c["error"]:
            assert c["error"]["message"] in section
        if c["fix"]:
            assert md_text(c["fix"]) in section


def test_md_groups_identical_errors_once(rendered: dict[str, str]) -> None:
    md = rendered["MATRIX.md"]
    # Keras 3 rejects legacy SavedModel the same way for three scenarios: one group of 3.
    assert md.count("File format not supported: filepath=model.") == 1
    assert re.search(r"### E\d+ · `ValueError` · 3 cells\n\n```text\nFile format not supported", md)
    # and each matrix cell points at its group
    assert md.count("➖ unsupported [E") >= 3


def test_md_env_error_column_shows_the_resolver_message(results: dict[str, Any], rendered: dict[str, str]) -> None:
    md = rendered["MATRIX.md"]
    message = next(r["error"] for r in results["rows"] if r["status"] == "env_error")
    header, _, *body = matrix_table(md)
    col = next(i for i, h in enumerate(header) if ENV_ERROR_ROW in h.replace("\\", ""))
    assert "🏚️ env error" in header[col]
    assert all(status_of(row[col]) == "env_error" for row in body)
    environments = md.split("## Environments", 1)[1]
    assert message in environments
    failures = md.split("## Failures", 1)[1]
    assert f"### E1 · `EnvError` · {len(body)} cells\n\n```text\n{message}\n```" in failures


def test_md_shows_what_the_save_wrote_when_it_is_not_what_the_format_suggests(rendered: dict[str, str]) -> None:
    header, _, *body = matrix_table(rendered["MATRIX.md"])
    col = next(i for i, h in enumerate(header) if "tf2.10-k2-py3.9" in h)
    keras_row = next(row for row in body if row[:2] == ["`lambda_simple`", "`keras`"])
    assert keras_row[col] == "✅ pass<br>wrote `savedmodel_dir`"
    h5_row = next(row for row in body if row[:2] == ["`lambda_simple`", "`h5`"])
    assert h5_row[col] == "✅ pass"


def test_md_counts_and_legend(results: dict[str, Any], rendered: dict[str, str]) -> None:
    md = rendered["MATRIX.md"]
    summary = md.split("## Summary", 1)[1].split("\n## ", 1)[0]
    cells = same_env_cells(results)
    for status in {c["status"] for c in cells}:
        symbol, label = STATUS_LABELS[status]  # type: ignore[index]
        n = sum(1 for c in cells if c["status"] == status)
        assert f"| {symbol} {md_text(label)} | {n} |" in summary
    assert f"| **total** | **{len(cells)}** |" in summary
    assert "1 more cell was loaded in another environment" in summary
    legend = md.split("## Legend", 1)[1].split("\n## ", 1)[0]
    for status in STATUSES:
        symbol, label = STATUS_LABELS[status]
        assert f"| {symbol} | {md_text(label)} |" in legend


def test_md_ignores_cross_env_cells_in_the_matrix(results: dict[str, Any], rendered: dict[str, str]) -> None:
    cross = next(c for c in results["cells"] if c["save_row"] != c["load_row"])
    md = rendered["MATRIX.md"]
    before_upgrades, upgrades = md.split("## Upgrades", 1)
    assert cross["error"]["message"] not in before_upgrades
    # ...it is listed under the upgrade it breaks instead
    assert f"**{md_text(cross['save_row'])} → {md_text(cross['load_row'])} breaks:**" in upgrades


def test_md_marks_cells_not_run(results: dict[str, Any], tmp_path: Path) -> None:
    gone = next(c for c in results["cells"] if c["save_row"] == "tf2.16-k3-py3.11" and c["status"] == "pass")
    results["cells"].remove(gone)
    results["records"] = [
        r
        for r in results["records"]
        if (r["scenario"], r["format"], r["save_row"], r["load_row"])
        != (gone["scenario"], gone["format"], gone["save_row"], gone["load_row"])
    ]
    md = publish_beside(results, tmp_path)[0].read_text(encoding="utf-8")
    assert "| ◌ not run |" in md


def test_env_error_row_without_cells_still_explains_its_column(results: dict[str, Any], tmp_path: Path) -> None:
    results["cells"] = [c for c in results["cells"] if c["save_row"] != ENV_ERROR_ROW]
    results["records"] = [r for r in results["records"] if r["save_row"] != ENV_ERROR_ROW]
    md = publish_beside(results, tmp_path)[0].read_text(encoding="utf-8")
    header, _, *body = matrix_table(md)
    col = next(i for i, h in enumerate(header) if ENV_ERROR_ROW in h.replace("\\", ""))
    assert all(status_of(row[col]) == "env_error" for row in body)
    message = next(r["error"] for r in results["rows"] if r["status"] == "env_error")
    assert f"```text\n{message}\n```" in md


# ---- index.html ------------------------------------------------------------------


def test_html_escapes_the_script_tag(rendered: dict[str, str]) -> None:
    html = rendered["index.html"]
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # server-rendered failure list
    assert html.count("<script") == 2  # the data block and the page script, nothing injected
    messages = [e["message"] for e in embedded(html)["errors"]]
    assert any(XSS in m for m in messages)  # and the JSON round-trips to the exact message


def test_html_is_self_contained(rendered: dict[str, str]) -> None:
    html = rendered["index.html"]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html
    # url() only for the inline data: glyphs (no network at view time)
    assert not re.search(r"""@import|url\((?!["']?data:)""", html)


def test_html_embeds_the_data_once(results: dict[str, Any], rendered: dict[str, str]) -> None:
    html = rendered["index.html"]
    data = embedded(html)
    assert html.count('type="application/json"') == 1
    # every cell, cross-env ones too, for the later save-env/load-env view
    assert len(data["cells"]) == len(results["cells"])
    assert len(data["records"]) == len(results["records"])
    fields = data["cell_fields"]
    rows = [r["id"] for r in data["rows"]]
    for raw, packed in zip(results["cells"], data["cells"], strict=True):
        cell = dict(zip(fields, packed, strict=True))
        assert data["scenarios"][cell["scenario"]]["id"] == raw["scenario"]
        assert data["formats"][cell["format"]] == raw["format"]
        assert (rows[cell["save_row"]], rows[cell["load_row"]]) == (raw["save_row"], raw["load_row"])
        assert cell["status"] == raw["status"]
        error = raw["error"]
        assert (data["errors"][cell["error"]] if cell["error"] >= 0 else None) == (
            {"type": error["type"], "message": error["message"]} if error else None
        )
        if error and error["traceback"]:
            assert error["traceback"].endswith(data["tracebacks"][cell["traceback"]])
        else:
            assert cell["traceback"] == -1
        assert (data["fixes"][cell["fix"]] if cell["fix"] >= 0 else None) == raw["fix"]
    assert all(r[0] >= 0 for r in data["records"])  # every record belongs to a cell
    assert {s: (v["symbol"], v["label"]) for s, v in data["statuses"].items() if s != "not_run"} == STATUS_LABELS


def test_html_legend_counts_and_filters(results: dict[str, Any], rendered: dict[str, str]) -> None:
    html = rendered["index.html"]
    legend = html.split('id="legend"', 1)[1].split("</section>", 1)[0]
    for status in STATUSES:
        _, label = STATUS_LABELS[status]
        # a CSS-drawn glyph (no emoji font needed) and the label
        glyph = '<span class="g" aria-hidden="true"></span>'
        assert f'<span class="badge st-{status}">{glyph} <span class="lbl">{label}</span>' in legend
    cells = same_env_cells(results)
    for status in {c["status"] for c in cells}:
        n = sum(1 for c in cells if c["status"] == status)
        assert re.search(rf'data-status="{status}"[^>]*>.*?<b>{n}</b>', html)
    for name in ("scenario", "format", "status", "flavour", "group", "load", "q"):
        assert f'name="{name}"' in html


def test_html_env_error_message_is_shown(results: dict[str, Any], rendered: dict[str, str]) -> None:
    message = next(r["error"] for r in results["rows"] if r["status"] == "env_error")
    environments = rendered["index.html"].split('id="environments"', 1)[1]
    assert f'<span class="env-msg">{message}</span>' in environments


def test_html_failure_groups_open_cell_details(rendered: dict[str, str], results: dict[str, Any]) -> None:
    html = rendered["index.html"]
    data = embedded(html)
    for group in data["groups"]:
        # a group with cells in the matrix is listed under Failures (cross-env-only ones open from their cells)
        if group["same_env"]:
            assert f'data-group="{group["id"]}"' in html
    failures = html.split('id="failures"', 1)[1].split("</section>", 1)[0]
    buttons = [int(i) for i in re.findall(r'data-cell="(\d+)"', failures)]
    view = build_view(results)
    listed = sum(min(len(g.same_env_cells), GROUP_CELLS_LISTED) for g in view.groups)
    assert len(buttons) == listed  # a few per group; the group's button filters the matrix to all of them
    assert all(0 <= i < len(data["cells"]) for i in buttons)


def test_html_script_has_no_template_leftovers(rendered: dict[str, str]) -> None:
    html = rendered["index.html"]
    assert "{{" not in html and "{%" not in html and "{#" not in html
