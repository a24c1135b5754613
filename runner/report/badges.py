"""SVG badges for the README: the pass rate and the date of the last run.

Drawn by ``templates/badge.svg.j2`` (autoescaped like the HTML); this module only
picks the texts, a colour and the widths. The colour repeats what the text says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.core.cells import count_statuses

from .history import pass_rate
from .markup import environment

# Approximate advance of an 11 px Verdana character, as shields.io badges assume.
_CHAR_PX = 6.6
_PAD_PX = 10

BADGES = ("pass-rate.svg", "last-run.svg")


def _colour(rate: float | None) -> str:
    if rate is None:
        return "#9f9f9f"
    if rate >= 0.9:
        return "#2f7d32"
    if rate >= 0.6:
        return "#8a6d00"
    return "#b3261e"


def _width(text: str) -> int:
    return int(len(text) * _CHAR_PX + 2 * _PAD_PX)


def badge_texts(results: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """``file name -> (label, value, colour)``.

    The pass rate is over the matrix's cells (saved and loaded in the same env), as on
    the page: the share whose status is ``pass``, i.e. a plain ``load_model`` works and
    computes the same.
    """
    counts = count_statuses(cell["status"] for cell in results["cells"] if cell["save_row"] == cell["load_row"])
    rate = pass_rate(counts)
    value = "no cells" if rate is None else f"{rate:.0%} of {sum(counts.values())} cells"
    return {
        "pass-rate.svg": ("keras-compat pass", value, _colour(rate)),
        "last-run.svg": ("last run", results["run"]["finished"][:10], "#0b5cad"),
    }


def render_badges(results: dict[str, Any]) -> dict[str, str]:
    """``file name -> SVG text``."""
    template = environment().get_template("badge.svg.j2")
    out = {}
    for name, (label, value, colour) in badge_texts(results).items():
        lw, vw = _width(label), _width(value)
        out[name] = template.render(label=label, value=value, colour=colour, lw=lw, vw=vw)
    return out


def write_badges(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write pass-rate.svg and last-run.svg into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, svg in render_badges(results).items():
        path = out_dir / name
        path.write_text(svg, encoding="utf-8")
        paths.append(path)
    return paths
