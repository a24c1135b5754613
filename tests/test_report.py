"""MATRIX.md and index.html rendered from the synthetic fixture: structure, escaping, content."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import StrictUndefined

from runner import report
from runner.errors import ResultsError
from runner.model import STATUS_LABELS, STATUSES
from runner.results import read_json

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
XSS = "<script>alert(1)</script>"
ENV_ERROR_ROW = "tf2.3-k2-py3.7"


@pytest.fixture
def results() -> dict[str, Any]:
    return read_json(FIXTURE)


@pytest.fixture
def rendered(results: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    paths = report.render(results, tmp_path)
    assert [p.name for p in paths] == ["MATRIX.md", "index.html", "pass-rate.svg", "last-run.svg"]
    return {p.name: p.read_text(encoding="utf-8") for p in paths}


# ---- Markdown helpers ------------------------------------------------------------


def split_row(line: str) -> list[str]:
    """Cells of a GFM table line: split on pipes that are not escaped."""
    assert line.startswith("|") and line.endswith("|"), line
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1])]


def md_tables(md: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append(split_row(line))
        elif current:
            tables.append(current)
            current = []
    return tables


def matrix_table(md: str) -> list[list[str]]:
    section = md.split("## Matrix", 1)[1].split("\n## ", 1)[0]
    (table,) = md_tables(section)
    return table


def strip_code(md: str) -> str:
    """Markdown without fenced blocks and inline code spans (where HTML is inert)."""
    md = re.sub(r"^(`{3,}).*?^\1$", "", md, flags=re.S | re.M)
    return re.sub(r"(`+).+?\1", "", md)


def status_of(cell: str) -> str | None:
    for status, (symbol, label) in STATUS_LABELS.items():
        if cell.startswith(f"{symbol} {report.md_text(label)}"):
            return status
    return None


def same_env_cells(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in results["cells"] if c["save_row"] == c["load_row"]]


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
        assert report.md_text(row["flavour"]) in cell
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
    md = report.render(results, tmp_path)[0].read_text(encoding="utf-8")
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
    view = report.build_view(results)
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
            assert report.md_text(c["fix"]) in section


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
        assert f"| {symbol} {report.md_text(label)} | {n} |" in summary
    assert f"| **total** | **{len(cells)}** |" in summary
    assert "1 more cell was loaded in another environment" in summary
    legend = md.split("## Legend", 1)[1].split("\n## ", 1)[0]
    for status in STATUSES:
        symbol, label = STATUS_LABELS[status]
        assert f"| {symbol} | {report.md_text(label)} |" in legend


def test_md_ignores_cross_env_cells_in_the_matrix(results: dict[str, Any], rendered: dict[str, str]) -> None:
    cross = next(c for c in results["cells"] if c["save_row"] != c["load_row"])
    md = rendered["MATRIX.md"]
    before_upgrades, upgrades = md.split("## Upgrades", 1)
    assert cross["error"]["message"] not in before_upgrades
    # ...it is listed under the upgrade it breaks instead
    assert f"**{report.md_text(cross['save_row'])} → {report.md_text(cross['load_row'])} breaks:**" in upgrades


def test_md_marks_cells_not_run(results: dict[str, Any], tmp_path: Path) -> None:
    gone = next(c for c in results["cells"] if c["save_row"] == "tf2.16-k3-py3.11" and c["status"] == "pass")
    results["cells"].remove(gone)
    results["records"] = [
        r
        for r in results["records"]
        if (r["scenario"], r["format"], r["save_row"], r["load_row"])
        != (gone["scenario"], gone["format"], gone["save_row"], gone["load_row"])
    ]
    md = report.render(results, tmp_path)[0].read_text(encoding="utf-8")
    assert "| ◌ not run |" in md


def test_env_error_row_without_cells_still_explains_its_column(results: dict[str, Any], tmp_path: Path) -> None:
    results["cells"] = [c for c in results["cells"] if c["save_row"] != ENV_ERROR_ROW]
    results["records"] = [r for r in results["records"] if r["save_row"] != ENV_ERROR_ROW]
    md = report.render(results, tmp_path)[0].read_text(encoding="utf-8")
    header, _, *body = matrix_table(md)
    col = next(i for i, h in enumerate(header) if ENV_ERROR_ROW in h.replace("\\", ""))
    assert all(status_of(row[col]) == "env_error" for row in body)
    message = next(r["error"] for r in results["rows"] if r["status"] == "env_error")
    assert f"```text\n{message}\n```" in md


# ---- index.html ------------------------------------------------------------------


def embedded(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="kc-data">(.*?)</script>', html, re.S)
    assert match
    data: dict[str, Any] = json.loads(match.group(1))
    return data


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
    assert not re.search(r"@import|url\(", html)


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
        symbol, label = STATUS_LABELS[status]
        assert f'<span class="sym" aria-hidden="true">{symbol}</span> <span class="lbl">{label}</span>' in legend
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
        if group["cells"]:
            assert f'data-group="{group["id"]}"' in html
    failures = html.split('id="failures"', 1)[1].split("</section>", 1)[0]
    buttons = [int(i) for i in re.findall(r'data-cell="(\d+)"', failures)]
    view = report.build_view(results)
    listed = sum(min(len(g.same_env_cells), report.GROUP_CELLS_LISTED) for g in view.groups)
    assert len(buttons) == listed  # a few per group; the group's button filters the matrix to all of them
    assert all(0 <= i < len(data["cells"]) for i in buttons)


def test_html_script_has_no_template_leftovers(rendered: dict[str, str]) -> None:
    html = rendered["index.html"]
    assert "{{" not in html and "{%" not in html and "{#" not in html


# ---- helpers and entry points ----------------------------------------------------


def test_script_json_cannot_close_the_block() -> None:
    text = str(report.script_json({"m": "</script><!-- & -->"}))
    assert "</" not in text and "<!--" not in text
    assert json.loads(text) == {"m": "</script><!-- & -->"}


def test_md_code_survives_backticks_and_pipes() -> None:
    assert report.md_code("a`b") == "``a`b``"
    assert report.md_code("`x`") == "`` `x` ``"
    assert report.md_code("a | b", table=True) == "`a \\| b`"
    assert report.md_code("line\nbreak") == "`line break`"
    assert report.md_fenced("```inner```").startswith("````text\n")


def test_md_text_escapes_markdown() -> None:
    assert report.md_text("a|b <i>*x*</i> [l](u)") == "a\\|b \\<i\\>\\*x\\*\\</i\\> \\[l\\](u)"


def test_error_signature_normalises_counters_and_addresses() -> None:
    a = report.error_signature("NameError", "calling layer 'lambda_3' at 0x7f3a2b  failed")
    b = report.error_signature("NameError", "calling layer 'lambda_12' at 0x55aa00 failed")
    assert a == b
    assert a != report.error_signature("TypeError", "calling layer 'lambda_3' at 0x7f3a2b failed")


def test_templates_are_strict_and_html_only_is_autoescaped() -> None:
    env = report.environment()
    assert env.undefined is StrictUndefined
    assert env.autoescape("index.html.j2") is True  # type: ignore[operator]
    assert env.autoescape("matrix.md.j2") is False  # type: ignore[operator]


def test_render_validates_first(results: dict[str, Any], tmp_path: Path) -> None:
    bad = copy.deepcopy(results)
    bad["cells"][0]["status"] = "mostly_fine"
    with pytest.raises(ResultsError, match=r"\$\.cells\[0\]\.status"):
        report.render(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_main_reads_a_results_file(tmp_path: Path) -> None:
    paths = report.main(FIXTURE, tmp_path / "reports")
    assert [p.name for p in paths] == ["MATRIX.md", "index.html", "pass-rate.svg", "last-run.svg"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_main_reports_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no such file"):
        report.main(tmp_path / "missing.json", tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ResultsError, match="not JSON"):
        report.main(broken, tmp_path)


def test_status_meanings_cover_the_vocabulary() -> None:
    assert set(report.STATUS_MEANINGS) == set(STATUSES)


def test_columns_are_ordered_by_flavour_then_numeric_version(results: dict[str, Any], tmp_path: Path) -> None:
    results["rows"].reverse()
    # a keras3 row with an older TF than a keras2 row still comes after every keras2 row
    next(r for r in results["rows"] if r["flavour"] == "keras3")["tf"] = "2.9.9"
    md = report.render(results, tmp_path)[0].read_text(encoding="utf-8")
    header = matrix_table(md)[0][2:]
    ids = [re.match(r"\*\*(.+?)\*\*", h).group(1).replace("\\", "") for h in header]  # type: ignore[union-attr]
    # keras2 before keras3; TF 2.3 before 2.10 (numeric, not string, order)
    assert ids == ["tf2.3-k2-py3.7", "tf2.10-k2-py3.9", "tf2.16-k3-py3.11"]


def test_html_survives_a_nan_difference(results: dict[str, Any], tmp_path: Path) -> None:
    record = next(r for r in results["records"] if r["outcome"] == "wrong_output")
    record["max_abs_diff"] = float("nan")
    html = report.render(results, tmp_path)[1].read_text(encoding="utf-8")
    data = embedded(html)  # strict JSON: json.loads would accept NaN, so check the text too
    assert "NaN" not in html.split('id="kc-data">', 1)[1].split("</script>", 1)[0]
    diffs = [r[data["record_fields"].index("max_abs_diff")] for r in data["records"]]
    assert "nan" in diffs


# ---- The recorded real run: ranges, upgrades, claims, changes, trend, badges -----

REAL = Path(__file__).parent / "fixtures" / "results_real.json"
K2, TFK, K3 = "tf2.15-k2-py3.11", "tf2.21-tfk2.21-py3.11", "tf2.21-k3.13-py3.11"


@pytest.fixture
def real() -> dict[str, Any]:
    return read_json(REAL)


def _row(row_id: str, flavour: str, tf: str, keras: str, python: str = "3.11.7", tags: tuple[str, ...] = ()) -> dict:
    return {"id": row_id, "flavour": flavour, "tf": tf, "keras": keras, "python": python, "tags": list(tags)}


def test_version_ranges_group_equal_statuses_along_a_line() -> None:
    rows = [_row(f"tf2.{m}", "keras2", f"2.{m}.0", f"2.{m}.0") for m in (0, 5, 11, 12, 15)]
    statuses = ["pass", "pass", "pass", "pass_unsafe", "pass_unsafe"]
    (line,) = report.version_ranges(zip(rows, statuses, strict=True))
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
    keras2, keras3 = report.version_ranges(zip(rows, values, strict=True))
    assert keras2.flavour == "keras2" and [(r.versions, r.value) for r in keras2.ranges] == [("TF 2.15", "pass")]
    assert [(r.versions, r.value) for r in keras3.ranges] == [("Keras 3.1–3.13", "load_error")]


def test_ranges_report_first_broken_and_first_fixed(results: dict[str, Any]) -> None:
    view = report.build_view(results)
    assert len(view.ranges) == len(results["scenarios"]) * len(results["formats"])
    sr = report.ScenarioRanges(
        scenario={"id": "s"},
        format="h5",
        lines=report.version_ranges(
            zip(
                [_row(f"r{m}", "keras2", f"2.{m}.0", "x") for m in (1, 2, 3)],
                ["pass", "load_error", "pass"],
                strict=True,
            )
        ),
    )
    assert [(k, after.lo) for k, _, _, after in sr.transitions] == [("broken", "2.2"), ("fixed", "2.3")]


def test_md_and_html_show_version_ranges(real: dict[str, Any], tmp_path: Path) -> None:
    md, html = (p.read_text(encoding="utf-8") for p in report.render(real, tmp_path)[:2])
    ranges = md.split("## Version ranges", 1)[1].split("\n## ", 1)[0]
    line = next(ln for ln in ranges.splitlines() if ln.startswith("| `lambda_simple` | `h5` |"))
    assert "keras2: TF 2.15 ✅ pass" in line and "keras3: Keras 3.13 ❌ load error" in line
    section = html.split('id="ranges"', 1)[1].split("</section>", 1)[0]
    assert 'data-scenario="lambda_simple" data-format="h5"' in section
    assert '<span class="ver">Keras 3.13</span>' in section


def test_upgrades_summarise_line_switches_with_what_breaks(real: dict[str, Any]) -> None:
    view = report.build_view(real)
    pairs = {(u.save["id"], u.load["id"]): u for u in view.upgrades}
    assert set(pairs) == {(K2, TFK), (K2, K3), (TFK, K3)}  # forward only: no downgrade from Keras 3
    up = pairs[(K2, K3)]
    assert len(up.cells) == len(real["scenarios"]) * len(real["formats"])
    broken = {(c.after.scenario, c.after.format) for c in up.changed("breaks")}
    assert ("lambda_simple", "h5") in broken
    assert all(c.before is not None and c.before.status in report.WORKING for c in up.changed("breaks"))


def test_upgrades_between_consecutive_releases_of_a_line(real: dict[str, Any]) -> None:
    # A second keras2 row whose artifacts are loaded in the existing one: an "older release" of the same line.
    old = copy.deepcopy(next(r for r in real["rows"] if r["id"] == K2))
    old.update(id="tf2.14-k2-py3.11", tf="2.14.1", keras="2.14.0")
    real["rows"].append(old)
    for cell in [c for c in real["cells"] if c["save_row"] == K2 and c["load_row"] == K2]:
        real["cells"].append({**cell, "save_row": old["id"]})
        real["cells"].append({**cell, "save_row": old["id"], "load_row": old["id"]})
    view = report.build_view(real)
    kinds = {(u.save["id"], u.load["id"]): u.kind for u in view.upgrades}
    assert kinds[(old["id"], K2)] == "next release"


def test_load_only_rows_are_another_backend_not_a_release(real: dict[str, Any]) -> None:
    jax = copy.deepcopy(next(r for r in real["rows"] if r["id"] == K3))
    jax.update(id="jax-k3.13-py3.11", env_vars={"KERAS_BACKEND": "jax"}, tags=["backend"])
    real["rows"].append(jax)
    for cell in [c for c in real["cells"] if c["save_row"] == K3 and c["load_row"] == K3]:
        real["cells"].append({**cell, "load_row": jax["id"]})  # loads Keras 3 artifacts, saves none
    view = report.build_view(real)
    kinds = {(u.save["id"], u.load["id"]): u.kind for u in view.upgrades}
    assert kinds[(K3, jax["id"])] == "other backend"
    assert (K2, jax["id"]) not in kinds  # K2 -> newest keras3 is still the TF row
    assert kinds[(K2, K3)] == "line switch"
    data = report.page_data(view)
    ids = [r["id"] for r in data["rows"]]
    assert [ids[i] for i in data["shortcuts"][ids.index(K3)]["backends"]] == [jax["id"]]


def test_md_has_upgrade_and_claims_summaries(real: dict[str, Any], tmp_path: Path) -> None:
    md = report.render(real, tmp_path)[0].read_text(encoding="utf-8")
    upgrades = md.split("## Upgrades", 1)[1].split("\n## ", 1)[0]
    assert f"| `{K2}` | `{K3}` | line switch | 24 |" in upgrades
    assert f"**{report.md_text(K2)} → {report.md_text(K3)} breaks:**" in upgrades
    claims = md.split("## Claims", 1)[1].split("\n## ", 1)[0]
    assert "Unknown layer" in claims and "✘ does not hold" in claims and "✔ holds" in claims
    for table in md_tables(md):
        assert len({len(row) for row in table}) == 1


def test_md_keeps_only_the_top_error_groups(
    results: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "TOP_GROUPS_MD", 2)
    md = report.render(results, tmp_path)[0].read_text(encoding="utf-8")
    failures = md.split("## Failures", 1)[1].split("\n## ", 1)[0]
    assert failures.count("### E") == 2
    assert "the 2 most frequent are below" in failures


def test_html_claims_link_to_the_cells_that_test_them(real: dict[str, Any], tmp_path: Path) -> None:
    html = report.render(real, tmp_path)[1].read_text(encoding="utf-8")
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
    (tmp_path / report.PREVIOUS_NAME).write_text(json.dumps(previous), encoding="utf-8")
    md, html = (p.read_text(encoding="utf-8") for p in report.render(real, tmp_path)[:2])
    assert "## Changed since the last run" in md and "1 newly fixed" in md
    section = html.split('id="changes"', 1)[1].split("</section>", 1)[0]
    assert "Newly fixed</b> · 1 cell" in section
    data = embedded(html)
    ((index, (kind, old_status)),) = data["changes"].items()
    assert kind == "newly_fixed" and old_status == "load_error"
    assert 'name="change"' in html


def test_a_broken_previous_file_is_skipped(real: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / report.PREVIOUS_NAME).write_text("{", encoding="utf-8")
    html = report.render(real, tmp_path)[1].read_text(encoding="utf-8")
    assert 'id="changes"' not in html


def test_trend_comes_from_the_history_file(real: dict[str, Any], tmp_path: Path) -> None:
    from runner.history import append_history

    older = copy.deepcopy(real)
    older["run"]["finished"] = "2026-11-19T05:00:00Z"
    append_history(older, tmp_path / "history.jsonl")
    html = report.render(real, tmp_path)[1].read_text(encoding="utf-8")
    trend = html.split('id="trend"', 1)[1].split("</section>", 1)[0]
    assert trend.count("<tr") == 3  # header + the older run + this one (added though not in the file yet)
    assert "(this run)" in trend and "<polyline" in trend


def test_badges_are_written_and_escaped(real: dict[str, Any], tmp_path: Path) -> None:
    paths = report.render(real, tmp_path)
    svgs = {p.name: p.read_text(encoding="utf-8") for p in paths if p.suffix == ".svg"}
    passing = sum(1 for c in real["cells"] if c["status"] == "pass")
    assert f"{passing / len(real['cells']):.0%} of {len(real['cells'])} cells" in svgs["pass-rate.svg"]
    assert real["run"]["finished"][:10] in svgs["last-run.svg"]
    for svg in svgs.values():
        assert svg.startswith("<svg") and 'role="img"' in svg


def test_page_data_shortcuts_find_python_twins_and_next_releases(real: dict[str, Any]) -> None:
    twin = copy.deepcopy(next(r for r in real["rows"] if r["id"] == K3))
    twin.update(id="tf2.21-k3.13-py3.13", python="3.13.0", tags=["python-axis"])
    real["rows"].append(twin)
    view = report.build_view(real)
    data = report.page_data(view)
    ids = [r["id"] for r in data["rows"]]
    k3 = data["shortcuts"][ids.index(K3)]
    assert [ids[i] for i in k3["twins"]] == [twin["id"]]
    assert {ids[i] for i in k3["newest"]} == {K2, TFK}


def test_real_fixture_renders_every_cell(real: dict[str, Any], tmp_path: Path) -> None:
    md, html = (p.read_text(encoding="utf-8") for p in report.render(real, tmp_path)[:2])
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
    (tmp_path / report.PREVIOUS_NAME).write_text(json.dumps(previous), encoding="utf-8")
    html = report.render(real, tmp_path)[1].read_text(encoding="utf-8")
    assert 'id="changes"' not in html


def test_python_axis_twins_get_an_upgrade_summary(real: dict[str, Any]) -> None:
    twin = copy.deepcopy(next(r for r in real["rows"] if r["id"] == K2))
    twin.update(id="tf2.15-k2-py3.9", python="3.9.18", tags=["python-axis"])
    real["rows"].append(twin)
    for cell in [c for c in real["cells"] if c["save_row"] == K2 and c["load_row"] == K2]:
        real["cells"].append({**cell, "save_row": twin["id"]})
    view = report.build_view(real)
    kinds = {(u.save["id"], u.load["id"]): u.kind for u in view.upgrades}
    assert kinds[(twin["id"], K2)] == "same TF, other Python"
