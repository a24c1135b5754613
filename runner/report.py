"""Render ``MATRIX.md`` and ``index.html`` from a ``results.json``.

The reports are a pure function of the results (docs/results-format.md): this
module validates them, builds a small view model (columns, matrix rows, error
groups, counts) and hands it to the Jinja2 templates in ``templates/``. No HTML
or Markdown is built here; escaping is the templates' job (autoescape for HTML,
the ``md``/``code`` filters for Markdown).

The HTML page embeds the whole data set once, as compact JSON, and builds the
matrix client-side, so it stays one self-contained file that is fast with tens
of thousands of records; see :func:`page_data` for its shape.

Besides the matrix, the view carries what the page and MATRIX.md derive from the
run: version ranges of equal status per scenario × format (MDN compat-data style),
upgrade summaries between consecutive releases, the articles' claims checked
against the cells (runner/claims.py), the changes since the previous run
(runner/diff.py, from ``previous-results.json`` beside the reports) and the trend
(runner/history.py, from ``history.jsonl``). :func:`render` also writes the badges.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from runner.badges import write_badges
from runner.claims import VERDICT_LABELS, Claim, ClaimResult, evaluate, load_claims
from runner.diff import KIND_TITLES, KINDS, WORKING, ChangeKind, diff_results
from runner.errors import ResultsError
from runner.history import HISTORY_NAME, load_history, pass_rate, summarize
from runner.harness import protocol
from runner.model import FLAVOURS, OUTCOMES, STAGES, STATUS_LABELS, STATUSES, WRITTEN, Format, Status, Written
from runner.results_schema import validate

log = logging.getLogger("keras_compat")

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

# (output file, template); render() writes them in this order.
OUTPUTS: tuple[tuple[str, str], ...] = (("MATRIX.md", "matrix.md.j2"), ("index.html", "index.html.j2"))

# One sentence per status for the legend; the symbol and label come from runner/model.py.
STATUS_MEANINGS: dict[Status, str] = {
    "pass": "Loads with the default call and computes the same outputs.",
    "pass_unsafe": "Loads only with safe_mode=False (arbitrary code execution: only for files you trust).",
    "pass_custom_objects": "Loads only when the custom classes/functions are passed as custom_objects.",
    "wrong_output": "Loads and runs, but the outputs differ from the saved model's: a silent wrong answer.",
    "call_error": "Loads, but calling the loaded model raises.",
    "load_error": "The load call raises, whatever load option is tried.",
    "save_error": "The save call raises: there is no artifact to load.",
    "build_error": "The scenario's model could not be built or trained in this environment.",
    "unsupported": "This environment does not support the format (e.g. SavedModel via load_model in Keras 3).",
    "crash": "The process died (segfault, abort, out of memory) without a Python exception.",
    "timeout": "The step did not finish within the time limit.",
    "env_error": "The environment could not be built (resolver or interpreter failure).",
}

WRITTEN_MEANINGS: dict[Written, str] = {
    "hdf5": "an HDF5 file",
    "zip": "a Keras v3 .keras zip archive",
    "savedmodel_dir": "a TensorFlow SavedModel directory",
    "directory": "a directory that is not a SavedModel",
    "file": "a single file",
    "nothing": "nothing (the save never happened or failed)",
}

# What a user expects a format to write; a cell that wrote something else says so
# (model.save("m.keras") writes a SavedModel directory in TF <= 2.11, for example).
EXPECTED_WRITTEN: dict[Format, Written] = {"h5": "hdf5", "keras": "zip", "savedmodel": "savedmodel_dir"}

# A cell with no result (not selected in this run).
NOT_RUN = ("◌", "not run")

# Beside the reports: the results of the run before (copied there before a run
# overwrites results.json) and the history of runs; both optional.
PREVIOUS_NAME = "previous-results.json"

# MATRIX.md stays compact: this many error groups, and this many cells per upgrade.
TOP_GROUPS_MD = 15
UPGRADE_CELLS_MD = 10
# index.html: at most this many cells listed per kind of change, runs in the trend.
CHANGES_LISTED = 200
HISTORY_SHOWN = 60
GROUP_CELLS_LISTED = 12

# Cells that need no note: everything else is listed under its error signature.
_QUIET: frozenset[str] = frozenset({"pass"})

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
_MISMATCH_SIZE = re.compile(r"(max \|loaded - original\| = )[-+0-9.einfa]+")
_COUNTER = re.compile(r"(?<=_)\d+\b")  # lambda_3, dense_12: Keras's per-session layer counters


def error_signature(error_type: str, message: str) -> tuple[str, str]:
    """The key failures are grouped by: exception type + normalised message.

    Normalising drops what differs between otherwise identical failures: memory
    addresses, Keras's auto-numbered layer names, whitespace, and the size of a
    wrong answer (``max |loaded - original| = 0.17``): a wrong output is the same
    failure whatever the difference (the number stays in the record).
    """
    text = _ADDRESS.sub("0x…", message)
    if error_type == "OutputMismatch":
        text = _MISMATCH_SIZE.sub(r"\1<diff>", text)
    text = _COUNTER.sub("N", text)
    return error_type, " ".join(text.split())


def version_key(version: str) -> tuple[int, ...]:
    """``"2.16.1"`` -> ``(2, 16, 1)``; trailing non-numeric parts (rc1) are ignored."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("rc")[0])[:4])


@dataclass(frozen=True, kw_only=True)
class CellView:
    """One (scenario, format, save_row, load_row) as the reports show it."""

    index: int | None  # position in page_data()["cells"]; None when not run
    scenario: str
    format: str
    save_row: str
    load_row: str
    status: str | None  # None when not run
    option: str | None
    written: str | None
    error: dict[str, Any] | None  # as in results.json
    fix: str | None
    synthetic: bool = False  # made up for an env_error row that has no cells in results.json

    @property
    def symbol(self) -> str:
        return STATUS_LABELS[self.status][0] if self.status else NOT_RUN[0]  # type: ignore[index]

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status][1] if self.status else NOT_RUN[1]  # type: ignore[index]

    @property
    def same_env(self) -> bool:
        return self.save_row == self.load_row

    @property
    def unexpected_written(self) -> bool:
        """The save wrote something other than what its format suggests (and not nothing)."""
        expected = EXPECTED_WRITTEN.get(self.format)  # type: ignore[call-overload]
        return bool(expected and self.written not in (expected, "nothing", None))

    @property
    def noted(self) -> bool:
        return self.status is not None and self.status not in _QUIET


@dataclass(kw_only=True)
class ErrorGroup:
    """Noted cells sharing an error signature, numbered E1, E2, ... by frequency."""

    signature: tuple[str, str]
    type: str
    message: str
    traceback: str | None
    cells: list[CellView] = field(default_factory=list)
    id: str = ""

    @property
    def same_env_cells(self) -> list[CellView]:
        return [c for c in self.cells if c.same_env]

    @property
    def anchor(self) -> str:
        return self.id.lower()

    @property
    def fixes(self) -> list[str]:
        """The distinct fixes of the group's same-env cells, in first-seen order."""
        return list(dict.fromkeys(c.fix for c in self.same_env_cells if c.fix))


@dataclass(frozen=True, kw_only=True)
class MatrixRow:
    scenario: dict[str, Any]
    format: str
    cells: list[CellView]  # one per column, in column order


def _sorted_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns grouped by flavour (runner/model.py order), then by TF, Keras, Python version."""
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


# ---- Version ranges ("first broken / first fixed") --------------------------------


def short_version(version: str) -> str:
    """``"2.16.1"`` -> ``"2.16"``: ranges speak in minor releases."""
    return ".".join(str(p) for p in version_key(version)[:2]) or version


def version_axis(row: dict[str, Any]) -> tuple[str, str]:
    """What a row's version means on its line: the Keras version for Keras 3, the TF version otherwise."""
    return ("Keras", row["keras"]) if row["flavour"] == "keras3" else ("TF", row["tf"])


def _line_key(row: dict[str, Any]) -> tuple[tuple[int, ...], ...]:
    if row["flavour"] == "keras3":
        return (version_key(row["keras"]), version_key(row["tf"]), version_key(row["python"]))
    return (version_key(row["tf"]), version_key(row["keras"]), version_key(row["python"]))


def _main_line(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A flavour's rows along its version line; the Python axis repeats versions, so it is left out if it can be."""
    main = [r for r in rows if "python-axis" not in r["tags"]] or list(rows)
    return sorted(main, key=_line_key)


@dataclass(frozen=True, kw_only=True)
class Range:
    """Consecutive releases of one line with the same value (a status or a claim verdict)."""

    value: str
    axis: str  # "TF" or "Keras"
    lo: str
    hi: str
    last: bool  # reaches the newest release measured
    only: bool  # the only range of its line
    rows: tuple[str, ...]

    @property
    def versions(self) -> str:
        """``TF 2.0–2.11``, ``TF 2.5``, or ``TF ≥ 2.16`` for the newest range of a line that changed."""
        if self.last and not self.only:
            return f"{self.axis} ≥ {self.lo}"
        return f"{self.axis} {self.lo}" if self.lo == self.hi else f"{self.axis} {self.lo}–{self.hi}"


@dataclass(frozen=True, kw_only=True)
class LineRanges:
    flavour: str
    ranges: list[Range]


def version_ranges(values: Iterable[tuple[dict[str, Any], str | None]]) -> list[LineRanges]:
    """Ranges of equal value along each flavour's versions; ``None`` values (not measured) are skipped.

    ``[(row, "pass"), ...]`` -> ``[LineRanges("keras2", [Range(pass, TF 2.0–2.11), Range(load_error, TF ≥ 2.12)])]``.
    """
    by_flavour: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for row, value in values:
        if value is not None:
            by_flavour.setdefault(row["flavour"], []).append((row, value))
    out = []
    for flavour in sorted(by_flavour, key=lambda f: FLAVOURS.index(f) if f in FLAVOURS else len(FLAVOURS)):
        value_of = {id(r): v for r, v in by_flavour[flavour]}
        line = _main_line([r for r, _ in by_flavour[flavour]])
        spans: list[list[Any]] = []  # [value, axis, lo, hi, rows]
        for row in line:
            axis, version = version_axis(row)
            value = value_of[id(row)]
            if spans and spans[-1][0] == value:
                spans[-1][3] = short_version(version)
                spans[-1][4].append(row["id"])
            else:
                spans.append([value, axis, short_version(version), short_version(version), [row["id"]]])
        ranges = [
            Range(value=v, axis=a, lo=lo, hi=hi, last=i == len(spans) - 1, only=len(spans) == 1, rows=tuple(ids))
            for i, (v, a, lo, hi, ids) in enumerate(spans)
        ]
        out.append(LineRanges(flavour=flavour, ranges=ranges))
    return out


@dataclass(frozen=True, kw_only=True)
class ScenarioRanges:
    """One scenario × format's same-env statuses as version ranges, and where it broke or got fixed."""

    scenario: dict[str, Any]
    format: str
    lines: list[LineRanges]

    @property
    def transitions(self) -> list[tuple[str, str, Range, Range]]:
        """``(kind, flavour, before, after)``: kind is ``broken`` or ``fixed`` (works -> fails, fails -> works)."""
        out = []
        for line in self.lines:
            for before, after in zip(line.ranges, line.ranges[1:], strict=False):
                was, now = before.value in WORKING, after.value in WORKING
                if was != now:
                    out.append(("broken" if was else "fixed", line.flavour, before, after))
        return out

    @property
    def uniform(self) -> bool:
        """The same status in every release measured, across flavours."""
        return len({r.value for line in self.lines for r in line.ranges}) <= 1


# ---- Upgrades: saved in one env, loaded in the next -------------------------------


@dataclass(frozen=True, kw_only=True)
class UpgradeCell:
    """One scenario × format of an upgrade: its status where it was saved, and once loaded in the new env."""

    before: CellView | None  # same-env cell of the save row
    after: CellView  # saved in the save row, loaded in the load row

    @property
    def change(self) -> str:
        """breaks / fixed / changed / same (relative to loading where it was saved)."""
        if self.before is None or self.before.status is None:
            return "new"
        was, now = self.before.status in WORKING, self.after.status in WORKING
        if was and not now:
            return "breaks"
        if now and not was:
            return "fixed"
        return "same" if self.before.status == self.after.status else "changed"


@dataclass(frozen=True, kw_only=True)
class Upgrade:
    """Every cell saved in ``save`` and loaded in ``load``; ``kind`` says why this pair is summarised."""

    save: dict[str, Any]
    load: dict[str, Any]
    # "next release" (same line), "same TF, other Python", "other backend", "line switch" (to a later line)
    kind: str
    cells: list[UpgradeCell]

    def counts(self) -> list[tuple[str, str, str, int]]:
        return [
            (s, *STATUS_LABELS[s], n)
            for s in STATUSES
            if (n := sum(1 for c in self.cells if c.after.status == s))
        ]

    def changed(self, change: str) -> list[UpgradeCell]:
        return [c for c in self.cells if c.change == change]

    @property
    def working(self) -> int:
        return sum(1 for c in self.cells if c.after.status in WORKING)


def _savers(cells: Iterable[CellView]) -> set[str]:
    """Rows that saved something: the ones with same-env cells (load-only rows, e.g. Keras 3 on JAX, have none)."""
    return {c.save_row for c in cells if c.same_env and not c.synthetic}


def _lines(columns: list[dict[str, Any]], savers: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Each flavour's release line: its saving rows by version, the Python axis left out."""
    by_flavour: dict[str, list[dict[str, Any]]] = {}
    for row in columns:
        if row["id"] in savers:
            by_flavour.setdefault(row["flavour"], []).append(row)
    return {f: _main_line(rows) for f, rows in by_flavour.items()}


def _upgrades(
    columns: list[dict[str, Any]], by_key: dict[tuple[str, str, str, str], CellView], results: dict[str, Any]
) -> list[Upgrade]:
    """The upgrades a team makes, where the run measured them: each line's next release, the same TF on
    another Python, another Keras 3 backend, and line switches (newest of a line to the newest of a later one)."""
    savers = _savers(by_key.values())
    lines = _lines(columns, savers)
    pairs: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    for line in lines.values():
        pairs += [(a, b, "next release") for a, b in zip(line, line[1:], strict=False)]
    # the Python axis: the same TF and Keras on another Python, both ways
    for save in columns:
        for load in columns:
            if (
                save is not load
                and "python-axis" in save["tags"] + load["tags"]
                and (save["flavour"], save["tf"], save["keras"]) == (load["flavour"], load["tf"], load["keras"])
            ):
                pairs.append((save, load, "same TF, other Python"))
    # load-only rows: the same Keras 3 on another backend (KERAS_BACKEND=jax, torch)
    for load in columns:
        if load["id"] not in savers:
            pairs += [(save, load, "other backend") for save in columns if save["id"] in savers]
    newest = {f: line[-1] for f, line in lines.items()}
    for f, save in newest.items():
        for g, load in newest.items():
            if FLAVOURS.index(g) > FLAVOURS.index(f) and version_key(load["tf"]) >= version_key(save["tf"]):  # type: ignore[arg-type]
                pairs.append((save, load, "line switch"))
    out = []
    for save, load, kind in pairs:
        cells = []
        for scenario in results["scenarios"]:
            for fmt in results["formats"]:
                after = by_key.get((scenario["id"], fmt, save["id"], load["id"]))
                if after is not None:
                    before = by_key.get((scenario["id"], fmt, save["id"], save["id"]))
                    cells.append(UpgradeCell(before=before, after=after))
        if cells:
            out.append(Upgrade(save=save, load=load, kind=kind, cells=cells))
    return out


# ---- Claims, changes, history ----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ClaimView:
    result: ClaimResult
    lines: list[LineRanges]  # verdict ranges along the versions
    cells: Sequence[tuple[CellView, str, str]]  # (cell, verdict, why), measured cells first

    @property
    def claim(self) -> Claim:
        return self.result.claim


@dataclass(frozen=True, kw_only=True)
class Change:
    kind: str
    key: dict[str, str]
    old: dict[str, Any]
    new: dict[str, Any]
    cell: CellView | None  # in this run


@dataclass(frozen=True, kw_only=True)
class Changes:
    """The diff against the previous run, for the page and MATRIX.md."""

    diff: dict[str, Any]
    by_kind: dict[ChangeKind, list[Change]]

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.by_kind.values())


def _changes(previous: dict[str, Any] | None, results: dict[str, Any], by_key: dict[Any, CellView]) -> Changes | None:
    if previous is None:
        return None
    d = diff_results(previous, results)
    by_kind = {
        kind: [
            Change(
                kind=kind,
                key=e["key"],
                old=e["old"],
                new=e["new"],
                cell=by_key.get((e["key"]["scenario"], e["key"]["format"], e["key"]["save_row"], e["key"]["load_row"])),
            )
            for e in d[kind]
        ]
        for kind in KINDS
    }
    return Changes(diff=d, by_kind=by_kind)


def _history(history: Sequence[dict[str, Any]], results: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of the history file, with this run added if the file does not have it yet; each with its pass rate."""
    entries = [dict(e) for e in history]
    if not any(e.get("finished") == results["run"]["finished"] for e in entries):
        entries.append(summarize(results))
    entries = entries[-HISTORY_SHOWN:]
    for e in entries:
        e["pass_rate"] = pass_rate(e["counts"])
        e["current"] = e.get("finished") == results["run"]["finished"]
    return entries


def trend_points(entries: Sequence[dict[str, Any]], width: int = 300, height: int = 40) -> str:
    """The pass rates as an SVG polyline ``points`` attribute (x grows with the run, y = 100% at the top)."""
    rates = [e["pass_rate"] for e in entries if e.get("pass_rate") is not None]
    if not rates:
        return ""
    step = width / max(len(rates) - 1, 1)
    return " ".join(f"{i * step:.1f},{(1 - r) * height:.1f}" for i, r in enumerate(rates))


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
    claims: list[ClaimView]
    changes: Changes | None  # None without a previous run
    history: list[dict[str, Any]]
    by_key: dict[tuple[str, str, str, str], CellView]

    @property
    def pass_rate(self) -> float | None:
        """Share of the run's cells (all pairs) that pass with a plain load_model."""
        counts: dict[str, int] = {}
        for c in self.cells:
            if c.status and not c.synthetic:
                counts[c.status] = counts.get(c.status, 0) + 1
        return pass_rate(counts)

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
                lines=version_ranges(
                    (rows[r], v if v != "not_measured" else None) for r, v in result.rows.items()
                ),
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
        upgrades=_upgrades(columns, by_key, results),
        claims=claim_views,
        changes=_changes(previous, results, by_key),
        history=_history(history, results),
        by_key=by_key,
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


def page_data(view: View) -> dict[str, Any]:
    """The JSON embedded once in index.html; the page's script builds everything from it.

    Cells and records are arrays (field names in ``cell_fields`` / ``record_fields``)
    that point into the ``rows``/``scenarios``/``formats``/``errors``/``tracebacks``/
    ``fixes``/``groups`` tables and, for records, into ``record_vocab`` and
    ``tolerances``, so repeated strings are stored once. Cells cover every (save_row,
    load_row) pair in the run, not only the same-env ones the matrix shows first.
    """
    results = view.results
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

    cells = []
    for i, c in enumerate(view.cells):
        group = view.group_of.get(i)
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
            ]
        )
    cell_ix = {(c.scenario, c.format, c.save_row, c.load_row): c.index for c in view.cells}
    # Records are the bulk of the page: every string in them is an index into a vocabulary.
    option_ix = {o: i for i, o in enumerate(results["options"])}
    outcome_ix = {o: i for i, o in enumerate(OUTCOMES)}
    stage_ix = {s: i for i, s in enumerate(STAGES)}
    written_ix = {w: i for i, w in enumerate(WRITTEN)}
    tolerances: list[list[float]] = []
    tolerance_ix: dict[tuple[float, float], int] = {}
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
        "statuses": statuses,
        "written": WRITTEN_MEANINGS,
        "expected_written": EXPECTED_WRITTEN,
        "rows": view.columns,
        "scenarios": [{k: s[k] for k in ("id", "title", "source", "claim", "fix")} for s in results["scenarios"]],
        "formats": results["formats"],
        "options": results["options"],
        "errors": errors,
        "tracebacks": tracebacks,
        "fixes": fixes,
        "groups": [
            {"id": g.id, "type": g.type, "message": g.message, "cells": len(g.same_env_cells)} for g in view.groups
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
        ],
        "cells": cells,
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
        ],
        # what the record fields' numbers point into
        "record_vocab": {"option": results["options"], "outcome": OUTCOMES, "stage": STAGES, "written": WRITTEN},
        "tolerances": tolerances,
        "records": records,
        # cell index -> [kind of change since the previous run (runner/diff.py KINDS), the old status]
        "changes": changes,
        "change_titles": KIND_TITLES,
        "has_previous": view.changes is not None,
        # per claim (in the page's order): its measured cells as [cell index, verdict, why]
        "claims": [
            [[c.index, v, why[:100]] for c, v, why in cv.cells if v != "not_measured"] for cv in view.claims
        ],
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
        "shortcuts": _shortcuts(view.columns, _savers(view.cells)),
    }


def _shortcuts(columns: list[dict[str, Any]], savers: set[str]) -> list[dict[str, Any]]:
    """For each column: the next release of its line, its Python-axis twins, the load-only rows of its
    Keras (other backends) and the newest row of each line."""
    ix = {r["id"]: i for i, r in enumerate(columns)}
    lines = _lines(columns, savers)
    out = []
    for row in columns:
        later = [
            r
            for r in lines.get(row["flavour"], [])
            if _line_key(r) > _line_key(row) and version_axis(r) != version_axis(row)
        ]
        backends = [
            ix[r["id"]]
            for r in columns
            if r["id"] not in savers and r is not row and r["status"] == "ok" and r["keras"] == row["keras"]
        ]
        twins = [
            ix[r["id"]]
            for r in columns
            if r is not row
            and r["flavour"] == row["flavour"]
            and r["tf"] == row["tf"]
            and r["keras"] == row["keras"]
            and r["python"] != row["python"]
        ]
        out.append(
            {
                "next": ix[later[0]["id"]] if later else -1,
                "twins": twins,
                "backends": backends,
                "newest": [ix[line[-1]["id"]] for line in lines.values() if line[-1] is not row],
            }
        )
    return out


# The page shows a traceback's last lines; results.json keeps what the harness captured.


def _tail(traceback: str) -> str:
    lines = traceback.rstrip("\n").split("\n")
    return "\n".join(lines[-protocol.TRACEBACK_LINES:])


def _seconds(value: float | None) -> float | None:
    """Durations to the millisecond: enough to read, and a third of the page's record bytes."""
    return None if value is None else round(value, 3)


def _finite(value: float | None) -> float | str | None:
    """JSON has no NaN/Infinity (JSON.parse rejects them); a model that outputs NaN is shown as "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


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
        trend_points=trend_points,
        CHANGES_LISTED=CHANGES_LISTED,
        GROUP_CELLS_LISTED=GROUP_CELLS_LISTED,
        UPGRADE_CELLS_MD=UPGRADE_CELLS_MD,
    )
    return env


def _read_previous(path: Path) -> dict[str, Any] | None:
    """The previous run's results, if there is a usable one at ``path`` (a broken one is skipped, with a warning).

    Only what the diff reads is checked: a full schema validation of a run with tens
    of thousands of records takes longer than the whole report.
    """
    if not path.exists():
        return None
    try:
        previous = load_results(path)
        cells = previous["cells"]
        if not isinstance(cells, list):
            raise ResultsError(f"{path}: $.cells is not a list")
        for cell in cells:
            for key in ("scenario", "format", "save_row", "load_row", "status", "option"):
                if not isinstance(cell[key], str):
                    raise ResultsError(f"{path}: a cell's {key} is not a string")
            if cell["error"] is not None and not isinstance(cell["error"].get("message"), str):
                raise ResultsError(f"{path}: a cell's error has no message")
        if not isinstance(previous["run"]["finished"], str):
            raise ResultsError(f"{path}: run.finished is not a timestamp")
    except ResultsError as exc:
        log.warning("not comparing with the previous run: %s", exc)
        return None
    except (KeyError, TypeError, AttributeError) as exc:
        log.warning("not comparing with the previous run: %s: missing or wrong %s", path, exc)
        return None
    return previous


def _read_history(path: Path) -> list[dict[str, Any]]:
    try:
        return load_history(path)
    except ResultsError as exc:
        log.warning("no trend: %s", exc)
        return []


def render(
    results: dict[str, Any],
    out_dir: Path,
    *,
    previous: dict[str, Any] | None = None,
    history: Sequence[dict[str, Any]] | None = None,
    claims: Sequence[Claim] | None = None,
    validated: bool = False,
) -> list[Path]:
    """Validate ``results`` (unless the caller just did) and write MATRIX.md, index.html and the badges.

    ``previous`` (the run before, for "changed since last run") and ``history`` (the
    trend) default to ``previous-results.json`` and ``history.jsonl`` in ``out_dir``.
    """
    if not validated:
        validate(results)
    out_dir = Path(out_dir)
    if previous is None:
        previous = _read_previous(out_dir / PREVIOUS_NAME)
    if history is None:
        history = _read_history(out_dir / HISTORY_NAME)
    view = build_view(results, previous=previous, history=history, claims=claims)
    env = environment()
    context = {"view": view, "data": page_data(view)}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, template in OUTPUTS:
        path = out_dir / name
        path.write_text(env.get_template(template).render(context), encoding="utf-8")
        written.append(path)
    written += write_badges(results, out_dir)
    return written


def load_results(results_path: Path) -> dict[str, Any]:
    """Read a results.json (errors inline again); a missing, unparsable or unknown-version file is a ResultsError."""
    from .results import read_json

    return read_json(Path(results_path))


def main(results_path: Path | str, out_dir: Path | str) -> list[Path]:
    """Render the reports of ``results_path`` into ``out_dir``; returns the files written."""
    return render(load_results(Path(results_path)), Path(out_dir))


def _cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner.report", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="reports/results.json", type=Path)
    parser.add_argument("out_dir", nargs="?", default="reports", type=Path)
    args = parser.parse_args(argv)
    try:
        for path in main(args.results, args.out_dir):
            print(path)
    except ResultsError as exc:
        parser.exit(exc.exit_code, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli())
