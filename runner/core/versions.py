"""Version strings: the one parser every part of keras-compat uses.

``"2.16.1"`` -> ``(2, 16, 1)``; ``"2.2.4-tf"`` (TF 2.0's bundled Keras) -> ``(2, 2, 4)``;
``"2.16.0rc1"`` -> ``(2, 16, 0)``. Ranges and row ids speak in minor releases: ``"2.16"``.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\d+")


def version_key(version: str) -> tuple[int, ...]:
    """The numeric parts (at most four) before any pre-release tag, for sorting and comparing."""
    return tuple(int(part) for part in _NUMBER.findall(version.split("rc")[0])[:4])


def minor(version: str) -> str:
    """``"2.16.1"`` -> ``"2.16"``; a string with no numbers is returned as it is."""
    return ".".join(str(p) for p in version_key(version)[:2]) or version
