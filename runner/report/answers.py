""" "Can I upgrade from A to B?": one answer per pattern and format (runner/core/cells.py upgrade_answer).

The page asks it for any measured pair; MATRIX.md answers it for the upgrades most
teams make: the newest Keras 2 and the newest tf-keras to the newest Keras 3, and
each Keras 3 release to the next.
"""

from __future__ import annotations

from typing import Any

from runner.core.lines import next_release, release_lines
from runner.core.vocab import FLAVOUR_LABELS

from .cellview import CellView
from .upgrades import Upgrade, pair_cells, savers_of


def common_upgrades(
    columns: list[dict[str, Any]], by_key: dict[tuple[str, str, str, str], CellView], results: dict
) -> list[Upgrade]:
    """The newest Keras 2 and tf-keras -> the newest Keras 3, then each Keras 3 release -> the next (if measured)."""
    lines = release_lines(columns, savers_of(by_key.values()))
    keras3 = lines.get("keras3", [])
    pairs: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    if keras3:
        for flavour in ("keras2", "tf_keras", "keras_mb"):  # the first is where the page opens
            if lines.get(flavour):
                label = f"newest {FLAVOUR_LABELS[flavour]} → newest Keras 3"  # type: ignore[index]
                pairs.append((lines[flavour][-1], keras3[-1], label))
        for row in keras3:
            later = next_release(row, keras3)
            if later is not None:
                pairs.append((row, later, "Keras 3 → its next release"))
    out = []
    for save, load, label in pairs:
        cells = pair_cells(save, load, by_key, results)
        if cells:
            out.append(Upgrade(save=save, load=load, kind=label, cells=cells))
    return out
