"""The JSON embedded once in index.html: the page's script builds everything from it."""

from __future__ import annotations

import math
from typing import Any

from runner.core.cells import upgrade_answer
from runner.core.lines import setup_hint
from runner.core.status import OPTION_CALLS
from runner.core.versions import minor, version_key
from runner.core.vocab import (
    ANSWER_TITLES,
    ANSWERS,
    EXPECTED_WRITTEN,
    FLAVOURS,
    KIND_TITLES,
    NOT_RUN,
    ORIGINS,
    OUTCOMES,
    STAGES,
    STATUS_LABELS,
    STATUS_MEANINGS,
    WORKING,
    WRITTEN,
    WRITTEN_MEANINGS,
)
from runner.harness import protocol

from .age import MAX_AGE_DAYS
from .claims import VERDICT_LABELS
from .upgrades import savers_of, shortcuts
from .view import View


def page_data(view: View) -> dict[str, Any]:
    """The JSON embedded once in index.html; the page's script builds everything from it.

    Cells and records are arrays (field names in ``cell_fields`` / ``record_fields``)
    that point into the ``rows``/``scenarios``/``formats``/``errors``/``tracebacks``/
    ``fixes``/``groups`` tables and, for records, into ``record_vocab`` and
    ``tolerances``, so repeated strings are stored once. Cells cover every (save_row,
    load_row) pair in the run, not only the same-env ones the matrix shows first.
    """
    results = view.results
    saved = savers_of(view.cells)
    axis = _axis(view.columns)
    row_ix = {r["id"]: i for i, r in enumerate(view.columns)}
    scenario_ix = {s["id"]: i for i, s in enumerate(results["scenarios"])}
    format_ix = {f: i for i, f in enumerate(results["formats"])}
    group_ix = {g.id: i for i, g in enumerate(view.groups)}

    errors: list[dict[str, str]] = []
    error_ix: dict[tuple[str, str], int] = {}
    tracebacks: list[str] = []
    traceback_ix: dict[str, int] = {}
    fixes: list[str] = []
    fix_ix: dict[str, int] = {}

    def error_ref(error: dict[str, Any] | None) -> int:
        if error is None:
            return -1
        key = (error["type"], error["message"])
        if key not in error_ix:
            error_ix[key] = len(errors)
            errors.append({"type": error["type"], "message": error["message"]})
        return error_ix[key]

    def traceback_ref(error: dict[str, Any] | None) -> int:
        # Only cells carry a traceback: the detail view shows the one the status rests on.
        if error is None or not error["traceback"]:
            return -1
        text = _tail(error["traceback"])
        if text not in traceback_ix:
            traceback_ix[text] = len(tracebacks)
            tracebacks.append(text)
        return traceback_ix[text]

    def fix_ref(fix: str | None) -> int:
        if fix is None:
            return -1
        if fix not in fix_ix:
            fix_ix[fix] = len(fixes)
            fixes.append(fix)
        return fix_ix[fix]

    same_env = {(c.scenario, c.format, c.save_row): c for c in view.cells if c.same_env}
    answer_ix = {a: i for i, a in enumerate(ANSWERS)}
    # A cell's "use": its status and the call it rests on. The answer between two uses is one rule
    # (runner/core/cells.py upgrade_answer): the page reads it from this table, never applies it itself.
    uses: list[tuple[str, str | None]] = []
    use_ix: dict[tuple[str, str | None], int] = {}

    def use_ref(c: Any) -> int:
        if c.status is None:
            return -1
        use = (c.status, c.option)
        if use not in use_ix:
            use_ix[use] = len(uses)
            uses.append(use)
        return use_ix[use]

    cells = []
    for i, c in enumerate(view.cells):
        group = view.group_of.get(i)
        answer = -1
        if not c.same_env and c.status is not None:
            before = same_env.get((c.scenario, c.format, c.save_row))
            answer = answer_ix[
                upgrade_answer(before.status if before else None, c.status, before.option if before else None, c.option)
            ]
        cells.append(
            [
                scenario_ix[c.scenario],
                format_ix[c.format],
                row_ix[c.save_row],
                row_ix[c.load_row],
                c.status,
                c.option,
                c.written,
                error_ref(c.error),
                fix_ref(c.fix),
                group_ix[group.id] if group else -1,
                traceback_ref(c.error),
                answer,
                use_ref(c),
            ]
        )
    # upgrade_answer between every two uses of the same-env cells: what changes for the files a team
    # saves after an upgrade (saved and loaded in A, then saved and loaded in B)
    same_uses = sorted({use_ix[(c.status, c.option)] for c in view.cells if c.same_env and c.status is not None})
    use_answers = {
        f"{a},{b}": answer_ix[upgrade_answer(uses[a][0], uses[b][0], uses[a][1], uses[b][1])]
        for a in same_uses
        for b in same_uses
    }
    cell_ix = {(c.scenario, c.format, c.save_row, c.load_row): c.index for c in view.cells}
    # Records are the bulk of the page: every string in them is an index into a vocabulary.
    option_ix = {o: i for i, o in enumerate(results["options"])}
    outcome_ix = {o: i for i, o in enumerate(OUTCOMES)}
    stage_ix = {s: i for i, s in enumerate(STAGES)}
    written_ix = {w: i for i, w in enumerate(WRITTEN)}
    tolerances: list[list[float]] = []
    tolerance_ix: dict[tuple[float, float], int] = {}
    calls: list[str] = []
    call_ix: dict[str, int] = {}

    def call_ref(code: str | None) -> int:
        if not code:
            return -1
        if code not in call_ix:
            call_ix[code] = len(calls)
            calls.append(code)
        return call_ix[code]

    records = []
    for r in results["records"]:
        tol = (r["tolerance"]["rtol"], r["tolerance"]["atol"])
        if tol not in tolerance_ix:
            tolerance_ix[tol] = len(tolerances)
            tolerances.append(list(tol))
        records.append(
            [
                cell_ix.get((r["scenario"], r["format"], r["save_row"], r["load_row"]), -1),
                option_ix[r["option"]],
                outcome_ix[r["outcome"]],
                stage_ix[r["stage"]],
                written_ix[r["written"]] if r["written"] is not None else -1,
                error_ref(r["error"]),
                _finite(r["max_abs_diff"]),
                tolerance_ix[tol],
                _seconds(r["durations"].get("save_s")),
                _seconds(r["durations"].get("load_s")),
                _seconds(r["durations"].get("call_s")),
                call_ref(r.get("call")),
                ORIGINS.index(r["error"]["origin"]) if r["error"] and r["error"].get("origin") else -1,
            ]
        )
    changes: dict[int, list[str]] = {}
    if view.changes:
        for kind, entries in view.changes.by_kind.items():
            for change in entries:
                if change.cell is not None and change.cell.index is not None:
                    changes[change.cell.index] = [kind, change.old["status"]]
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
        # the upgrade the "Can I upgrade?" panel opens on: the first of the usual ones (runner/report/answers.py)
        "default_upgrade": [view.common[0].save["id"], view.common[0].load["id"]] if view.common else None,
        # the statuses that work (runner/core/cells.py transition: the page's upgrade view applies the same rule)
        "working": sorted(WORKING),
        "scenarios": [{k: s[k] for k in ("id", "title", "source", "claim", "fix")} for s in results["scenarios"]],
        "formats": results["formats"],
        "options": results["options"],
        "errors": errors,
        "tracebacks": tracebacks,
        "fixes": fixes,
        "groups": [
            {"id": g.id, "type": g.type, "message": g.message, "cells": len(g.cells), "same_env": len(g.same_env_cells)}
            for g in view.groups
        ],
        "cell_fields": [
            "scenario",
            "format",
            "save_row",
            "load_row",
            "status",
            "option",
            "written",
            "error",
            "fix",
            "group",
            "traceback",
            "answer",
            "use",
        ],
        "cells": cells,
        # a cross-env cell's answer to "can I upgrade?" (runner/core/cells.py upgrade_answer), by index
        "answers": [{"id": a, "title": ANSWER_TITLES[a]} for a in ANSWERS],
        # what a user adds to load_model for each option (the "change your load call" answer)
        "option_calls": OPTION_CALLS,
        "record_fields": [
            "cell",
            "option",
            "outcome",
            "stage",
            "written",
            "error",
            "max_abs_diff",
            "tolerance",
            "save_s",
            "load_s",
            "call_s",
            "call",
            "origin",
        ],
        # what the record fields' numbers point into
        "record_vocab": {"option": results["options"], "outcome": OUTCOMES, "stage": STAGES, "written": WRITTEN},
        "tolerances": tolerances,
        "records": records,
        # a record's call, as code (runner/harness/protocol.py CALLS with the request's values), and where its
        # error was raised (runner/core/vocab.py ORIGINS)
        "calls": calls,
        "origins": ORIGINS,
        # [status, option] per use; "a,b": the answer (index into answers) from use a to use b
        "uses": [list(u) for u in uses],
        "use_answers": use_answers,
        # cell index -> [kind of change since the previous run (runner/report/diff.py KINDS), the old status]
        "changes": changes,
        "change_titles": KIND_TITLES,
        "has_previous": view.changes is not None,
        # per claim (in the page's order): its measured cells as [cell index, verdict, why]
        "claims": [[[c.index, v, why[:100]] for c, v, why in cv.cells if v != "not_measured"] for cv in view.claims],
        "claim_quotes": [[cv.claim.id, cv.claim.quote] for cv in view.claims],
        # per row (index): [run finished, cells passing, cells] for each run of the history that loaded in it
        "row_history": [
            [
                [e["finished"], counts.get("pass", 0), sum(counts.values())]
                for e in view.history
                if (counts := e.get("per_load_row", {}).get(col["id"]))
            ]
            for col in view.columns
        ],
        "verdicts": {v: {"symbol": sym, "label": label} for v, (sym, label) in VERDICT_LABELS.items()},
        # per row (index): the rows an upgrade from it usually goes to, for the upgrade view's shortcuts
        "shortcuts": shortcuts(view.columns, savers_of(view.cells)),
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


# The page shows a traceback's last lines; results.json keeps what the harness captured.


def _tail(traceback: str) -> str:
    lines = traceback.rstrip("\n").split("\n")
    return "\n".join(lines[-protocol.TRACEBACK_LINES :])


def _seconds(value: float | None) -> float | None:
    """Durations to the millisecond: enough to read, and a third of the page's record bytes."""
    return None if value is None else round(value, 3)


def _finite(value: float | None) -> float | str | None:
    """JSON has no NaN/Infinity (JSON.parse rejects them); a model that outputs NaN is shown as "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
