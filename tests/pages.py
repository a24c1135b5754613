"""Reading the rendered reports back in tests: GFM tables of MATRIX.md, the data embedded in index.html."""

from __future__ import annotations

import json
import re
from typing import Any

from runner.core.vocab import STATUS_LABELS
from runner.report.markup import md_text
from runner.report.page_pack import unpack


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
        if cell.startswith(f"{symbol} {md_text(label)}"):
            return status
    return None


def same_env_cells(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in results["cells"] if c["save_row"] == c["load_row"]]


def embedded(html: str) -> dict[str, Any]:
    """The page's data, its packed cells and records unpacked into rows (runner/report/page_pack.py)."""
    match = re.search(r'<script type="application/json" id="kc-data">(.*?)</script>', html, re.S)
    assert match
    data: dict[str, Any] = unpack(json.loads(match.group(1)))
    return data
