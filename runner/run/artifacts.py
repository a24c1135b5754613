"""Where a run's saved models live, complete or absent.

``<work>/artifacts/<row>-<lock hash>-<harness hash>/<scenario>-<scenario hash>/`` is the folder
the harness saves into (in place: a saved model may hold absolute paths into its folder, a
hub.KerasLayer stores its module's path, so it is never moved). When the save's child has
answered, the orchestrator writes ``manifest.json`` last: every file of the folder with its
size and sha256, and one digest over them, the artifact's identity (every record loaded from
it carries it as ``artifact``). A folder without a manifest that verifies is not an artifact:
a save that crashed, was stopped or was damaged later. It is removed and saved again, never
loaded. Each load verifies the files it reads against the manifest first
(runner/harness/loading.py), so a file that changes during a run is caught too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from runner.harness.protocol import ARTIFACT_NAMES

from .backends import Env
from .catalog import Scenario

MANIFEST = "manifest.json"
META = "meta.json"
_NOT_CONTENT = {MANIFEST}


def read_meta(directory: Path) -> dict | None:
    try:
        return json.loads((directory / META).read_text())
    except (OSError, ValueError):
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(folder: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if rel not in _NOT_CONTENT:
                out[rel] = [path.stat().st_size, _sha256(path)]
    return out


def manifest_digest(files: dict[str, list]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def write_manifest(folder: Path) -> str:
    """Write ``manifest.json`` (atomically, last) and return the artifact's digest."""
    files = _files(folder)
    digest = manifest_digest(files)
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"version": 1, "digest": digest, "files": files}, sort_keys=True, indent=1))
    os.replace(tmp, folder / MANIFEST)
    return digest


def read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        return manifest if isinstance(manifest.get("files"), dict) and manifest.get("digest") else None
    except (OSError, ValueError, AttributeError):
        return None


def verify(folder: Path) -> str | None:
    """The artifact's digest when every file of its manifest is there unchanged (and no other), else None."""
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    try:
        files = _files(folder)
    except OSError:
        return None
    if files != manifest["files"] or manifest_digest(files) != manifest["digest"]:
        return None
    return manifest["digest"]


def reads_of(manifest: dict, fmt: str) -> dict[str, str]:
    """The files a load of ``fmt`` reads, with their sha256: the format's artifact, the reference
    outputs and what the scenario keeps beside them (a hub module), not the other formats' files."""
    others = [name for f, name in ARTIFACT_NAMES.items() if f != fmt]
    out = {}
    for rel, (_, sha) in manifest["files"].items():
        top = rel.split("/", 1)[0]
        if top in others or rel == META:
            continue
        out[rel] = sha
    return out


class Artifacts:
    def __init__(self, work: Path, scenarios: dict[str, Scenario], harness_hash: str) -> None:
        self.work = work
        self.scenarios = scenarios
        self.harness_hash = harness_hash

    def root(self, env: Env) -> Path:
        return self.work / "artifacts" / f"{env.row_id}-{env.lock_hash[:10]}-{self.harness_hash[:8]}"

    def dir(self, env: Env, sc: str) -> Path:
        return self.root(env) / f"{sc}-{self.scenarios[sc].hash[:10]}"

    def complete(self, env: Env, sc: str) -> tuple[dict, str] | None:
        """``(meta, digest)`` of a complete, verified artifact from an earlier run, else None."""
        folder = self.dir(env, sc)
        digest = verify(folder)
        meta = read_meta(folder) if digest else None
        return (meta, digest) if meta is not None and digest is not None else None

    def fresh_folder(self, env: Env, sc: str) -> Path:
        """An empty folder to save ``sc`` into: whatever an unfinished or damaged save left there is removed."""
        folder = self.dir(env, sc)
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
        elif folder.exists():
            shutil.rmtree(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        return folder

    def adopt(self, folder: Path, mode: str | None = None) -> tuple[dict, str]:
        """A finished save: its meta (with how it was measured) and, written last, its manifest."""
        meta = read_meta(folder)
        if meta is None:
            missing = {"type": "MissingMeta", "message": "meta.json missing", "traceback": ""}
            meta = {"outcome": "crash", "stage": "save", "formats": {}, "error": missing}
        meta["mode"] = mode  # how the save was measured, kept with the artifact for later runs
        (folder / META).write_text(json.dumps(meta, sort_keys=True, indent=1))
        return meta, write_manifest(folder)

    def forget(self, env: Env, sc: str) -> None:
        """A damaged artifact is no artifact: its manifest goes, so it is saved again."""
        try:
            (self.dir(env, sc) / MANIFEST).unlink()
        except OSError:
            pass


def no_artifact(meta: dict, fmt: str) -> dict | None:
    """The record fields of a cell whose save left no artifact in ``fmt`` (the build failed, the save
    failed, the format is unsupported); None when the artifact exists."""
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
