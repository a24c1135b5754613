"""The articles' claims as data (``runner/claims.toml``), checked against a run.

A claim names the scenarios and formats it is about and an expectation over a
cell (see the header of claims.toml). For every environment, its same-env cells
for those scenarios × formats decide the verdict: ``holds``, ``does_not_hold`` or
``not_measured`` (no cell, the model could not be built there, or the option the
claim is about does not exist there).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from runner.core.errors import KerasCompatError
from runner.core.vocab import FORMATS, OPTIONS, OUTCOMES, STATUSES

CLAIMS_FILE = Path(__file__).resolve().parents[1] / "claims.toml"

Verdict = Literal["holds", "does_not_hold", "not_measured"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
VERDICT_LABELS: dict[Verdict, tuple[str, str]] = {
    "holds": ("✔", "holds"),
    "does_not_hold": ("✘", "does not hold"),
    "not_measured": ("–", "not measured"),
}
DEFAULT_UNMEASURED = ("env_error", "build_error", "save_error")
_CLAIM_KEYS = {"id", "source", "quote", "scenarios", "formats", "expect", "combine", "unmeasured"}
_EXPECT_KEYS = {"option", "outcomes", "statuses", "error_contains", "error_type"}


class ClaimsError(KerasCompatError):
    """claims.toml is invalid (unknown key, unknown status or option, duplicate id)."""


@dataclass(frozen=True, kw_only=True)
class Expectation:
    """When a claim holds in one cell; every field that is set must match."""

    option: str | None = None
    outcomes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    error_contains: tuple[str, ...] = ()
    error_type: str | None = None

    @property
    def needs_record(self) -> bool:
        return self.option is not None


@dataclass(frozen=True, kw_only=True)
class Claim:
    id: str
    source: str
    quote: str
    scenarios: tuple[str, ...]
    formats: tuple[str, ...]
    expect: Expectation
    combine: Literal["all", "any"] = "all"
    unmeasured: tuple[str, ...] = DEFAULT_UNMEASURED

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> Claim:
        unknown = set(data) - _CLAIM_KEYS
        if unknown:
            raise ClaimsError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        missing = {"id", "source", "quote", "scenarios", "formats", "expect"} - set(data)
        if missing:
            raise ClaimsError(f"{where}: missing {', '.join(sorted(missing))}")
        expect = dict(data["expect"])
        if set(expect) - _EXPECT_KEYS:
            raise ClaimsError(f"{where}.expect: unknown key(s) {', '.join(sorted(set(expect) - _EXPECT_KEYS))}")
        if not expect:
            raise ClaimsError(f"{where}.expect: empty: it would hold everywhere")
        for key, vocabulary in (("outcomes", OUTCOMES), ("statuses", STATUSES)):
            bad = [v for v in expect.get(key, ()) if v not in vocabulary]
            if bad:
                raise ClaimsError(f"{where}.expect.{key}: unknown {', '.join(bad)}")
        if expect.get("option") is not None and expect["option"] not in OPTIONS:
            raise ClaimsError(f"{where}.expect.option: unknown option {expect['option']!r}")
        if expect.get("outcomes") and expect.get("option") is None:
            raise ClaimsError(f"{where}.expect: outcomes need an option (whose record they are about)")
        bad_formats = [f for f in data["formats"] if f not in FORMATS]
        if bad_formats:
            raise ClaimsError(f"{where}.formats: unknown {', '.join(bad_formats)}")
        combine = data.get("combine", "all")
        if combine not in ("all", "any"):
            raise ClaimsError(f"{where}.combine: 'all' or 'any', not {combine!r}")
        unmeasured = tuple(data.get("unmeasured", DEFAULT_UNMEASURED))
        if any(s not in STATUSES for s in unmeasured):
            raise ClaimsError(f"{where}.unmeasured: unknown status")
        contains = expect.get("error_contains", ())
        return cls(
            id=data["id"],
            source=data["source"],
            quote=data["quote"],
            scenarios=tuple(data["scenarios"]),
            formats=tuple(data["formats"]),
            expect=Expectation(
                option=expect.get("option"),
                outcomes=tuple(expect.get("outcomes", ())),
                statuses=tuple(expect.get("statuses", ())),
                error_contains=(contains,) if isinstance(contains, str) else tuple(contains),
                error_type=expect.get("error_type"),
            ),
            combine=combine,
            unmeasured=unmeasured,
        )

    def describe(self) -> str:
        """The expectation in words, for the page and MATRIX.md."""
        e = self.expect
        parts = []
        if e.option:
            parts.append(f"the {e.option} load" + (f" is {' or '.join(e.outcomes)}" if e.outcomes else ""))
        if e.statuses:
            parts.append(f"status is {' or '.join(e.statuses)}")
        if e.error_type:
            parts.append(f"raises {e.error_type}")
        if e.error_contains:
            parts.append("the error says " + " and ".join(repr(s) for s in e.error_contains))
        cells = f"{'/'.join(self.scenarios)} × {'/'.join(self.formats)}"
        joined = "; ".join(parts)
        return f"{cells}: {joined}" + (" (in at least one of them)" if self.combine == "any" else "")


def load_claims(path: Path = CLAIMS_FILE) -> list[Claim]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ClaimsError(f"{path}: {exc}") from None
    claims = [Claim.from_dict(c, f"{Path(path).name}: claim[{i}]") for i, c in enumerate(data.get("claim", []))]
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ClaimsError(f"{path}: duplicate claim id(s) {', '.join(dupes)}")
    return claims


@dataclass(frozen=True, kw_only=True)
class CellVerdict:
    scenario: str
    format: str
    row: str  # save_row == load_row
    verdict: Verdict
    why: str  # the status / outcome / error it rests on


@dataclass(kw_only=True)
class ClaimResult:
    claim: Claim
    cells: list[CellVerdict] = field(default_factory=list)
    rows: dict[str, Verdict] = field(default_factory=dict)  # row id -> verdict, in column order

    def count(self, verdict: Verdict) -> int:
        return sum(1 for v in self.rows.values() if v == verdict)

    @property
    def overall(self) -> str:
        """One word for the whole run: holds / does not hold / depends on the version / not measured."""
        holds, fails = self.count("holds"), self.count("does_not_hold")
        if holds and fails:
            return "depends"
        return "holds" if holds else "does_not_hold" if fails else "not_measured"


def _error_text(error: dict[str, Any] | None) -> str:
    return f"{error['type']}: {error['message']}" if error else ""


def check_cell(claim: Claim, cell: dict[str, Any], records: dict[str, dict[str, Any]]) -> tuple[Verdict, str]:
    """One cell's verdict and why; ``records`` maps option -> that cell's record."""
    e = claim.expect
    if cell["status"] in claim.unmeasured:
        return "not_measured", f"status {cell['status']}"
    error = cell["error"]
    why = [f"status {cell['status']}"]
    ok = True
    if e.option is not None:
        record = records.get(e.option)
        if record is None:
            return "not_measured", f"the {e.option} load was not tried"
        if record["outcome"] == "unsupported" and "unsupported" not in e.outcomes:
            return "not_measured", f"no {e.option} load in this environment"
        error = record["error"]
        why = [f"{e.option} load: {record['outcome']}"]
        if e.outcomes and record["outcome"] not in e.outcomes:
            ok = False
    if e.statuses and cell["status"] not in e.statuses:
        ok = False
    text = _error_text(error)
    if e.error_type and (not error or error["type"] != e.error_type):
        ok = False
    if e.error_contains and not all(s.lower() in text.lower() for s in e.error_contains):
        ok = False
    if text:
        why.append(text if len(text) <= 160 else text[:159] + "…")
    return ("holds" if ok else "does_not_hold"), ": ".join(why)


def evaluate(claims: Iterable[Claim], results: dict[str, Any], row_order: list[str] | None = None) -> list[ClaimResult]:
    """Every claim's verdict per environment (same-env cells), rows in ``row_order``."""
    order = row_order or [r["id"] for r in results["rows"]]
    cells = {(c["scenario"], c["format"], c["save_row"]): c for c in results["cells"] if c["save_row"] == c["load_row"]}
    records: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for r in results["records"]:
        if r["save_row"] == r["load_row"]:
            records.setdefault((r["scenario"], r["format"], r["save_row"]), {})[r["option"]] = r
    out = []
    for claim in claims:
        result = ClaimResult(claim=claim)
        for row in order:
            verdicts = []
            for scenario in claim.scenarios:
                for fmt in claim.formats:
                    cell = cells.get((scenario, fmt, row))
                    if cell is None:
                        continue
                    verdict, why = check_cell(claim, cell, records.get((scenario, fmt, row), {}))
                    result.cells.append(CellVerdict(scenario=scenario, format=fmt, row=row, verdict=verdict, why=why))
                    verdicts.append(verdict)
            measured = [v for v in verdicts if v != "not_measured"]
            if not measured:
                result.rows[row] = "not_measured"
            elif claim.combine == "any":
                result.rows[row] = "holds" if "holds" in measured else "does_not_hold"
            else:
                result.rows[row] = "holds" if all(v == "holds" for v in measured) else "does_not_hold"
        out.append(result)
    return out
