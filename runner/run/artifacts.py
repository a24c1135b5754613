"""Where a run's saved models live: one folder per (env, lock, harness) and scenario version.

``<work>/artifacts/<row>-<lock hash>-<harness hash>/<scenario>-<scenario hash>`` is a
symlink to the folder the harness saved into (``_staging/<scenario>``), with the
save's ``meta.json`` (formats written, weight and reference digests, errors, mode).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .backends import Env
from .catalog import Scenario


def read_meta(directory: Path) -> dict | None:
    try:
        return json.loads((directory / "meta.json").read_text())
    except (OSError, ValueError):
        return None


class Artifacts:
    def __init__(self, work: Path, scenarios: dict[str, Scenario], harness_hash: str) -> None:
        self.work = work
        self.scenarios = scenarios
        self.harness_hash = harness_hash

    def root(self, env: Env) -> Path:
        return self.work / "artifacts" / f"{env.row_id}-{env.lock_hash[:10]}-{self.harness_hash[:8]}"

    def dir(self, env: Env, sc: str) -> Path:
        return self.root(env) / f"{sc}-{self.scenarios[sc].hash[:10]}"

    def staging(self, env: Env, pending: list[str]) -> Path:
        """The folder the harness saves ``pending`` scenarios into; older versions of them are unlinked first."""
        root = self.root(env)
        root.mkdir(parents=True, exist_ok=True)
        for sc in pending:  # older versions of a scenario about to be re-saved point at the same folder
            for stale in root.glob(f"{sc}-*"):
                if stale.is_symlink():
                    stale.unlink()
        return root / "_staging"

    def adopt(self, staged: Path, env: Env, sc: str, mode: str | None = None) -> dict:
        """Link a finished save in as this scenario version's artifact; its meta (with ``mode``) is returned."""
        # The artifact stays where the harness wrote it: a saved model may hold absolute paths into
        # its folder (a hub.KerasLayer stores its module's path), so moving it would break the model.
        # The scenario-versioned name is a symlink to it.
        final = self.dir(env, sc)
        if final.is_symlink() or final.is_file():
            final.unlink()
        elif final.exists():
            shutil.rmtree(final)
        final.symlink_to(staged.relative_to(final.parent) if staged.is_relative_to(final.parent) else staged)
        missing = {"type": "MissingMeta", "message": "meta.json missing", "traceback": ""}
        meta = read_meta(final)
        if meta is None:
            return {"outcome": "crash", "stage": "save", "formats": {}, "error": missing, "mode": mode}
        meta["mode"] = mode  # how the save was measured, kept with the artifact for later runs
        (staged / "meta.json").write_text(json.dumps(meta, sort_keys=True, indent=1))
        return meta


def no_artifact(meta: dict, fmt: str) -> dict | None:
    """The record fields every option of a cell gets when its save left no artifact in ``fmt``
    (the build failed, the save failed, the format is unsupported); None when the artifact exists."""
    fmeta = meta.get("formats", {}).get(fmt)
    if meta["outcome"] == "ok" and fmeta is not None and fmeta["outcome"] == "ok":
        return None
    if meta["outcome"] != "ok" or fmeta is None:
        outcome = {"ok": "build_error"}.get(meta["outcome"], meta["outcome"])
        fields = {
            "outcome": outcome,
            "stage": meta.get("stage", "build"),
            "error": meta.get("error"),
            "durations": dict(meta.get("stages", {})),
            "mode": meta.get("mode"),
        }
    else:
        fields = {
            "outcome": fmeta["outcome"],
            "stage": "save",
            "written": fmeta.get("written"),
            "error": fmeta.get("error"),
            "durations": {"save_s": fmeta.get("save_s")},
            "mode": meta.get("mode"),
        }
    return fields
