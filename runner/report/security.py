"""Does loading run code stored in the file? Measured by the canary scenarios' markers, per env and format.

A canary scenario (``code_ran`` in its records) writes a marker whenever its stored
code runs. Per environment (its own files, same-env cells) and format, this says
whether a plain ``load_model`` ran it, whether the first call did, and what
``safe_mode=False`` changes: a fact about the env, not a guess from its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (option, phase) -> what the table says
_OPTIONS = ("default", "safe_mode_off")


@dataclass(frozen=True, kw_only=True)
class CodeRun:
    row: dict[str, Any]
    format: str
    scenario: str
    default: dict[str, Any] | None  # {"load": bool, "call": bool, "outcome": str}
    unsafe: dict[str, Any] | None
    saved_in: str  # the row itself, or for a load-only row (Keras 3 on JAX / torch) the row that saved

    @property
    def on_plain_load(self) -> bool | None:
        """Whether a plain ``load_model(path)`` ran the stored code (during the load or at the first call)."""
        if self.default is None:
            return None
        return bool(self.default["load"] or self.default["call"])


def code_runs(results: dict[str, Any], columns: list[dict[str, Any]]) -> list[CodeRun]:
    """Per column (env) and format, the canary's records where that env loads its own file, or, for a
    load-only env, a file saved by another (the first in column order); empty when the run has no canary."""
    found: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]] = {}
    for r in results["records"]:
        ran = r.get("code_ran")
        if ran is None or r["option"] not in _OPTIONS:
            continue
        key = (r["scenario"], r["format"], r["load_row"], r["save_row"])
        found.setdefault(key, {})[r["option"]] = dict(ran, outcome=r["outcome"])
    savers = {save for (_, _, load, save) in found if load == save}
    order = [c["id"] for c in columns]
    out = []
    scenarios = sorted({s for s, _, _, _ in found})
    for scenario in scenarios:
        for fmt in results["formats"]:
            if fmt == "weights":  # nothing is stored: the model is rebuilt from the loading side's own code
                continue
            for row in columns:
                rid = row["id"]
                sources = [rid] if rid in savers else [c for c in order if c in savers and c != rid]
                saved_in = next((c for c in sources if (scenario, fmt, rid, c) in found), None)
                if saved_in is None:
                    continue
                options = found[(scenario, fmt, rid, saved_in)]
                out.append(
                    CodeRun(
                        row=row,
                        format=fmt,
                        scenario=scenario,
                        default=options.get("default"),
                        unsafe=options.get("safe_mode_off"),
                        saved_in=saved_in,
                    )
                )
    return out


def describe(run: dict[str, Any] | None) -> str:
    """``load + call``, ``call only``, ``no`` or ``–`` (not measured)."""
    if run is None:
        return "–"
    phases = [p for p in ("load", "call") if run[p]]
    return " + ".join(phases) if phases else "no"


def table(runs: list[CodeRun]) -> list[tuple[dict[str, Any], dict[str, CodeRun]]]:
    """``[(row, {format: run})]`` in column order, for the reports' table."""
    rows: dict[str, tuple[dict[str, Any], dict[str, CodeRun]]] = {}
    for run in runs:
        rows.setdefault(run.row["id"], (run.row, {}))[1][run.format] = run
    return list(rows.values())


def ranges(runs: list[CodeRun]) -> list[tuple[str, list[Any]]]:
    """Per format: version ranges (per release line) of "runs stored code" / "runs none" on a plain load_model."""
    from .ranges import version_ranges

    out = []
    for fmt in dict.fromkeys(r.format for r in runs):
        values = [
            (r.row, None if r.on_plain_load is None else "runs stored code" if r.on_plain_load else "runs none")
            for r in runs
            if r.format == fmt
        ]
        out.append((fmt, version_ranges(values)))
    return out
