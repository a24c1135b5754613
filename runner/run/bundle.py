"""A save job's artifacts for load jobs: ``run --stage save`` writes one, ``run --stage load`` reads them.

A bundle is a folder: ``artifacts/`` (the save job's ``<work>/artifacts/<row>-<lock>-<harness>/``
folders, each scenario's artifact with its manifest) and ``saves.json``: the harness that saved them,
the work folder they were saved in, each row as the save job built it (its lock and lock hash) and
each scenario's artifact digest. A load job takes the rows' locks from there instead of building
their envs, so it builds only its own load rows. It refuses a bundle of another harness or other
scenario sources (its artifacts are not what this code would save), and a work folder other than the
one the artifacts were saved in (a saved model may hold absolute paths into it: a hub layer's module).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from runner.core.errors import KerasCompatError

from .artifacts import Artifacts, verify
from .backends import Env
from .catalog import Scenario
from .collect import row_entry
from .state import RunResult

BUNDLE = "saves.json"
VERSION = 1


class BundleError(KerasCompatError):
    """A save job's folder that a load job cannot use (one line: what is wrong, and what to run)."""


def write_bundle(out: Path, result: RunResult, artifacts: Artifacts, work: Path) -> Path:
    """The save job's artifacts and ``saves.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    saves: dict[str, dict[str, str | None]] = {}
    rows = []
    for run in result.rows:
        if run.env is None:
            rows.append(row_entry(run))
            continue
        root = artifacts.root(run.env)
        if root.exists():
            shutil.copytree(root, out / "artifacts" / root.name, dirs_exist_ok=True, symlinks=True)
        saves[run.row.id] = {sc: verify(artifacts.dir(run.env, sc)) for sc in artifacts.scenarios}
        rows.append(row_entry(run))
    data = {
        "version": VERSION,
        "harness": artifacts.harness_hash,
        "work": str(work.resolve()),
        "scenarios": {sc: s.hash for sc, s in artifacts.scenarios.items()},
        "rows": rows,
        "saves": saves,
    }
    path = out / BUNDLE
    path.write_text(json.dumps(data, sort_keys=True, indent=1), encoding="utf-8")
    return path


def _read(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / BUNDLE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(
            f"--artifacts {folder}: no {BUNDLE}: pass the folder `run --stage save --out` wrote"
        ) from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"--artifacts {folder}/{BUNDLE}: not readable ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise BundleError(f"--artifacts {folder}/{BUNDLE}: not a version {VERSION} bundle: run its save job again")
    return data


def read_bundles(
    folders: list[Path], work: Path, artifacts: Artifacts, scenarios: dict[str, Scenario]
) -> tuple[dict[str, Env], dict[str, str]]:
    """The save rows the bundles hold, as envs (their locks; nothing built), with their artifacts put in
    ``work``; and the rows whose env the save job could not build, with its one-line reason."""
    envs: dict[str, Env] = {}
    errors: dict[str, str] = {}
    for folder in folders:
        data = _read(folder)
        if data["harness"] != artifacts.harness_hash:
            raise BundleError(
                f"--artifacts {folder}: saved by another version of the harness (runner/harness): "
                "run the save jobs again with this checkout"
            )
        stale = sorted(sc for sc, h in data["scenarios"].items() if sc in scenarios and scenarios[sc].hash != h)
        if stale:
            raise BundleError(f"--artifacts {folder}: scenario {stale[0]} changed since it was saved: save it again")
        if Path(data["work"]) != work.resolve():
            raise BundleError(
                f"--artifacts {folder}: saved in --work {data['work']}; load with the same --work (saved models "
                "hold absolute paths into it, a hub layer's module)"
            )
        source = folder / "artifacts"
        if source.exists():
            shutil.copytree(source, work / "artifacts", dirs_exist_ok=True, symlinks=True)
        for row in data["rows"]:
            if row["status"] != "ok" or not row.get("lock"):
                errors[row["id"]] = row.get("error") or "the save job could not build this env"
                continue
            envs[row["id"]] = Env(
                row_id=row["id"],
                python=Path("/nonexistent/saved-by-a-save-job/python"),
                env_vars=dict(row.get("env_vars") or {}),
                lock=row["lock"],
                lock_hash=row["lock_hash"],
                build_s=0.0,
                reused=True,
            )
    return envs, {k: v for k, v in errors.items() if k not in envs}
