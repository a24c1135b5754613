"""What the page covers: the newest releases it measured, and the newer ones it has not.

Asked of the package index when a run ends (runner/run/index.py, the same client as
``keras-compat discover``) and written into results.json (``coverage``), so the page and
MATRIX.md can say on the day a release ships that they have no answer for it yet. An index
that cannot be reached is one line in ``coverage.error``; the run goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from runner.core.vocab import PACKAGE_LABELS as PACKAGES

from .index import Fetch, IndexClient, PackageIndexError, fetch_index, index_url, release_key

ALIASES = {"tensorflow-cpu": "tensorflow", "tf_keras": "tf-keras"}  # a row pinning tensorflow-cpu measures TF


def measured(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """The newest version of each package in the locks of the rows that were built."""
    newest: dict[str, str] = {}
    for row in rows:
        for name, version in ((row.get("lock") or {}).get("packages") or {}).items():
            package = ALIASES.get(name.lower(), name.lower())
            if package in PACKAGES and (package not in newest or release_key(version) > release_key(newest[package])):
                newest[package] = version
    return newest


def coverage(rows: Iterable[dict[str, Any]], asked: str, fetch: Fetch | None = None, url: str | None = None) -> dict:
    """``{"asked", "index", "error", "packages": [{"package", "measured", "released", "newer": [...]}]}``."""
    have = measured(rows)
    url = url or index_url()
    out: dict[str, Any] = {"asked": asked, "index": url, "error": None, "packages": []}
    index = None
    if fetch is None and os.environ.get("KC_OFFLINE") == "1":
        out["error"] = "not asked (KC_OFFLINE=1)"
    else:
        try:
            index = fetch_index(list(have), fetch or IndexClient(url, timeout=20.0, retries=1), url, asked)
        except PackageIndexError as exc:
            out["error"] = str(exc)
    for package in PACKAGES:
        if package not in have:
            continue
        version = have[package]
        release = index.get(package, version) if index else None
        newer = [
            {"version": r.version, "released": r.uploaded or None}
            for r in (index.usable(package) if index else [])
            if release_key(r.version) > release_key(version)
        ]
        out["packages"].append(
            {
                "package": package,
                "measured": version,
                "released": release.uploaded if release and release.uploaded else None,
                "newer": newer,
            }
        )
    return out
