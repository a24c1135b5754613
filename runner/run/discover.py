"""``keras-compat discover``: the grid compared with the package index, in the grid's own rules.

The rules (``runner/GRID_NOTES.md``, the README's targets): the next TF minor in every flavour the
newest TF ships (tf-keras of that minor, and the Keras 3 current at that TF's first release, last
patch of its minor); each new Keras 3 minor on the TF current at its first release; the newest TF
on the newest CPython it has wheels for; a newer patch release wherever it replaces a row's pin.
``plan`` is pure (the grid's text and an ``Index``, runner/run/index.py); runner/run/gridedit.py
writes a plan into grid.toml and builds its rows.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.core.lines import CONTAINER, PYTHON_AXIS, release_lines
from runner.core.versions import minor, version_key
from runner.core.vocab import FLAVOUR_ENV

from .grid import Row, parse_grid
from .gridedit import OTHER_PACKAGES, TF_PACKAGES, NewRow, PinChange, Plan, Rule, Skip, SkipReason, derive, pins
from .index import Index, Release, release_key

KERAS3_MINOR = "keras3-minor"
MAIN = "main"


@dataclass(kw_only=True)
class _Planner:
    """The grid's rules over one index answer (mutable only while planning; ``plan`` returns a Plan)."""

    index: Index
    rows: list[Row]
    raw: dict[str, dict]  # row id -> its [[row]] table as written
    order: list[str]  # row ids in file order, new rows inserted where they go
    skipped: dict[tuple[str, str, SkipReason, str], list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    added: list[NewRow] = field(default_factory=list)

    def skip(self, release: Release, reason: SkipReason, detail: str, row: str = "") -> None:
        kept = self.skipped.setdefault((release.package, release.version, reason, detail), [])
        if row and row not in kept:
            kept.append(row)

    def skips(self) -> tuple[Skip, ...]:
        return tuple(
            Skip(package=package, version=version, reason=reason, detail=detail, rows=tuple(rows))
            for (package, version, reason, detail), rows in self.skipped.items()
        )

    def reported(self, release: Release) -> bool:
        return any(k[:2] == (release.package, release.version) for k in self.skipped)

    def row(self, row_id: str) -> Row:
        return next(r for r in self.all_rows() if r.id == row_id)

    def all_rows(self) -> list[Row]:
        return self.rows + [Row.from_dict(dict(n.data), n.id) for n in self.added]

    def savers(self) -> list[Row]:
        return [r for r in self.all_rows() if not r.load_only and CONTAINER not in r.tags]

    def python_patch(self, python_minor: str) -> str:
        """The full version the grid's uv rows use for ``python_minor`` (``3.11`` -> ``3.11.7``), else ``X.Y.0``."""
        seen = Counter(r.python for r in self.rows if minor(r.python) == python_minor and r.backend in ("", "uv"))
        return seen.most_common(1)[0][0] if seen else f"{python_minor}.0"

    def newest_of_minor(
        self, package: str, minor_version: str, python: str | None = None, floor: str | None = None, who: str = ""
    ) -> Release | None:
        """The newest usable release of a minor (newer than ``floor``, for ``python``), saying why each
        newer one was passed over."""
        candidates = [r for r in self.index.of(package) if r.final and r.minor == minor_version]
        if floor is not None:
            candidates = [r for r in candidates if release_key(r.version) > release_key(floor)]
        for r in reversed(candidates):
            if r.yanked:
                self.skip(r, "yanked", _yanked(r), who)
            elif not r.wheel:
                self.skip(r, "no_wheel", NO_WHEEL, who)
            elif python is not None and minor(python) not in r.pythons:
                self.skip(r, "no_wheel", f"no manylinux x86_64 wheel for CPython {minor(python)}", who)
            else:
                return r
        return None

    def keras3_current_at(self, when: str) -> Release | None:
        """The Keras 3 that was current at ``when`` (the newest by then), then the last patch of its minor."""
        by_then = [r for r in self.index.usable("keras") if r.uploaded and r.uploaded <= when and _major(r) >= 3]
        if not by_then:
            return None
        newest = max(by_then, key=lambda r: release_key(r.version))
        return self.newest_of_minor("keras", newest.minor)

    def pythons_for(self, packages: Iterable[str]) -> list[str]:
        """The CPython minors every pinned package the index knows has a wheel for."""
        allowed: set[str] | None = None
        for name, version in pins(packages).items():
            release = self.index.get(name, version)
            if release is not None:
                allowed = set(release.pythons) if allowed is None else allowed & set(release.pythons)
        return sorted(allowed or (), key=version_key)

    def choose_python(self, preferred: str, packages: Iterable[str]) -> str | None:
        """``preferred``'s minor if every package has a wheel for it, else the nearest newer one."""
        allowed = self.pythons_for(packages)
        want = version_key(minor(preferred))
        later = [p for p in allowed if version_key(p) >= want]
        return later[0] if later else None

    def anchor(self, data: Mapping[str, Any], rule: Rule) -> str:
        """The row a new row is written after: the last of its group in file order."""
        rows = {r.id: r for r in self.all_rows()}

        def group(r: Row) -> bool:
            if r.flavour != data["flavour"] or r.load_only or set(r.tags) & {CONTAINER}:
                return False
            if rule == "keras3_minor":
                return KERAS3_MINOR in r.tags
            if rule == "python_axis":
                return minor(r.tf) == minor(data["tf"]) and bool(set(r.tags) & {MAIN, PYTHON_AXIS})
            return bool(set(r.tags) & {MAIN, PYTHON_AXIS}) and KERAS3_MINOR not in r.tags

        mine = [i for i in self.order if group(rows[i])]
        if not mine and rule != "next_tf":  # a first row of its group: after its flavour's main rows
            mine = [i for i in self.order if rows[i].flavour == data["flavour"] and MAIN in rows[i].tags]
        return mine[-1] if mine else self.order[-1]

    def add(self, data: dict[str, Any], rule: Rule, why: str, template: str) -> NewRow | None:
        row = Row.from_dict(data, "new row")
        if any(r.id == row.id for r in self.all_rows()):
            return None
        after = self.anchor(data, rule)
        new = NewRow(id=row.id, data=data, after=after, rule=rule, why=why, template=template)
        self.added.append(new)
        self.order.insert(self.order.index(after) + 1, row.id)
        return new


NO_WHEEL = "no manylinux x86_64 (or pure-Python) wheel"


def _yanked(release: Release) -> str:
    return "yanked on the index" + (f": {release.yanked_reason}" if release.yanked_reason else "")


def _major(release: Release) -> int:
    return version_key(release.version)[0]


def _tf_package(row: Row | Mapping[str, Any]) -> str | None:
    packages = row.packages if isinstance(row, Row) else row["packages"]
    return next((p for p in TF_PACKAGES if p in pins(packages)), None)


def plan(grid_text: str, index: Index, source: str = "<grid>") -> Plan:
    """What the index has that the grid does not measure, and the rows and pins the rules add for it."""
    grid = parse_grid(grid_text, source)
    raw_rows = tomllib.loads(grid_text)["row"]
    raw = {row.id: dict(table) for row, table in zip(grid.rows, raw_rows, strict=True)}
    p = _Planner(index=index, rows=list(grid.rows), raw=raw, order=[r.id for r in grid.rows])
    changes = _patch_pins(p)
    _next_tf(p)
    _keras3_minors(p)
    _python_axis(p)
    for name in ("tensorflow-hub",):
        newer = [r for r in index.usable(name) if release_key(r.version) > _grid_newest(grid.rows, name)]
        if newer:
            p.notes.append(
                f"{name} {newer[-1].version} ({newer[-1].date}) is newer than any the grid pins: "
                "no rule moves the hub pins (they are chosen per TF in runner/GRID_NOTES.md); review by hand"
            )
    newest: dict[str, Release] = {}
    unmeasured: dict[str, tuple[Release, ...]] = {}
    _, on_newest = _templates(_Planner(index=index, rows=list(grid.rows), raw=raw, order=[]))
    tf_in_use = {_tf_package(r) for r in on_newest}
    for name in sorted(index.releases, key=_package_order):
        usable = index.usable(name)
        if usable:
            newest[name] = usable[-1]
        if name in TF_PACKAGES and name not in tf_in_use:
            unmeasured[name] = ()  # e.g. tensorflow-cpu: the newest TF rows install `tensorflow`
            continue
        floor = _grid_newest(grid.rows, name)
        finals = [r for r in index.of(name) if r.final]
        newest_final = release_key(finals[-1].version) if finals else ((), (0, ""))
        unmeasured[name] = tuple(
            r
            for r in index.of(name)
            if release_key(r.version) > floor and r.uploaded and (r.final or release_key(r.version) > newest_final)
        )
        for r in unmeasured[name]:
            if p.reported(r):
                continue
            if not r.final:
                p.skip(r, "pre_release", "a pre-release: no row until its final release")
            elif r.yanked:
                p.skip(r, "yanked", _yanked(r))
            elif not r.wheel:
                p.skip(r, "no_wheel", NO_WHEEL)
    return Plan(
        index=index,
        grid=source,
        newest=newest,
        unmeasured=unmeasured,
        rows=tuple(sorted(p.added, key=lambda n: p.order.index(n.id))),
        pins=tuple(changes),
        skipped=p.skips(),
        notes=tuple(p.notes),
        order=tuple(p.order),
    )


def _package_order(name: str) -> int:
    known = (*TF_PACKAGES, *OTHER_PACKAGES)
    return known.index(name) if name in known else len(known)


def _grid_newest(rows: Iterable[Row], package: str) -> tuple:
    """The newest version of ``package`` the grid saves with (for a TF distribution: the newest TF of either)."""
    rows = [r for r in rows if not r.load_only and CONTAINER not in r.tags]
    if package in TF_PACKAGES:
        return max((release_key(r.tf) for r in rows), default=((), (1, "")))
    versions = [v for r in rows for n, v in pins(r.packages).items() if n == package]
    if package == "keras":  # Keras 2 pins are TF's own Keras; "newer than the grid" means Keras 3
        versions = [v for v in versions if version_key(v)[0] >= 3] or versions
    return max((release_key(v) for v in versions), default=((), (1, "")))


def _patch_pins(p: _Planner) -> list[PinChange]:
    """A newer patch of the same minor, final, not yanked, with a wheel for the row's Python, replaces the
    row's TF pin, its Keras 3 pin and (on tf-keras rows) its tf-keras pin. Keras 2 and tf-keras pins on
    Keras 2 rows are what that TF resolves to, and hub pins are chosen per TF: no rule moves them."""
    out = []
    for row in p.rows:
        for name, old in pins(row.packages).items():
            movable = (
                name in TF_PACKAGES
                or (name == "keras" and version_key(old)[0] >= 3)
                or (name == "tf-keras" and row.flavour == "tf_keras")
            )
            if not movable or not p.index.of(name):
                continue
            newest = p.newest_of_minor(name, minor(old), row.python, floor=old, who=row.id)
            if newest is not None:
                out.append(PinChange(row=row.id, package=name, old=old, new=newest.version, uploaded=newest.uploaded))
    return out


def _templates(p: _Planner) -> tuple[str, list[Row]]:
    """The newest TF minor the grid measures and its rows tagged ``main``, one per flavour."""
    lines = release_lines(p.savers())
    newest = max((minor(r.tf) for line in lines.values() for r in line), key=version_key)
    out = []
    for line in lines.values():
        on = [r for r in line if minor(r.tf) == newest]
        main = [r for r in on if MAIN in r.tags]
        if main:
            out.append(main[-1])
    return newest, out


def _next_tf(p: _Planner) -> None:
    """Each TF minor newer than the grid's, in every flavour the newest TF is measured in."""
    newest, templates = _templates(p)
    for template in templates:
        tf_name = _tf_package(template)
        if tf_name is None:
            continue
        minors = sorted({r.minor for r in p.index.of(tf_name) if r.final}, key=version_key)
        for tf_minor in [m for m in minors if version_key(m) > version_key(newest)]:
            tf = p.newest_of_minor(tf_name, tf_minor)
            first = p.index.first_of_minor(tf_name, tf_minor)
            if tf is None or first is None:
                continue
            keras3 = p.keras3_current_at(first.uploaded)
            raw = p.raw[template.id]
            changes = {tf_name: tf.version}
            fields: dict[str, Any] = {"tf": tf.version}
            if template.flavour == "tf_keras":
                tfk = p.newest_of_minor("tf-keras", tf_minor)
                if tfk is None:
                    p.notes.append(
                        f"tf-keras {tf_minor} is not on the index yet: the tf_keras row on TF {tf_minor} waits"
                    )
                    continue
                changes["tf-keras"] = fields["keras"] = tfk.version
                if keras3 is not None and "keras" in pins(template.packages):
                    changes["keras"] = keras3.version
            elif template.flavour == "keras3":
                if keras3 is None:
                    continue
                changes["keras"] = fields["keras"] = keras3.version
            else:
                p.notes.append(f"TF {tf_minor}: no rule adds a {template.flavour} row (modelled on {template.id})")
                continue
            packages = derive(raw, changes)["packages"]
            python = p.choose_python(template.python, packages)
            if python is None:
                p.notes.append(f"TF {tf.version}: no CPython has a wheel of every package of {template.id}'s kind")
                continue
            data = derive(raw, changes, python=p.python_patch(python), **fields)
            why = f"TF {tf_minor} is out ({tf.version}, {first.date})" + (
                f"; Keras {keras3.version} was current then" if keras3 is not None and "keras" in changes else ""
            )
            p.add(data, "next_tf", why, template.id)


def _keras3_minors(p: _Planner) -> None:
    """Each Keras 3 minor newer than the grid's, on the TF that was current at its first release."""
    keras3 = [r for r in p.savers() if r.flavour == "keras3" and r in p.rows]  # the grid's own, not new rows
    if not keras3:
        return
    grid_max = max(version_key(minor(r.keras)) for r in keras3)
    minors = sorted({r.minor for r in p.index.usable("keras") if _major(r) >= 3}, key=version_key)
    for k_minor in [m for m in minors if version_key(m) > grid_max]:
        if any(r.flavour == "keras3" and minor(r.keras) == k_minor for r in p.savers()):
            continue  # a new TF's main row measures it already
        first = p.index.first_of_minor("keras", k_minor)
        release = p.newest_of_minor("keras", k_minor)
        if first is None or release is None:
            continue
        template = _tf_current_at(p, first.uploaded)
        if template is None:
            continue
        changes = {"keras": release.version}
        python = p.choose_python(template.python, derive(_raw(p, template), changes)["packages"])
        if python is None:
            p.notes.append(f"Keras {release.version}: no CPython has a wheel of it and of TF {template.tf}")
            continue
        data = derive(
            _raw(p, template), changes, keras=release.version, python=p.python_patch(python), tags=[KERAS3_MINOR]
        )
        why = (
            f"Keras {k_minor} is out ({release.version}; {k_minor}.0 on {first.date}, TF {minor(template.tf)} current)"
        )
        p.add(data, "keras3_minor", why, template.id)


def _tf_current_at(p: _Planner, when: str) -> Row | None:
    """The Keras 3 main row of the newest TF minor whose first final release came out by ``when``."""
    dated = []
    for row in p.savers():
        tf_name = _tf_package(row)
        first = p.index.first_of_minor(tf_name, minor(row.tf)) if tf_name else None
        if row.flavour == "keras3" and MAIN in row.tags and first is not None and first.uploaded <= when:
            dated.append(row)
    return max(dated, key=lambda r: (version_key(r.tf), version_key(r.keras)), default=None)


def _raw(p: _Planner, row: Row) -> dict[str, Any]:
    if row.id in p.raw:
        return p.raw[row.id]
    return dict(next(n.data for n in p.added if n.id == row.id))


def _python_axis(p: _Planner) -> None:
    """The newest TF, in the flavour ``pip install tensorflow`` gives, on the newest CPython it has wheels for."""
    newest, templates = _templates(p)
    default = [t for t in templates if not FLAVOUR_ENV[t.flavour]]
    if not default:
        return
    template = default[-1]
    allowed = p.pythons_for(template.packages)
    if not allowed or version_key(allowed[-1]) <= version_key(minor(template.python)):
        return
    python = allowed[-1]
    if any(r.flavour == template.flavour and minor(r.tf) == newest and minor(r.python) == python for r in p.savers()):
        return
    data = derive(_raw(p, template), {}, python=p.python_patch(python), tags=[PYTHON_AXIS])
    tf_name = _tf_package(template) or "tensorflow"
    why = f"{tf_name} {template.tf} has wheels up to CPython {python}"
    p.add(data, "python_axis", why, template.id)
