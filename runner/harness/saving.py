"""The saving side: build, fit one step, predict, save in every format.

Runs in a child of the row's warmed-up interpreter (or a fresh one): the train
cell's globals, registrations and layer-name counters never reach the next scenario.
"""

import hashlib
import io
import json
import os
import shutil
import time

from . import common, scenario
from .calls import estimator_flow, export_estimator, fit, predict, save_model
from .protocol import artifact_name


def written_kind(path):
    if not os.path.exists(path):
        return "nothing"
    if os.path.isdir(path):
        return "savedmodel_dir" if os.path.exists(os.path.join(path, "saved_model.pb")) else "directory"
    with io.open(path, "rb") as handle:
        magic = handle.read(8)
    if magic.startswith(b"\x89HDF"):
        return "hdf5"
    if magic.startswith(b"PK"):
        return "zip"
    return "file"


def digest(path):
    """Content hash of a file or a directory tree (byte-identical artifacts load once)."""
    h = hashlib.sha256()
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                h.update(os.path.relpath(full, path).encode())
                with io.open(full, "rb") as handle:
                    h.update(handle.read())
    else:
        with io.open(path, "rb") as handle:
            h.update(handle.read())
    return h.hexdigest()


def array_digest(*arrays):
    """Hash of array values (not of a file: .npz, .h5 and .keras files carry save times)."""
    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


def save_scenario(path, out_dir, formats, keras):
    """Build, fit, predict and save one scenario; returns its meta dict."""
    meta = {"stages": {}, "formats": {}, "error": None, "outcome": "ok", "stage": "save",
            "facts": common.env_facts(keras)}
    if os.path.exists(out_dir):  # left over by a save that crashed
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    common.add_root(out_dir, "<artifacts>")
    cwd = os.getcwd()
    if scenario.is_canary(path):
        os.chdir(out_dir)  # a canary's graph may write a relative path when it runs (fit, predict): keep it here
    try:
        return _save_in(path, out_dir, formats, keras, meta)
    finally:
        os.chdir(cwd)


def _save_in(path, out_dir, formats, keras, meta):
    import numpy as np

    stage = "build"
    try:
        start = time.time()
        common.seed(keras)
        mod = scenario.run_side(path, "train", out_dir)
        x = np.asarray(mod.x)
        y = np.asarray(mod.y)
        model = mod.build()
        meta["stages"]["build_s"] = round(time.time() - start, 3)
        estimator = getattr(mod, "ESTIMATOR", False)
        stage = "fit"
        start = time.time()
        if estimator:
            est, reference, input_name = estimator_flow(model, x, y, out_dir)
        else:
            fit(model, x, y)
        meta["stages"]["fit_s"] = round(time.time() - start, 3)
        stage = "predict"
        start = time.time()
        if not estimator:
            reference = predict(model, x)
            meta["weights_sha256"] = array_digest(*model.get_weights())
        meta["stages"]["predict_s"] = round(time.time() - start, 3)
        np.savez(os.path.join(out_dir, "ref.npz"), x=x, y=reference)
        meta["ref_sha256"] = array_digest(x, reference)
    except common.Unsupported as exc:
        meta.update(outcome="unsupported", stage="build", error=common.error_info(exc))
        return meta
    except Exception as exc:  # noqa: BLE001 - any failure of user code is a finding
        meta.update(outcome="build_error", stage=stage, error=common.error_info(exc))
        return meta
    for fmt in formats:
        target = os.path.join(out_dir, artifact_name(fmt))
        start = time.time()
        entry = {"outcome": "ok", "error": None}
        try:
            if estimator:
                if fmt != "savedmodel":
                    raise common.Unsupported("an Estimator writes checkpoints and SavedModels, not %s" % fmt)
                export_estimator(est, x, input_name, target)
            else:
                save_model(model, fmt, target, keras)
                craft(mod, fmt, target, model)
        except common.Unsupported as exc:
            entry = {"outcome": "unsupported", "error": common.error_info(exc)}
            remove(target)  # nothing of a vector that cannot exist here is left to be loaded
        except Exception as exc:  # noqa: BLE001
            entry = {"outcome": "save_error", "error": common.error_info(exc)}
        entry["save_s"] = round(time.time() - start, 3)
        entry["written"] = written_kind(target)
        entry["sha256"] = digest(target) if entry["written"] != "nothing" else None
        meta["formats"][fmt] = entry
    return meta


def craft(mod, fmt, target, model):
    """A canary's ``craft(fmt, path, model)``: rewrite the artifact the real save just wrote.

    Most code-on-load vectors cannot be written by a real save (a duplicate zip member, a pickle posing as
    the weights, a config naming ``os.system``): the scenario rewrites the real file the way the published
    files and advisories describe, with what the env has (zipfile, json, numpy, h5py; the helpers are in
    runner/harness/crafting.py). It raises ``common.Unsupported`` where the vector cannot exist (no
    ``.keras`` zip before TF 2.13, no Keras 3 config before Keras 3.0).
    """
    func = getattr(mod, "craft", None)
    if func is not None:
        func(fmt, target, model)


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.unlink(path)


def save_request(req, keras):
    """One scenario's save: writes ``meta.json`` into ``req["out"]``; returns the record."""
    meta = save_scenario(req["scenario_file"], req["out"], req["formats"], keras)
    tmp = os.path.join(req["out"], "meta.json.tmp")
    with io.open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(meta, sort_keys=True, indent=1))
    os.replace(tmp, os.path.join(req["out"], "meta.json"))
    return {"outcome": meta["outcome"], "stage": meta.get("stage"), "error": meta.get("error")}
