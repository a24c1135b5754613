"""``keras-compat bisect``: the first release between two rows' pins at which a cell's status changes.

The cell is (scenario, format, saved in row A, loaded in row X). X runs through the releases of one
package between ROW1's pin and ROW2's (every patch and minor the index has, final and unyanked, with
a wheel for the row's Python), each in a throwaway row: ROW1's table with that one pin changed, every
other pin held. Each probe is a run of the ordinary command line (``python -m runner run``) on a small
grid file of two rows, A and X, X marked ``load_only`` so that ``--pairs all`` measures exactly A's own
cell and A -> X; the status is read from the run's results.json. Envs and the uv cache are the shared
ones (``$KC_HOME``), artifacts and the results cache a private ``--work`` dir.

Steps, each testable alone: ``ask`` (which package, which pins, which rows), ``between`` (the releases),
``candidates`` (the throwaway rows), ``search`` (the bisection over a measure function), ``CliMeasure``
(one probe through the command line).
"""

from __future__ import annotations

import os
import re
import sys
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.core.errors import KerasCompatError, SelectionError
from runner.core.results import read_json
from runner.core.versions import minor
from runner.core.vocab import FORMATS

from . import cmd
from .backends import LOCK_DIR
from .catalog import REPO
from .grid import Row, parse_grid
from .gridedit import TF_PACKAGES, derive, pins, row_toml
from .index import Index, Release, release_key

PREFIX = "bisect-"  # throwaway rows' ids: never a grid row's


class BisectError(KerasCompatError):
    """A bisection that cannot be asked (rows that differ in no pin, an endpoint that cannot be measured)."""


@dataclass(frozen=True, kw_only=True)
class Question:
    scenario: str
    format: str
    save: Row
    held: Row  # ROW1: every pin but ``package`` stays as here
    other: Row  # ROW2
    package: str
    low: str  # the older of the two rows' pins of ``package``
    high: str


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One release of the package in a row: ``table`` is its [[row]] table (a real row's when it is one)."""

    version: str
    uploaded: str
    id: str
    table: Mapping[str, Any]
    real: bool  # a grid row as it is (its env and lock are the grid's)


@dataclass(frozen=True, kw_only=True)
class Probe:
    version: str
    row: str
    status: str | None  # None: not measured (the env could not be built, or no such cell)
    option: str | None = None
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Answer:
    question: Question
    candidates: tuple[Candidate, ...]
    probes: tuple[Probe, ...]  # in the order they ran
    first: str | None  # the first release with a status other than the low end's (None: no change)
    last_before: str | None  # the release before it that has the low end's status
    untested: tuple[str, ...] = ()  # releases between those two that could not be measured
    skipped: tuple[str, ...] = ()  # releases left out of the list, one line each


def _tables(grid_text: str) -> dict[str, dict[str, Any]]:
    rows = parse_grid(grid_text).rows
    return {row.id: dict(t) for row, t in zip(rows, tomllib.loads(grid_text)["row"], strict=True)}


def ask(
    grid_text: str,
    scenario: str,
    format: str,
    save_row: str,
    between: tuple[str, str],
    package: str | None = None,
    scenarios: list[str] | None = None,
) -> Question:
    """The question, checked: rows that exist, a save row that saves, one package to walk."""
    grid = parse_grid(grid_text)
    if scenarios is not None and scenario not in scenarios:
        raise SelectionError(f"unknown scenario {scenario!r}; see `keras-compat scenarios`")
    if format not in FORMATS:
        raise SelectionError(f"unknown format {format!r}: one of {', '.join(FORMATS)}")
    save, held, other = grid.row(save_row), grid.row(between[0]), grid.row(between[1])
    if save.load_only:
        raise SelectionError(f"--save-row {save.id} is load-only: it saves nothing; pick a row that saves")
    a, b = pins(held.packages), pins(other.packages)
    differ = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
    if package is None:
        if len(differ) == 1:
            package = differ[0]
        elif held.flavour == other.flavour and held.flavour == "keras3" and "keras" in differ:
            package = "keras"  # the version axis of a Keras 3 line (runner/core/lines.py)
        elif held.flavour == other.flavour and any(n in differ for n in TF_PACKAGES):
            package = next(n for n in TF_PACKAGES if n in differ)
        elif not differ:
            raise BisectError(f"{held.id} and {other.id} pin the same releases: nothing to bisect")
        else:
            raise BisectError(f"{held.id} and {other.id} differ in {', '.join(differ)}: say which with --package")
    if package not in a or package not in b:
        raise BisectError(f"--package {package}: not pinned (==) in both {held.id} and {other.id}")
    if a[package] == b[package]:
        raise BisectError(f"{held.id} and {other.id} pin the same {package} {a[package]}: nothing to bisect")
    low, high = sorted((a[package], b[package]), key=release_key)
    return Question(
        scenario=scenario, format=format, save=save, held=held, other=other, package=package, low=low, high=high
    )


def between(index: Index, q: Question) -> tuple[list[Release], list[str]]:
    """The releases from ``low`` to ``high`` (both included) a row on the held Python can install, and a
    line for each one left out (yanked, no wheel, pre-release)."""
    out, skipped = [], []
    for r in index.of(q.package):
        if not release_key(q.low) <= release_key(r.version) <= release_key(q.high):
            continue
        if not r.final:
            skipped.append(f"skipped {r.package} {r.version}: a pre-release")
        elif r.yanked:
            reason = f": {r.yanked_reason}" if r.yanked_reason else ""
            skipped.append(f"skipped {r.package} {r.version}: yanked on the index{reason}")
        elif minor(q.held.python) not in r.pythons:
            skipped.append(
                f"skipped {r.package} {r.version}: no manylinux x86_64 wheel for CPython {minor(q.held.python)}"
            )
        else:
            out.append(r)
    versions = {r.version for r in out}
    for end in (q.low, q.high):
        if end not in versions:  # the rows pin it, so it installs; the index may spell it differently
            raise BisectError(f"{q.package} {end} (a row's pin) is not among the index's usable releases")
    return out, skipped


def candidates(grid_text: str, q: Question, releases: list[Release]) -> list[Candidate]:
    """A row per release: the held row's table with that pin; a grid row itself where one has that spec."""
    tables = _tables(grid_text)
    grid = parse_grid(grid_text)
    out = []
    for r in releases:
        table = derive(tables[q.held.id], {q.package: r.version}, **_fields(q, r.version))
        probe_id = f"{PREFIX}{q.package}{r.version}-{q.held.id}"
        row = Row.from_dict({**table, "id": probe_id}, probe_id)
        same = next((g for g in grid.rows if g.spec_hash == row.spec_hash and not g.backend), None)
        if same is not None:
            out.append(Candidate(version=r.version, uploaded=r.uploaded, id=same.id, table=tables[same.id], real=True))
        else:
            table = {**table, "id": probe_id, "note": f"bisect: {q.held.id} with {q.package}=={r.version}"}
            table["tags"] = []
            out.append(Candidate(version=r.version, uploaded=r.uploaded, id=probe_id, table=table, real=False))
    return out


def _fields(q: Question, version: str) -> dict[str, str]:
    if q.package in TF_PACKAGES:
        return {"tf": version}
    if (q.package, q.held.flavour) in (("keras", "keras3"), ("tf-keras", "tf_keras")):
        return {"keras": version}
    return {}


def probe_grid(save: Mapping[str, Any], save_id: str, candidate: Candidate) -> str:
    """The grid file of one probe: the save row exactly as in the grid, and the candidate as load-only."""
    text = "# keras-compat bisect: one probe (written by runner/run/bisect.py)\nschema = 1\n\n" + row_toml(save)
    if candidate.id != save_id:
        text += "\n" + row_toml({**candidate.table, "id": candidate.id, "load_only": True})
    return text


Measure = Callable[[Candidate], Probe]


@dataclass(frozen=True, kw_only=True)
class Found:
    """What ``search`` found: the probes in the order they ran and where the status changes."""

    probes: tuple[Probe, ...]
    first: str | None  # the first release whose status is not the low end's (None: both ends agree)
    last_before: str | None
    untested: tuple[str, ...] = ()


def search(cands: list[Candidate], measure: Measure, on_probe: Callable[[Probe], None] | None = None) -> Found:
    """Bisect: both ends first, then halves, assuming one change between them; a release that cannot
    be measured is left out (``untested``) and its neighbours asked instead."""
    if not cands:
        raise BisectError("no release to bisect")
    probes: list[Probe] = []
    status: dict[int, str | None] = {}

    def at(i: int) -> str | None:
        if i not in status:
            probe = measure(cands[i])
            probes.append(probe)
            status[i] = probe.status
            if on_probe is not None:
                on_probe(probe)
        return status[i]

    low, high = 0, len(cands) - 1
    for end in (low, high):
        if at(end) is None:
            probe = next(p for p in probes if p.version == cands[end].version)
            raise BisectError(f"{cands[end].id} ({cands[end].version}) could not be measured: {probe.error}")
    if status[low] == status[high]:
        return Found(probes=tuple(probes), first=None, last_before=None)
    base = status[low]
    untestable: set[int] = set()
    while True:
        inside = [i for i in range(low + 1, high) if i not in untestable]
        if not inside:
            break
        mid = inside[len(inside) // 2]
        s = at(mid)
        if s is None:
            untestable.add(mid)
        elif s == base:
            low = mid
        else:
            high = mid
    return Found(
        probes=tuple(probes),
        first=cands[high].version,
        last_before=cands[low].version,
        untested=tuple(cands[i].version for i in sorted(untestable) if low < i < high),
    )


Runner = Callable[..., cmd.Result]


class CliMeasure:
    """One probe: ``python -m runner run`` on a two-row grid file, the status read from its results.json.

    Envs and the uv cache are the shared ones (``$KC_HOME``: no ``--home``); ``work`` is private. A
    throwaway row's lock, which ``run`` writes into runner/locks/, is removed after its probe."""

    def __init__(
        self,
        q: Question,
        save_table: Mapping[str, Any],
        work: Path,
        *,
        runner: Runner = cmd.run,
        lock_dir: Path = LOCK_DIR,
        timeout: float = 7200,
        environ: Mapping[str, str] | None = None,
    ):
        self.q, self.save_table, self.work = q, save_table, work
        self.runner, self.lock_dir, self.timeout = runner, lock_dir, timeout
        self.environ = dict(os.environ if environ is None else environ)
        self.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
        self.environ.pop("KC_WORK", None)

    def argv(self, grid: Path, candidate: Candidate, out: Path) -> list[str]:
        rows = self.q.save.id if candidate.id == self.q.save.id else f"{self.q.save.id},{candidate.id}"
        return [
            sys.executable, "-m", "runner", "run", "--grid", str(grid), "--rows", rows,
            "--scenarios", self.q.scenario, "--formats", self.q.format, "--pairs", "all",
            "--out", str(out), "--work", str(self.work / "kc"), "--quiet",
        ]  # fmt: skip

    def __call__(self, candidate: Candidate) -> Probe:
        slug = re.sub(r"[^\w.-]", "_", candidate.version)
        grid = self.work / "grids" / f"{slug}.toml"
        out = self.work / "out" / slug
        grid.parent.mkdir(parents=True, exist_ok=True)
        grid.write_text(probe_grid(self.save_table, self.q.save.id, candidate), encoding="utf-8")
        lock = self.lock_dir / f"{candidate.id}.txt"
        had_lock = lock.exists()
        start = time.monotonic()
        try:
            res = self.runner(self.argv(grid, candidate, out), env=self.environ, timeout=self.timeout, cwd=str(REPO))
        finally:
            if not candidate.real and candidate.id.startswith(PREFIX) and not had_lock:
                lock.unlink(missing_ok=True)
        seconds = round(time.monotonic() - start, 1)
        if not res.ok:
            raise BisectError(f"probe of {candidate.id} failed: {res.last_line()}")
        results = read_json(out / "results.json")
        return self.read(results, candidate, seconds)

    def read(self, results: dict, candidate: Candidate, seconds: float = 0.0) -> Probe:
        """The cell A -> candidate from a results.json (in memory), or why there is none."""
        q = self.q
        for cell in results.get("cells", []):
            key = (cell["scenario"], cell["format"], cell["save_row"], cell["load_row"])
            if key == (q.scenario, q.format, q.save.id, candidate.id):
                status = cell["status"]
                error = cell.get("error") or {}
                message = f"{error.get('type', '')}: {error.get('message', '')}".strip(": ") if error else ""
                if status == "env_error":
                    return Probe(
                        version=candidate.version, row=candidate.id, status=None, error=message, seconds=seconds
                    )
                return Probe(
                    version=candidate.version,
                    row=candidate.id,
                    status=status,
                    option=cell.get("option"),
                    error=" ".join(message.split())[:200],
                    seconds=seconds,
                )
        broken = [r for r in results.get("rows", []) if r.get("status") == "env_error"]
        why = "; ".join(f"{r['id']}: {r.get('error')}" for r in broken) or "no such cell in results.json"
        return Probe(version=candidate.version, row=candidate.id, status=None, error=why, seconds=seconds)


def bisect(
    grid_text: str, q: Question, index: Index, measure: Measure, on_probe: Callable[[Probe], None] | None = None
) -> Answer:
    """The pipeline: the releases, their rows, the search."""
    releases, skipped = between(index, q)
    cands = candidates(grid_text, q, releases)
    answer = search(cands, measure, on_probe)
    return Answer(
        question=q,
        candidates=tuple(cands),
        probes=answer.probes,
        first=answer.first,
        last_before=answer.last_before,
        untested=answer.untested,
        skipped=tuple(skipped),
    )


def probe_line(p: Probe) -> str:
    what = f"{p.status} ({p.option})" if p.status else f"not measured: {p.error}"
    return f"  {p.version:10} {what:40} [{p.row}, {p.seconds:.0f} s]"


def report(answer: Answer) -> list[str]:
    q = answer.question
    by_version = {p.version: p for p in answer.probes}
    lines = []
    if answer.first is None:
        status = answer.probes[0].status
        lines.append(
            f"no change: {q.package} {q.low} and {q.high} on {q.held.id}'s other pins both give {status}"
            + (
                f" (the grid's {q.other.id} differs from {q.held.id} in other pins too)"
                if set(pins(q.held.packages).items()) ^ set(pins(q.other.packages).items())
                else ""
            )
        )
        return lines
    first = next(c for c in answer.candidates if c.version == answer.first)
    before, after = by_version[str(answer.last_before)], by_version[answer.first]
    if answer.untested:
        lines.append(
            f"the change is between {q.package} {answer.last_before} ({before.status}) and {answer.first} "
            f"({after.status}); not measurable in between: {', '.join(answer.untested)}"
        )
    else:
        lines.append(
            f"first change: {q.package} {answer.first} (released {first.uploaded[:10]}): {before.status} -> "
            f"{after.status} ({after.option}); the last release with {before.status} is {answer.last_before}"
        )
    if after.error:
        lines.append(f"  {q.package} {answer.first}: {after.error}")
    return lines


def grid_table(grid_text: str, row_id: str) -> dict[str, Any]:
    """A row's [[row]] table as written in the grid (a probe's grid file repeats it exactly)."""
    return _tables(grid_text)[row_id]
