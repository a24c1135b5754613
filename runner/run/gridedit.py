"""Grid rows as tables and as text: the changes a discover ``Plan`` makes, and writing them.

A plan adds ``NewRow``\\ s (a ``[[row]]`` table derived from a template row: ``derive``) and replaces pins
(``PinChange``). ``apply`` writes them into grid.toml's text: each new table after the row it belongs
with, each changed pin rewritten in place (the packages, the ``tf``/``keras`` field, the note that names
the pin); every other line stays, and the result must parse to exactly the planned rows. ``write``
builds each new or changed row first (its env and lock, ``runner/locks/<row>.txt``, as ``run`` builds
rows) and writes only the rows that built.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runner.core.errors import GridError, KerasCompatError

from .grid import Row, parse_grid
from .index import Index, Release

TF_PACKAGES = ("tensorflow", "tensorflow-cpu")
OTHER_PACKAGES = ("keras", "tf-keras", "tensorflow-hub")
SkipReason = Literal["yanked", "no_wheel", "pre_release"]
Rule = Literal["next_tf", "python_axis", "keras3_minor"]


def packages_of(rows: Iterable[Row]) -> list[str]:
    """What to ask the index about: the TF distributions the grid pins, Keras, tf-keras and TF-Hub."""
    pinned = {name for row in rows for name in pins(row.packages)}
    return [p for p in TF_PACKAGES if p in pinned] + list(OTHER_PACKAGES)


def pins(packages: Iterable[str]) -> dict[str, str]:
    """``["tensorflow==2.21.0", "setuptools<82"]`` -> ``{"tensorflow": "2.21.0"}`` (exact pins only)."""
    out = {}
    for spec in packages:
        m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;,]+)\s*$", spec)
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


@dataclass(frozen=True, kw_only=True)
class NewRow:
    """A row the rules add: its ``[[row]]`` table, where it goes and why."""

    id: str
    data: Mapping[str, Any]
    after: str  # the row it is written after
    rule: Rule
    why: str
    template: str  # the row it was modelled on (its other pins are held)


@dataclass(frozen=True, kw_only=True)
class PinChange:
    """A newer patch release that replaces a row's pin."""

    row: str
    package: str
    old: str
    new: str
    uploaded: str


@dataclass(frozen=True, kw_only=True)
class Skip:
    """A release no rule uses, and why; ``rows``: the rows that keep an older pin because of it."""

    package: str
    version: str
    reason: SkipReason
    detail: str
    rows: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Plan:
    index: Index
    grid: str
    newest: Mapping[str, Release]  # per package: its newest usable release on the index
    unmeasured: Mapping[str, tuple[Release, ...]]  # per package: releases newer than any the grid pins
    rows: tuple[NewRow, ...] = ()
    pins: tuple[PinChange, ...] = ()
    skipped: tuple[Skip, ...] = ()
    notes: tuple[str, ...] = ()
    order: tuple[str, ...] = ()  # every row id in the order the grid file will have them

    @property
    def changed(self) -> list[str]:
        """The ids of every row added or changed, in the grid's order of the plan."""
        ids = [r.id for r in self.rows] + [p.row for p in self.pins]
        return list(dict.fromkeys(ids))


def derive(template: Mapping[str, Any], changes: Mapping[str, str], **fields: Any) -> dict[str, Any]:
    """``template``'s table with ``changes`` (package -> version) pinned instead, in its packages and in
    its note, and ``fields`` set; an explicit ``id`` is dropped (the new row's id comes from its versions)."""
    old = pins(template["packages"])
    packages = []
    for spec in template["packages"]:
        name = next(iter(pins([spec])), "")
        packages.append(f"{spec.split('==')[0].strip()}=={changes[name]}" if name in changes else spec)
    note = str(template.get("note", ""))
    for name, version in changes.items():
        if name in old:
            note = re.sub(rf"(?<![\w.-]){re.escape(name)}=={re.escape(old[name])}(?![\w.])", f"{name}=={version}", note)
    data = {k: v for k, v in template.items() if k != "id"}
    data.update(packages=packages, note=note, **fields)
    return data


KEY_ORDER = (
    "id", "flavour", "tf", "keras", "python", "load_only", "env", "find_links", "backend", "image",
    "expect_env_error", "packages", "note", "tags",
)  # fmt: skip


def row_toml(data: Mapping[str, Any]) -> str:
    """A ``[[row]]`` table written the way grid.toml writes them (one key a line, inline arrays)."""
    lines = ["[[row]]"]
    for key in [k for k in KEY_ORDER if k in data] + sorted(set(data) - set(KEY_ORDER)):
        lines.append(f"{key} = {_toml_value(data[key])}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string: the same escapes as JSON's
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise GridError(f"cannot write {value!r} into grid.toml")


def row_blocks(text: str) -> list[tuple[int, int]]:
    """Where each ``[[row]]`` table is in the file: ``(start, end)`` offsets, from its header line to the end
    of its last key line (the comments and blank lines between tables are left where they are)."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "[[row]]":
            j = i + 1
            while j < len(lines) and lines[j].strip() and not lines[j].lstrip().startswith(("#", "[")):
                j += 1
            blocks.append((offsets[i], offsets[j]))
            i = j
        else:
            i += 1
    return blocks


def _checked_blocks(text: str, source: str) -> list[tuple[int, int]]:
    tables = tomllib.loads(text).get("row", [])
    blocks = row_blocks(text)
    if len(blocks) != len(tables):
        raise GridError(f"{source}: cannot edit it as text: {len(blocks)} [[row]] headers for {len(tables)} rows")
    for n, ((start, end), table) in enumerate(zip(blocks, tables, strict=True)):
        if tomllib.loads(text[start:end]).get("row", [None])[0] != table:
            raise GridError(f"{source}: row {n + 1} is not one [[row]] table of `key = value` lines; edit it by hand")
    return blocks


def _replace_pin(block: str, row: Row, change: PinChange) -> str:
    name = re.escape(change.package).replace(r"\-", "[-_]")
    old, new = re.escape(change.old), change.new
    block = re.sub(rf'"((?i:{name}))\s*==\s*{old}"', lambda m: f'"{m.group(1)}=={new}"', block)
    field_name = (
        "tf"
        if change.package in TF_PACKAGES
        else "keras"
        if (change.package, row.flavour) in (("keras", "keras3"), ("tf-keras", "tf_keras"))
        else None
    )
    if field_name:
        block = re.sub(rf'(?m)^({field_name}\s*=\s*)"{old}"', lambda m: f'{m.group(1)}"{new}"', block)
    # the note names the pin it explains (``keras==3.13.2: Keras 3 is a hard dependency ...``)
    return re.sub(rf"(?<![\w.-])((?i:{name}))=={old}(?![\w.])", lambda m: f"{m.group(1)}=={new}", block)


def apply(text: str, plan: Plan, source: str = "<grid>") -> str:
    """grid.toml's text with the plan's rows added and pins replaced; every other line as it was."""
    grid = parse_grid(text, source)
    blocks = _checked_blocks(text, source)
    by_id = {row.id: (row, block) for row, block in zip(grid.rows, blocks, strict=True)}
    new = {n.id: n for n in plan.rows}
    order = [i for i in plan.order if i in by_id or i in new] or [r.id for r in grid.rows]
    if [i for i in order if i in by_id] != [r.id for r in grid.rows]:
        raise GridError(f"{source}: the plan was made from another version of this file; run discover again")
    out = [text[: blocks[0][0]]]
    ends = [b[1] for b in blocks]
    starts = [b[0] for b in blocks][1:] + [len(text)]
    gap = {row.id: text[end:nxt] for row, end, nxt in zip(grid.rows, ends, starts, strict=True)}
    pending = ""
    for row_id in order:
        if row_id in new:
            out.append("\n" + row_toml(new[row_id].data))
            continue
        out.append(pending)
        row, (start, end) = by_id[row_id]
        block = text[start:end]
        for change in plan.pins:
            if change.row == row_id:
                block = _replace_pin(block, row, change)
        out.append(block)
        pending = gap[row_id]
    out.append(pending)
    result = "".join(out)
    _verify(result, plan, source)
    return result


def _verify(text: str, plan: Plan, source: str) -> None:
    """The edited text parses and has exactly the planned rows and pins (else nothing is written)."""
    grid = parse_grid(text, source)
    rows = {r.id: r for r in grid.rows}
    for n in plan.rows:
        if rows.get(n.id) != Row.from_dict(dict(n.data), n.id):
            raise GridError(f"{source}: writing row {n.id} went wrong; nothing was written")
    for change in plan.pins:
        if pins(rows[change.row].packages).get(change.package) != change.new:
            raise GridError(f"{source}: replacing {change.package} in {change.row} went wrong; nothing was written")


Build = Callable[[Row], object]  # builds a row's env and writes its lock; raises KerasCompatError when it cannot


def default_build() -> Build:
    """Each row on the backend it names, the way ``run`` builds them: its lock goes to runner/locks/."""
    from .dispatch import RowBackends

    return RowBackends().prepare


@dataclass(frozen=True, kw_only=True)
class Written:
    plan: Plan  # what was written: the rows and pins that built
    failed: Mapping[str, str]  # row id -> why its env could not be built (not written)


def without(plan: Plan, failed: Iterable[str]) -> Plan:
    """``plan`` less the rows (new or changed) in ``failed``."""
    failed = set(failed)
    return Plan(
        index=plan.index,
        grid=plan.grid,
        newest=plan.newest,
        unmeasured=plan.unmeasured,
        rows=tuple(n for n in plan.rows if n.id not in failed),
        pins=tuple(c for c in plan.pins if c.row not in failed),
        skipped=plan.skipped,
        notes=plan.notes,
        order=tuple(i for i in plan.order if i not in failed or i not in {n.id for n in plan.rows}),
    )


def write(path: Path, plan: Plan, build: Build) -> Written:
    """Build every new or changed row (its lock) and write into ``path`` the ones that built."""
    text = path.read_text(encoding="utf-8")
    candidate = parse_grid(apply(text, plan, str(path)), str(path))
    failed: dict[str, str] = {}
    for row_id in plan.changed:
        try:
            build(candidate.row(row_id))
        except KerasCompatError as exc:
            failed[row_id] = str(exc)
    done = without(plan, failed)
    if done.changed:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(apply(text, done, str(path)), encoding="utf-8")
        os.replace(tmp, path)
    return Written(plan=done, failed=failed)
