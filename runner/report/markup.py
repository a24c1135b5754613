"""Markdown and HTML helpers, and the Jinja2 environment the templates render in.

No HTML or Markdown is built in Python: escaping is the templates' job (autoescape
for HTML, the ``md``/``code`` filters for Markdown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from runner.core.vocab import (
    ANSWER_TITLES,
    ANSWERS,
    FLAVOUR_LABELS,
    KIND_TITLES,
    KINDS,
    NOT_RUN,
    PACKAGE_LABELS,
    STATUS_LABELS,
    STATUS_MEANINGS,
    WRITTEN_MEANINGS,
)

from .claims import VERDICT_LABELS
from .security import describe
from .security import ranges as code_run_ranges
from .security import table as code_run_table

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

# The page's own script and stylesheet (age before events: the header's height is final before a
# #from=…&to=… link scrolls to the answer): real .js/.css files in templates/page/, one per
# component, inlined in this order into the one self-contained index.html. The script's
# parts share one closure that index.html.j2 opens and closes around them.
PAGE_ASSETS: dict[str, tuple[str, ...]] = {
    "css": ("base", "status", "matrix", "views", "answer"),
    "js": (
        "data",
        "helpers",
        "age",
        "state",
        "filters",
        "grid",
        "matrix",
        "overview",
        "claims",
        "answer",
        "detail",
        "events",
    ),
}


def page_asset(kind: str, templates_dir: Path = TEMPLATES_DIR) -> Markup:
    """The page's ``css`` or ``js`` parts, concatenated (trusted project files, inlined as they are)."""
    folder = templates_dir / "page"
    return Markup("".join((folder / f"{name}.{kind}").read_text(encoding="utf-8") for name in PAGE_ASSETS[kind]))


# MATRIX.md stays compact: this many cells per upgrade.
UPGRADE_CELLS_MD = 10
# index.html: at most this many cells listed per kind of change, and per error group.
CHANGES_LISTED = 200
GROUP_CELLS_LISTED = 12


def trend_points(entries: Sequence[dict[str, Any]], width: int = 300, height: int = 40) -> str:
    """The pass rates as an SVG polyline ``points`` attribute (x grows with the run, y = 100% at the top)."""
    rates = [e["pass_rate"] for e in entries if e.get("pass_rate") is not None]
    if not rates:
        return ""
    step = width / max(len(rates) - 1, 1)
    return " ".join(f"{i * step:.1f},{(1 - r) * height:.1f}" for i, r in enumerate(rates))


def script_json(data: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` only occur inside JSON strings, where ``\\u003c`` etc.
    mean the same, so ``</script>`` or ``<!--`` in an error message cannot end
    the block.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


# Markdown: characters that would start formatting, a link, HTML or a table cell.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def md_text(value: object) -> str:
    """Plain text for Markdown prose and table cells: one line, specials escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def md_code(value: object, table: bool = False) -> str:
    """An inline code span that survives backticks (and, in a table, pipes) in the text."""
    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    if table:
        # GFM splits table cells on | before it parses code spans.
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def md_fenced(value: object, info: str = "text") -> str:
    """A fenced code block that survives backtick runs in the text."""
    text = str(value).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def measured_note(run: dict[str, Any]) -> str:
    """When a run took cells from the results cache: which runs measured them (plain text, one sentence).

    A warm re-run re-derives reports in seconds; its own wall time says nothing of what measuring took.
    """
    measured = [m for m in run.get("measured") or [] if m["started"] != run["started"]]
    if not measured:
        return ""
    own = next((m["cells"] for m in run.get("measured") or [] if m["started"] == run["started"]), 0)
    parts = [
        f"the run of {m['started']}"
        + (
            f" ({duration(m['wall_s'])}, {m['cells']} cells)"
            if m.get("wall_s") is not None
            else f" (interrupted; {m['cells']} cells)"
        )
        for m in measured
    ]
    return (
        f"Cells measured by {', '.join(parts)}; this run measured {own} and took the rest from the results cache, "
        "with the locks that produced them."
    )


def coverage_line(coverage: dict[str, Any] | None) -> str:
    """ "Newest releases measured: TF 2.21.0 (released …), … Not yet measured: …" (results.json ``coverage``)."""
    if not coverage or not coverage.get("packages"):
        return ""

    def name(package: str) -> str:
        return PACKAGE_LABELS.get(package, package)

    def when(entry: dict[str, Any]) -> str:
        return f" (released {entry['released'][:10]})" if entry.get("released") else ""

    text = (
        "Newest releases measured: "
        + ", ".join(f"{name(p['package'])} {p['measured']}{when(p)}" for p in coverage["packages"])
        + "."
    )
    newer = [f"{name(p['package'])} {n['version']}{when(n)}" for p in coverage["packages"] for n in p["newer"]]
    if newer:
        return text + " Not yet measured: " + ", ".join(newer) + "."
    if coverage.get("error"):
        return text + f" Newer releases unknown: the index was not asked ({coverage['error']})."
    return text + f" No newer release on the index as of {str(coverage.get('asked'))[:10]}."


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith((".html", ".html.j2", ".svg.j2"))


def environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    """The Jinja2 environment: autoescape for HTML templates only, undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=_autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        md=md_text, code=md_code, fenced=md_fenced, duration=duration, script_json=script_json, percent=percent
    )
    env.globals.update(
        STATUS_LABELS=STATUS_LABELS,
        STATUS_MEANINGS=STATUS_MEANINGS,
        WRITTEN_MEANINGS=WRITTEN_MEANINGS,
        NOT_RUN=NOT_RUN,
        VERDICT_LABELS=VERDICT_LABELS,
        KIND_TITLES=KIND_TITLES,
        KINDS=KINDS,
        ANSWERS=ANSWERS,
        FLAVOUR_LABELS=FLAVOUR_LABELS,
        ANSWER_TITLES=ANSWER_TITLES,
        trend_points=trend_points,
        measured_note=measured_note,
        coverage_line=coverage_line,
        page_asset=page_asset,
        describe_code_run=describe,
        code_run_table=code_run_table,
        code_run_ranges=code_run_ranges,
        CHANGES_LISTED=CHANGES_LISTED,
        GROUP_CELLS_LISTED=GROUP_CELLS_LISTED,
        UPGRADE_CELLS_MD=UPGRADE_CELLS_MD,
    )
    return env
