"""The report's view model: columns, matrix rows, error groups, counts and sections, from one results.json.

The HTML page embeds the whole data set once, as compact JSON, and builds the
matrix client-side (``page.py``); MATRIX.md is rendered from this view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from runner.core.signature import error_signature
from runner.core.versions import minor as short_version
from runner.core.versions import version_key
from runner.core.vocab import FLAVOURS, STATUS_LABELS, STATUS_MEANINGS, STATUSES

from .answers import common_upgrades
from .cellview import CellView, ErrorGroup, MatrixRow
from .claims import Claim, evaluate, load_claims
from .containers import TwinPair, container_twins
from .history import pass_rate
from .ranges import ScenarioRanges, version_ranges
from .sections import Changes, ClaimView, changes_since, history_entries
from .security import CodeRun, code_runs
from .upgrades import Upgrade, savers_of, upgrades

# MATRIX.md stays compact: this many error groups.
TOP_GROUPS_MD = 15


def _sorted_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns grouped by flavour (runner/core/vocab.py order), then by TF, Keras, Python version."""
    return sorted(
        rows,
        key=lambda r: (
            FLAVOURS.index(r["flavour"]),
            version_key(r["tf"]),
            version_key(r["keras"]),
            version_key(r["python"]),
        ),
    )


def _group_error(cell: dict[str, Any], rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The error a noted cell is grouped under: its own, or one stated for it."""
    if cell.get("error"):
        return dict(cell["error"])
    status = cell["status"]
    if status == "env_error":
        broken = next((rows[r] for r in (cell["save_row"], cell["load_row"]) if rows[r]["error"]), None)
        message = broken["error"] if broken else STATUS_MEANINGS["env_error"]
        return {"type": "EnvError", "message": message, "traceback": None}
    if status == "wrong_output":
        return {
            "type": "(no exception)",
            "message": "The loaded model's outputs differ from the saved model's beyond the tolerance.",
            "traceback": None,
        }
    return {"type": "(no exception)", "message": STATUS_MEANINGS[status], "traceback": None}  # type: ignore[index]


@dataclass(frozen=True, kw_only=True)
class View:
    """Everything the templates need, derived from one results.json."""

    results: dict[str, Any]
    columns: list[dict[str, Any]]
    flavour_spans: list[tuple[str, int]]
    matrix: list[MatrixRow]
    cells: list[CellView]
    groups: list[ErrorGroup]
    group_of: dict[int, ErrorGroup]  # cell index -> its group (noted cells only)
    counts: list[tuple[str, str, str, int]]  # (status, symbol, label, n) over the main matrix
    total: int  # cells in the main matrix (save_row == load_row)
    cross_env: int  # cells with save_row != load_row, not in the main matrix
    ranges: list[ScenarioRanges]
    upgrades: list[Upgrade]
    twins: list[TwinPair]  # container rows beside their uv twins (runner/report/containers.py)
    common: list[Upgrade]  # "can I upgrade?" for the usual upgrades (runner/report/answers.py)
    claims: list[ClaimView]
    changes: Changes | None  # None without a previous run
    history: list[dict[str, Any]]
    by_key: dict[tuple[str, str, str, str], CellView]
    code_runs: list[CodeRun]  # the canary's markers per env and format (runner/report/security.py)

    @property
    def pass_rate(self) -> float | None:
        """Share of the matrix's cells (same env, as ``counts``) that pass with a plain load_model."""
        return pass_rate({s: n for s, _, _, n in self.counts})

    @property
    def savers(self) -> list[dict[str, Any]]:
        """The columns that saved something (load-only rows, e.g. Keras 3 on JAX, did not)."""
        saved = savers_of(self.cells)
        return [c for c in self.columns if c["id"] in saved]

    @property
    def tf_versions(self) -> list[str]:
        return sorted({c["tf"] for c in self.columns}, key=version_key)

    @property
    def keras_versions(self) -> list[str]:
        return sorted({c["keras"] for c in self.columns}, key=version_key)

    @property
    def python_versions(self) -> list[str]:
        return sorted({short_version(c["python"]) for c in self.columns}, key=version_key)

    @property
    def top_groups(self) -> list[ErrorGroup]:
        return [g for g in self.groups if g.same_env_cells][:TOP_GROUPS_MD]


def build_view(
    results: dict[str, Any],
    *,
    previous: dict[str, Any] | None = None,
    history: Sequence[dict[str, Any]] = (),
    claims: Sequence[Claim] | None = None,
) -> View:
    """Derive the report's view model from validated results (and the previous run, the history, the claims)."""
    rows = {r["id"]: r for r in results["rows"]}
    columns = _sorted_rows(results["rows"])

    cells: list[CellView] = []
    by_key: dict[tuple[str, str, str, str], CellView] = {}
    group_of: dict[int, ErrorGroup] = {}
    groups: dict[tuple[str, str], ErrorGroup] = {}

    call_of = {
        (r["scenario"], r["format"], r["save_row"], r["load_row"], r["option"]): r["call"]
        for r in results["records"]
        if r.get("call")
    }

    def add(raw: dict[str, Any], *, synthetic: bool = False) -> None:
        view = CellView(
            index=len(cells),
            scenario=raw["scenario"],
            format=raw["format"],
            save_row=raw["save_row"],
            load_row=raw["load_row"],
            status=raw["status"],
            option=raw["option"],
            written=raw["written"],
            error=raw["error"],
            fix=raw["fix"],
            synthetic=synthetic,
            call=call_of.get((raw["scenario"], raw["format"], raw["save_row"], raw["load_row"], raw["option"])),
        )
        cells.append(view)
        by_key[(view.scenario, view.format, view.save_row, view.load_row)] = view
        if view.noted:
            error = _group_error(raw, rows)
            sig = error_signature(error["type"], error["message"])
            group = groups.setdefault(
                sig,
                ErrorGroup(signature=sig, type=error["type"], message=error["message"], traceback=error["traceback"]),
            )
            group.cells.append(view)
            group_of[len(cells) - 1] = group

    for raw in results["cells"]:
        add(raw)
    # An env_error row may come without cells: its column still says why it is empty.
    for row in columns:
        if row["status"] != "env_error":
            continue
        for scenario in results["scenarios"]:
            for fmt in results["formats"]:
                if (scenario["id"], fmt, row["id"], row["id"]) not in by_key:
                    add(
                        {
                            "scenario": scenario["id"],
                            "format": fmt,
                            "save_row": row["id"],
                            "load_row": row["id"],
                            "status": "env_error",
                            "option": "default",
                            "written": None,
                            "error": None,
                            "fix": None,
                        },
                        synthetic=True,
                    )

    ordered = sorted(groups.values(), key=lambda g: (-len(g.same_env_cells), -len(g.cells)))
    for number, group in enumerate(ordered, start=1):
        group.id = f"E{number}"

    matrix = []
    for scenario in results["scenarios"]:
        for fmt in results["formats"]:
            row_cells = []
            for col in columns:
                found = by_key.get((scenario["id"], fmt, col["id"], col["id"]))
                row_cells.append(
                    found
                    or CellView(
                        index=None,
                        scenario=scenario["id"],
                        format=fmt,
                        save_row=col["id"],
                        load_row=col["id"],
                        status=None,
                        option=None,
                        written=None,
                        error=None,
                        fix=None,
                    )
                )
            matrix.append(MatrixRow(scenario=scenario, format=fmt, cells=row_cells))

    main_cells = [c for c in cells if c.same_env]
    counts: list[tuple[str, str, str, int]] = [
        (status, *STATUS_LABELS[status], sum(1 for c in main_cells if c.status == status)) for status in STATUSES
    ]
    ranges = [
        ScenarioRanges(
            scenario=row.scenario,
            format=row.format,
            lines=version_ranges(
                (col, c.status if c.status not in (None, "env_error") else None)
                for col, c in zip(columns, row.cells, strict=True)
            ),
        )
        for row in matrix
    ]
    order = [c["id"] for c in columns]
    claim_views = []
    for result in evaluate(load_claims() if claims is None else claims, results, row_order=order):
        verdict_cells = sorted(
            (
                (by_key[(v.scenario, v.format, v.row, v.row)], v.verdict, v.why)
                for v in result.cells
                if (v.scenario, v.format, v.row, v.row) in by_key
            ),
            key=lambda t: t[1] == "not_measured",
        )
        claim_views.append(
            ClaimView(
                result=result,
                lines=version_ranges((rows[r], v if v != "not_measured" else None) for r, v in result.rows.items()),
                cells=verdict_cells,
            )
        )
    return View(
        results=results,
        columns=columns,
        flavour_spans=_spans(c["flavour"] for c in columns),
        matrix=matrix,
        cells=cells,
        groups=ordered,
        group_of=group_of,
        counts=counts,
        total=len(main_cells),
        cross_env=len(cells) - len(main_cells),
        ranges=ranges,
        upgrades=upgrades(columns, by_key, results),
        common=common_upgrades(columns, by_key, results),
        twins=container_twins(results),
        claims=claim_views,
        changes=changes_since(previous, results, by_key),
        history=history_entries(history, results),
        by_key=by_key,
        code_runs=code_runs(results, columns),
    )


def _spans(values: Iterable[str]) -> list[tuple[str, int]]:
    """Consecutive runs: ``a a b`` -> ``[(a, 2), (b, 1)]``."""
    spans: list[tuple[str, int]] = []
    for value in values:
        if spans and spans[-1][0] == value:
            spans[-1] = (value, spans[-1][1] + 1)
        else:
            spans.append((value, 1))
    return spans
