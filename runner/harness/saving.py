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


def save_model(model, fmt, path, keras):
    if fmt in ("h5", "keras"):
        model.save(path)
    elif fmt == "savedmodel":
        if common.is_keras3(keras):
            model.export(path)  # Keras 3 writes SavedModel only through export()
        else:
            model.save(path, save_format="tf")
    elif fmt == "weights":
        model.save_weights(path)


def predict(model, x):
    import numpy as np

    return np.asarray(model.predict(x, batch_size=len(x), verbose=0))


def fit(model, x, y):
    # "mean_squared_error", not "mse": Keras 3 cannot reload an .h5 whose compile
    # config says loss="mse" ("Could not locate function 'mse'"), which would mask
    # every pattern in every Keras 3 .h5 cell behind one compile-config error.
    model.compile(optimizer="sgd", loss="mean_squared_error")
    model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)


def _estimator_flow(model, x, y, out_dir):
    """``model_to_estimator``: train one step and predict through the Estimator."""
    import numpy as np
    import tensorflow as tf

    if not hasattr(tf.keras, "estimator") or not hasattr(tf.keras.estimator, "model_to_estimator"):
        raise common.Unsupported("tf.keras.estimator.model_to_estimator does not exist in this env")
    model.compile(optimizer="sgd", loss="mean_squared_error")
    try:
        est = tf.keras.estimator.model_to_estimator(keras_model=model, model_dir=os.path.join(out_dir, "estimator"))
    except NotImplementedError as exc:  # tf-keras >= 2.16 keeps the name but has no estimator behind it
        if "not available" in str(exc):
            raise common.Unsupported(str(exc))
        raise
    name = model.input_names[0]

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({name: x}, y)).batch(len(x))

    est.train(input_fn, steps=1)
    preds = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({name: x}).batch(len(x))))
    key = sorted(preds[0].keys())[0]
    return est, np.stack([p[key] for p in preds]), name


def _export_estimator(est, x, input_name, target):
    import tensorflow as tf

    def serving_input_fn():
        ph = tf.compat.v1.placeholder(tf.as_dtype(x.dtype), [None] + list(x.shape[1:]), name=input_name)
        return tf.estimator.export.ServingInputReceiver({input_name: ph}, {input_name: ph})

    exported = est.export_saved_model(os.path.join(os.path.dirname(target), "export"), serving_input_fn)
    if isinstance(exported, bytes):
        exported = exported.decode()
    os.rename(exported, target)


def save_scenario(path, out_dir, formats, keras):
    """Build, fit, predict and save one scenario; returns its meta dict."""
    import numpy as np

    meta = {"stages": {}, "formats": {}, "error": None, "outcome": "ok", "stage": "save",
            "facts": common.env_facts(keras)}
    if os.path.exists(out_dir):  # left over by a save that crashed
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    common.add_root(out_dir, "<artifacts>")
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
            est, reference, input_name = _estimator_flow(model, x, y, out_dir)
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
                _export_estimator(est, x, input_name, target)
            else:
                save_model(model, fmt, target, keras)
        except common.Unsupported as exc:
            entry = {"outcome": "unsupported", "error": common.error_info(exc)}
        except Exception as exc:  # noqa: BLE001
            entry = {"outcome": "save_error", "error": common.error_info(exc)}
        entry["save_s"] = round(time.time() - start, 3)
        entry["written"] = written_kind(target)
        entry["sha256"] = digest(target) if entry["written"] != "nothing" else None
        meta["formats"][fmt] = entry
    return meta


def save_request(req, keras):
    """One scenario's save: writes ``meta.json`` into ``req["out"]``; returns the record."""
    meta = save_scenario(req["scenario_file"], req["out"], req["formats"], keras)
    tmp = os.path.join(req["out"], "meta.json.tmp")
    with io.open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(meta, sort_keys=True, indent=1))
    os.replace(tmp, os.path.join(req["out"], "meta.json"))
    return {"outcome": meta["outcome"], "stage": meta.get("stage"), "error": meta.get("error")}
