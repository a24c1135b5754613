"""The JSON embedded once in index.html: the page's script builds everything from it.

One function per component of the page, as templates/page/*.js is split: the cells (page_cells.py),
"Can I upgrade?" (page_answers.py), the records behind the detail dialog (page_records.py), the
changes, claims and history (page_sections.py); page_pack.py packs the cells' and records' columns.
"""

from __future__ import annotations

from typing import Any

from runner.core.lines import setup_hint
from runner.core.versions import minor, version_key
from runner.core.vocab import (
    EXPECTED_WRITTEN,
    FLAVOURS,
    NOT_RUN,
    STATUS_LABELS,
    STATUS_MEANINGS,
    WORKING,
    WRITTEN_MEANINGS,
)

from . import page_answers, page_cells, page_records, page_sections
from .age import MAX_AGE_DAYS
from .page_pack import pack
from .upgrades import savers_of
from .view import View


def page_data(view: View) -> dict[str, Any]:
    """The JSON embedded once in index.html; the page's script builds everything from it.

    Cells cover every (save_row, load_row) pair in the run, not only the same-env ones the matrix
    shows first. They and the records are integer columns (``cell_fields`` / ``record_fields``),
    packed in ``packed`` (runner/report/page_pack.py, which also unpacks them into rows for tests),
    that point into the ``rows``/``scenarios``/``formats``/``errors``/``tracebacks``/``fixes``/
    ``groups``/``uses`` tables and, for records, into ``record_vocab``, ``tolerances``, ``diffs``
    and ``calls``, so repeated strings are stored once.
    """
    errors = page_cells.Errors()
    cells, cell_tables = page_cells.cells(view, errors)
    answers, answer_tables = page_answers.answers(view)
    records, record_tables = page_records.records(view, errors)
    cells.extend(answers)
    return {
        **envelope(view),
        "errors": errors.errors.values,
        "tracebacks": errors.tracebacks.values,
        **cell_tables,
        "cell_fields": list(cells.names),
        **answer_tables,
        "record_fields": list(records.names),
        **record_tables,
        **page_sections.changes(view),
        **page_sections.claims(view),
        **page_sections.history(view),
        "packed": {"cells": pack(cells), "records": pack(records)},
    }


def envelope(view: View) -> dict[str, Any]:
    """The run, the vocabularies and the rows: what every part of the page reads (data.js)."""
    results = view.results
    saved = savers_of(view.cells)
    axis = _axis(view.columns)
    statuses: dict[str, dict[str, str]] = {
        s: {"symbol": sym, "label": label, "meaning": STATUS_MEANINGS[s]} for s, (sym, label) in STATUS_LABELS.items()
    }
    statuses["not_run"] = {"symbol": NOT_RUN[0], "label": NOT_RUN[1], "meaning": "Not part of this run."}
    return {
        "schema_version": results["schema_version"],
        "tool": results["tool"],
        "run": results["run"],
        # the page says its data is stale past this many days (runner/report/age.py: the one limit)
        "max_age_days": MAX_AGE_DAYS,
        "statuses": statuses,
        "written": WRITTEN_MEANINGS,
        "expected_written": EXPECTED_WRITTEN,
        # tf_rank: the row's TF release on one axis; axis_order: its place in the overview (TF, then
        # flavour, Keras, Python): the page compares versions through these, never parses them
        "rows": [
            dict(r, python_minor=minor(r["python"]), saves=r["id"] in saved, setup=setup_hint(r), **axis[r["id"]])
            for r in view.columns
        ],
        # the statuses that work (runner/core/cells.py transition: the page's upgrade view applies the same rule)
        "working": sorted(WORKING),
        "scenarios": [{k: s[k] for k in ("id", "title", "source", "claim", "fix")} for s in results["scenarios"]],
        "formats": results["formats"],
        "options": results["options"],
    }


def _axis(columns: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per row id: ``tf_rank`` (its TF release on one axis) and ``axis_order`` (its place in the overview)."""
    releases = sorted({version_key(c["tf"]) for c in columns})
    order = sorted(
        columns,
        key=lambda c: (
            version_key(c["tf"]),
            FLAVOURS.index(c["flavour"]),
            version_key(c["keras"]),
            version_key(c["python"]),
        ),
    )
    return {c["id"]: {"tf_rank": releases.index(version_key(c["tf"])), "axis_order": order.index(c)} for c in columns}
