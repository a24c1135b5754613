"""Does loading run code stored in the file, or reach outside it? Measured per vector, env and call.

Each canary scenario (``code_ran`` and ``events`` in its records, runner/harness/loading.py ``Observer``)
is one vector: a file the project crafts so that its payload, whenever it acts, writes a marker in the
load's own folder or reads a bait file beside it, and the load's audit events say what it did. Per vector
(scenario x format x the call that reads it), per environment (loading the file it saved itself) and per
call (the plain one, and ``safe_mode=False``), the table says what happened: the payload acted during
the load, or at the first call; the load deserialized stored code that runs later; it refused with an
error that names the vector; it failed otherwise; or nothing ran. A fact about the env, not a guess
from its version; the version ranges are MDN-style runs of equal value along each release line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from runner.core.vocab import FLAVOUR_LABELS

from .ranges import LineRanges, version_ranges

Observed = Literal["runs_load", "runs_call", "reads_load", "reads_call", "loads_code", "refused", "fails", "nothing"]
OBSERVED: tuple[Observed, ...] = get_args(Observed)
# (short label for a table cell, phrase for a version range)
OBSERVED_LABELS: dict[Observed, tuple[str, str]] = {
    "runs_load": ("runs: load", "runs during the load"),
    "runs_call": ("runs: call", "runs at the first call"),
    "reads_load": ("reads: load", "reads the file it names during the load"),
    "reads_call": ("reads: call", "reads the file it names at the first call"),
    "loads_code": ("loads code", "deserializes its code, which runs later (training)"),
    "refused": ("refused", "refused with an error that names it"),
    "fails": ("fails", "fails without running it"),
    "nothing": ("nothing", "runs nothing"),
}
ACTS: frozenset[Observed] = frozenset({"runs_load", "runs_call", "reads_load", "reads_call", "loads_code"})

Call = Literal["load_model", "tfsm_layer", "saved_model"]
CALLS: tuple[Call, ...] = get_args(Call)
CALL_TITLES: dict[Call, str] = {
    "load_model": "load_model",
    "tfsm_layer": "TFSMLayer",
    "saved_model": "tf.saved_model.load",
}
# the record options behind (plain, safe_mode=False) for each call
_OPTIONS: dict[Call, tuple[str, str | None]] = {
    "load_model": ("default", "safe_mode_off"),
    "tfsm_layer": ("tfsm_layer", None),
    "saved_model": ("saved_model", None),
}
# Audit events that mean the payload acted (a process, the network, a write, a read).
# (An import alone is shown, not counted: TensorFlow and Keras import installed packages lazily, e.g. scipy.)
_ACTION_EVENTS = ("os.", "subprocess.", "socket.", "urllib.", "open", "read")
_CODE_EVENTS = ("marshal.loads", "marshal.load", "exec", "compile")
# Errors that name what they refuse (measured messages of Keras 2.13-3.15, numpy and tf-keras).
_REFUSALS = re.compile(
    r"safe_mode|allow_pickle|pickled|not allowed|disallowed|Could not locate|KerasSaveable|not a modeling function|"
    r"deserialization of a|Unexpected object from deserialization|accessible `\.keras` zip"
)
_FAILED = ("load_error", "call_error", "crash", "timeout")


@dataclass(frozen=True, kw_only=True)
class Probe:
    """One vector as a user meets it: a canary scenario, the format its file is in, the call that reads it."""

    scenario: str
    title: str
    format: str
    call: Call

    @property
    def key(self) -> str:
        return f"{self.scenario}:{self.format}:{self.call}"

    @property
    def name(self) -> str:
        """The vector in a few words: the scenario's title up to its first colon."""
        return self.title.split(":", 1)[0]

    @property
    def where(self) -> str:
        """``keras`` or ``savedmodel, TFSMLayer``: the format and, when not load_model, the call."""
        return self.format if self.call == "load_model" else f"{self.format}, {CALL_TITLES[self.call]}"


@dataclass(frozen=True, kw_only=True)
class Observation:
    value: Observed
    outcome: str
    error: str | None  # "ValueError: …" (the first line, short) when the call failed
    events: tuple[dict[str, Any], ...] | None  # None: not observable (Python 3.7)

    @property
    def label(self) -> str:
        return OBSERVED_LABELS[self.value][0]

    @property
    def summary(self) -> str:
        """The events in one line: ``load: os.system('echo …'); call: read kc-bait.txt``."""
        if self.events is None:
            return "audit events cannot be observed on Python 3.7"
        return "; ".join(f"{e['phase']}: {e['event']} {e['detail']}".strip() for e in self.events) or "no events"


@dataclass(frozen=True, kw_only=True)
class CodeRun:
    """One vector in one env: what the plain call did, and what ``safe_mode=False`` did (None: not made)."""

    row: dict[str, Any]
    probe: Probe
    plain: Observation | None
    unsafe: Observation | None
    saved_in: str  # the row itself, or for a load-only row (Keras 3 on JAX / torch) the row that saved

    @property
    def on_plain_load(self) -> bool | None:
        """Whether the plain call let the file's payload act (run, read, or load its code)."""
        return None if self.plain is None else self.plain.value in ACTS


def _short_error(error: dict[str, Any] | None) -> str | None:
    if not error:
        return None
    message = " ".join(str(error.get("message", "")).split())
    return f"{error.get('type')}: {message[:140]}{'…' if len(message) > 140 else ''}"


def observe(record: dict[str, Any]) -> Observation | None:
    """What one canary record says happened; None when nothing was called (no such vector or call here)."""
    if record["outcome"] in ("unsupported", "env_error", "build_error", "save_error"):
        return None
    ran = record.get("code_ran") or {"load": False, "call": False}
    events = record.get("events")
    listed = [e for e in events or () if e["event"] != "truncated"]

    def acted(phase: str) -> bool:
        return bool(ran.get(phase)) or any(
            e["phase"] == phase and e["event"].startswith(_ACTION_EVENTS) for e in listed
        )

    only_reads = bool(listed) and all(e["event"] == "read" for e in listed)
    error = record.get("error") or {}
    value: Observed
    if acted("load"):
        value = "reads_load" if only_reads else "runs_load"
    elif acted("call"):
        value = "reads_call" if only_reads else "runs_call"
    elif any(e["event"] in _CODE_EVENTS for e in listed):
        value = "loads_code"
    elif record["outcome"] in _FAILED:
        value = "refused" if _REFUSALS.search(str(error.get("message", ""))) else "fails"
    else:
        value = "nothing"
    return Observation(
        value=value,
        outcome=record["outcome"],
        error=_short_error(error) if record["outcome"] in _FAILED else None,
        events=None if events is None else tuple(events),
    )


def _calls_of(fmt: str, options: set[str]) -> list[Call]:
    if fmt != "savedmodel":
        return ["load_model"]
    return [c for c in CALLS if _OPTIONS[c][0] in options or c == "load_model"]


def code_runs(results: dict[str, Any], columns: list[dict[str, Any]]) -> list[CodeRun]:
    """Per vector and column (env): the canary's records where that env loads its own file, or, for a
    load-only env, a file saved by another (the first in column order); empty when the run has no canary."""
    canaries = {r["scenario"] for r in results["records"] if "code_ran" in r}
    found: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]] = {}
    for r in results["records"]:
        if r["scenario"] in canaries:
            found.setdefault((r["scenario"], r["format"], r["load_row"], r["save_row"]), {})[r["option"]] = r
    savers = {save for (_, _, load, save) in found if load == save}
    order = [c["id"] for c in columns]
    titles = {s["id"]: s.get("title", s["id"]) for s in results.get("scenarios", [])}
    scenario_order = [s["id"] for s in results.get("scenarios", [])]
    out: list[CodeRun] = []
    for scenario in sorted(canaries, key=lambda s: (scenario_order.index(s) if s in scenario_order else 1 << 20, s)):
        for fmt in results["formats"]:
            if fmt == "weights":  # nothing is stored: the model is rebuilt from the loading side's own code
                continue
            per_row = []
            for row in columns:
                rid = row["id"]
                sources = [rid] if rid in savers else [c for c in order if c in savers and c != rid]
                saved_in = next((c for c in sources if (scenario, fmt, rid, c) in found), None)
                if saved_in is not None:
                    per_row.append((row, saved_in, found[(scenario, fmt, rid, saved_in)]))
            options = {o for _, _, recs in per_row for o in recs}
            for call in _calls_of(fmt, options):
                probe = Probe(scenario=scenario, title=titles.get(scenario, scenario), format=fmt, call=call)
                plain_option, unsafe_option = _OPTIONS[call]
                runs = [
                    CodeRun(
                        row=row,
                        probe=probe,
                        plain=observe(recs[plain_option]) if plain_option in recs else None,
                        unsafe=observe(recs[unsafe_option]) if unsafe_option and unsafe_option in recs else None,
                        saved_in=saved_in,
                    )
                    for row, saved_in, recs in per_row
                ]
                if any(r.plain is not None or r.unsafe is not None for r in runs):
                    out += runs
    return out


def probes(runs: Iterable[CodeRun]) -> list[Probe]:
    """The vectors measured, in scenario, format and call order."""
    return list(dict.fromkeys(r.probe for r in runs))


def describe(observation: Observation | None) -> str:
    """A table cell: ``runs: load``, ``refused``, … or ``–`` (not made: no such vector or call here)."""
    return "–" if observation is None else observation.label


def table(runs: list[CodeRun]) -> list[tuple[dict[str, Any], dict[str, CodeRun]]]:
    """``[(row, {probe key: run})]`` in column order, for the reports' env x vector table."""
    rows: dict[str, tuple[dict[str, Any], dict[str, CodeRun]]] = {}
    for run in runs:
        rows.setdefault(run.row["id"], (run.row, {}))[1][run.probe.key] = run
    return list(rows.values())


@dataclass(frozen=True, kw_only=True)
class ProbeRanges:
    """One vector's values as version ranges: for the plain call, and for ``safe_mode=False``."""

    probe: Probe
    plain: list[LineRanges]
    unsafe: list[LineRanges]
    seen: str  # what the payload did where it acted (the first such env's events), or ""

    @property
    def plain_text(self) -> str:
        return line_text(self.plain)

    @property
    def unsafe_text(self) -> str:
        return line_text(self.unsafe)


def ranges(runs: list[CodeRun]) -> list[ProbeRanges]:
    """Per vector: MDN-style version ranges of what the plain call and ``safe_mode=False`` did."""
    out = []
    for probe in probes(runs):
        mine = [r for r in runs if r.probe == probe]
        acted = [o for r in mine for o in (r.plain, r.unsafe) if o is not None and o.value in ACTS and o.events]
        out.append(
            ProbeRanges(
                probe=probe,
                plain=version_ranges((r.row, _phrase(r.plain)) for r in mine),
                unsafe=version_ranges((r.row, _phrase(r.unsafe)) for r in mine),
                seen=acted[0].summary if acted else "",
            )
        )
    return out


def _phrase(observation: Observation | None) -> str | None:
    return None if observation is None else OBSERVED_LABELS[observation.value][1]


def line_text(lines: list[LineRanges]) -> str:
    """``Keras 3: runs during the load in Keras 3.0–3.8 (TF 2.16–2.18), refused in Keras ≥ 3.9 (TF ≥ 2.19)``."""
    return " · ".join(
        f"{FLAVOUR_LABELS.get(line.flavour, line.flavour)}: "  # type: ignore[call-overload]
        + ", ".join(f"{rg.value} in {rg.versions}" for rg in line.ranges)
        for line in lines
    )


@dataclass(frozen=True, kw_only=True)
class Change:
    """A vector whose plain call changes between two envs: ``before`` in the one, ``after`` in the other."""

    probe: Probe
    before: Observation
    after: Observation


def changes(runs: list[CodeRun], src: str, dst: str) -> tuple[list[Change], list[Change]]:
    """``(closed, opened)``: the vectors whose payload acts on a plain call in ``src`` and not in ``dst``,
    and the other way round (each env loading the file it saved)."""
    by = {(r.row["id"], r.probe): r for r in runs}
    closed, opened = [], []
    for probe in probes(runs):
        a, b = by.get((src, probe)), by.get((dst, probe))
        if a is None or b is None or a.plain is None or b.plain is None:
            continue
        was, now = a.plain.value in ACTS, b.plain.value in ACTS
        if was and not now:
            closed.append(Change(probe=probe, before=a.plain, after=b.plain))
        elif now and not was:
            opened.append(Change(probe=probe, before=a.plain, after=b.plain))
    return closed, opened
