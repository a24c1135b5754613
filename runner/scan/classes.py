"""Which layer classes the Keras that saved a file ships, from ``data/builtin_classes.json``.

The data is measured, not written by hand: tools/fixtures/builtin_classes.py asks each
Keras version's own deserializer (in the grid's envs and in venvs with standalone Keras
1.2.2 to 2.3.1) which class names it resolves without ``custom_objects``. A file is
judged by the version it records (its ``keras_version``); a version with no entry uses
the nearest one of the same Keras line, and a file that records none uses every line's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from runner.core.versions import version_key

Line = Literal["standalone", "tf.keras", "tf_keras", "keras3"]
_DATA = Path(__file__).parent / "data" / "builtin_classes.json"


def line_of(version: str | None) -> Line | None:
    """The Keras line a recorded ``keras_version`` belongs to.

    ``"2.2.4-tf"``/``"2.3.0-tf"`` are TF 2.0-2.2's bundled tf.keras; bare 1.x-2.3.x are standalone Keras;
    2.4-2.15 are tf.keras (TF 2.3+ records its Keras version, and standalone Keras 2.4+ is tf.keras);
    2.16+ are tf-keras; 3.x is Keras 3.
    """
    if not version:
        return None
    key = version_key(version) + (0, 0)
    if version.endswith("-tf"):
        return "tf.keras"
    if key[0] == 1 or (key[0] == 2 and key[1] <= 3):
        return "standalone"
    if key[0] == 2:
        return "tf.keras" if key[1] <= 15 else "tf_keras"
    return "keras3" if key[0] == 3 else None


@cache
def _versions() -> dict[str, dict]:
    return dict(json.loads(_DATA.read_text())["versions"])


@dataclass(frozen=True, kw_only=True)
class Builtins:
    """The built-in layer names for one file, and which measured version they come from."""

    names: frozenset[str]
    version: str | None  # the data's version used; None: the union of all
    exact: bool

    def describe(self) -> str:
        if self.version is None:
            return "every measured Keras version's built-in classes (the file records no Keras version)"
        if self.exact:
            return f"the built-in classes of Keras {self.version}"
        return f"the built-in classes of Keras {self.version}, the nearest measured version"


@cache
def builtins_for(version: str | None) -> Builtins:
    data = _versions()
    if version in data:
        return Builtins(names=frozenset(data[version]["layers"]), version=version, exact=True)
    line = line_of(version)
    same = [v for v in data if line is not None and line_of(v) == line]
    if not same or version is None:
        names = frozenset(n for entry in data.values() for n in entry["layers"])
        return Builtins(names=names, version=None, exact=False)
    want = version_key(version) + (0, 0, 0)
    nearest = min(same, key=lambda v: (_distance(version_key(v) + (0, 0, 0), want), version_key(v)))
    return Builtins(names=frozenset(data[nearest]["layers"]), version=nearest, exact=False)


def _distance(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(abs(x - y) for x, y in zip(a[:3], b[:3], strict=True))


@cache
def non_modeling_apis() -> frozenset[str]:
    """Keras 3's own denylist of functions a config may not name (``NON_MODELING_APIS``, Keras 3.11+),
    from the newest measured Keras 3 that has one."""
    data = _versions()
    with_list = [v for v in data if data[v].get("non_modeling_apis")]
    if not with_list:
        return frozenset()
    newest = max(with_list, key=version_key)
    return frozenset(data[newest]["non_modeling_apis"])
