"""The loading side: the serve cell, one load with one option, one call, one comparison.

Each load runs in a process of its own (a forked child, or a fresh interpreter), so
nothing a load leaves behind (custom objects leaked into a Keras module, registered
classes, a half-built graph) reaches another load.
"""

import os
import shutil
import tempfile
import time

from . import common, scenario
from .protocol import ATOL, OPTIONS, RTOL, artifact_name


def _outputs_of(value):
    import numpy as np

    if isinstance(value, dict):
        value = [value[k] for k in sorted(value)]
        value = value[0] if len(value) == 1 else value
    if isinstance(value, (list, tuple)):
        value = value[0]
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value)


def not_applicable(fmt, option, declares, keras3, load_model_params):
    """Why ``option`` does not apply to this artifact in this env, or None.

    Decided without running anything (``declares`` comes from the serve cell's syntax
    tree), so the warmed-up parent answers these itself.
    """
    if option not in OPTIONS:
        raise ValueError("unknown load option %r (known: %s)" % (option, ", ".join(OPTIONS)))
    if option == "custom_objects" and not declares["custom_objects"]:
        return "the loading side declares no custom_objects"
    if option == "registered" and not declares["register"]:
        return "the loading side registers no classes"
    if option == "safe_mode_off" and "safe_mode" not in load_model_params:
        return "load_model has no safe_mode in this Keras"
    estimator = declares["estimator"]
    via_tfsm = fmt == "savedmodel" and (keras3 or estimator)
    if (fmt == "weights" or via_tfsm) and option != "default":
        why = "weights are loaded into a model rebuilt from code" if fmt == "weights" else \
            "SavedModels load through %s" % ("keras.layers.TFSMLayer" if keras3 and not estimator
                                             else "tf.saved_model.load")
        return "%s: no %s option" % (why, option)
    return None


def _load_kwargs(option, serve, load_model_params):
    """``load_model`` keyword arguments for one option; Unsupported when it does not apply."""
    if option == "custom_objects":
        custom = dict(getattr(serve, "CUSTOM_OBJECTS", {}) or {})
        if not custom:
            raise common.Unsupported("the loading side declares no custom_objects")
        return {"custom_objects": custom}
    if option == "registered":
        if not hasattr(serve, "register"):
            raise common.Unsupported("the loading side registers no classes")
        serve.register()
        return {}
    if option == "safe_mode_off":
        if "safe_mode" not in load_model_params:
            raise common.Unsupported("load_model has no safe_mode in this Keras")
        return {"safe_mode": False}
    if option == "compile_off":
        return {"compile": False}
    return {}


def loader(fmt, serve, target, kwargs, keras, x):
    """Load the artifact the way a user of this env would; returns a function that calls it."""
    import tensorflow as tf

    from .saving import predict

    estimator = getattr(serve, "ESTIMATOR", False)
    if fmt == "weights":
        model = serve.build()
        model.load_weights(target)
        return lambda: predict(model, x)
    if estimator and fmt == "savedmodel":
        loaded = tf.saved_model.load(target)
        fn = loaded.signatures["serving_default"]
        name = sorted(fn.structured_input_signature[1].keys())[0]
        return lambda: _outputs_of(fn(**{name: tf.constant(x)}))
    if fmt == "savedmodel" and common.is_keras3(keras):
        try:
            layer = keras.layers.TFSMLayer(target, call_endpoint="serve")  # what model.export() writes
        except ValueError as exc:
            # A Keras 2 SavedModel has only "serving_default"; the error says to select another endpoint.
            if "endpoint" not in str(exc):
                raise
            layer = keras.layers.TFSMLayer(target, call_endpoint="serving_default")
        return lambda: _outputs_of(layer(tf.constant(x)))
    model = keras.models.load_model(target, **kwargs)
    return lambda: predict(model, x)


def private_copy(art_dir, fmt, scratch):
    """The artifact copied to a folder of this request's own, under the same row/scenario names.

    A load may change the folder it loads from: Keras 3.4's ``load_model("d/model.keras")``
    extracts its weights to ``d/model.weights.h5`` and then deletes that file, which is the
    weights artifact saved beside it (measured; Keras 3.15 does not). Loading a copy keeps
    every load independent of the loads before it. The serve cell's ``ARTIFACTS`` stays the
    saved folder (a hub layer's module is read, never written).
    """
    root = tempfile.mkdtemp(prefix="load-", dir=scratch)
    folder = os.path.join(root, os.path.basename(os.path.dirname(art_dir)), os.path.basename(art_dir))
    os.makedirs(folder)
    name = artifact_name(fmt)
    source = os.path.join(art_dir, name)
    if os.path.isdir(source):
        shutil.copytree(source, os.path.join(folder, name))
    elif os.path.exists(source):
        shutil.copy2(source, os.path.join(folder, name))
    common.add_root(root, "<artifacts>")
    return os.path.join(folder, name)


def _canary_start(serve, target):
    """For a canary scenario (``CANARY = True``): the file its stored code writes to when it runs."""
    if not getattr(serve, "CANARY", False):
        return None
    path = os.path.join(os.path.dirname(os.path.dirname(target)), "canary.txt")
    os.environ["KC_CANARY"] = path
    os.environ["KC_CANARY_PHASE"] = "load"
    return path


def _canary_read(path, record):
    """``code_ran``: whether the stored code ran during the load and during the first call."""
    if path is None:
        return
    phases = set()
    if os.path.exists(path):
        with open(path) as handle:
            phases = set(handle.read().split())
    record["code_ran"] = {"load": "load" in phases, "call": "call" in phases}


def compare(y, y_ref, reference="original"):
    """``(max |y - y_ref|, error or None)``: outputs are equal within RTOL/ATOL and of the same shape.

    The one comparison rule: a matrix load against the saved model's outputs (``reference``
    "original"), and ``keras-compat check`` against the env the file was saved in.
    """
    import numpy as np

    y, y_ref = np.asarray(y), np.asarray(y_ref)
    if y.shape != y_ref.shape:
        where = "" if reference == "original" else " (in %s)" % reference
        return None, {"type": "ShapeMismatch", "traceback": "",
                      "message": "output shape %s, expected %s%s" % (list(y.shape), list(y_ref.shape), where)}
    diff = float(np.max(np.abs(y.astype("float64") - y_ref.astype("float64")))) if y.size else 0.0
    if np.allclose(y, y_ref, rtol=RTOL, atol=ATOL):
        return diff, None
    return diff, {"type": "OutputMismatch", "traceback": "",
                  "message": "max |loaded - %s| = %.6g (rtol=%g, atol=%g)" % (reference, diff, RTOL, ATOL)}


def load_request(req, keras, load_model_params):
    """Load one artifact with one option in this process; returns a record dict."""
    import numpy as np

    record = {"outcome": "ok", "stage": "load", "error": None, "max_abs_diff": None, "durations": {},
              "tolerance": {"rtol": RTOL, "atol": ATOL}}
    fmt, option = req["format"], req["option"]
    art_dir = req["artifact_dir"]
    common.add_root(os.path.dirname(os.path.dirname(art_dir)), "<artifacts>")
    target = private_copy(art_dir, fmt, req.get("scratch") or tempfile.gettempdir())
    ref = np.load(os.path.join(art_dir, "ref.npz"))
    x, y_ref = ref["x"], ref["y"]

    start = time.time()
    canary = None
    try:
        serve = scenario.run_side(req["scenario_file"], "serve", art_dir)
        canary = _canary_start(serve, target)
        call = loader(fmt, serve, target, _load_kwargs(option, serve, load_model_params), keras, x)
    except common.Unsupported as exc:
        record.update(outcome="unsupported", error=common.unsupported(str(exc)))
        return record
    except Exception as exc:  # noqa: BLE001 - the serve cell or the load failed: this cell's finding
        record.update(outcome="load_error", error=common.error_info(exc))
        _canary_read(canary, record)
        return record
    finally:
        record["durations"]["load_s"] = round(time.time() - start, 3)
    record["stage"] = "call"
    start = time.time()
    try:
        if canary:
            os.environ["KC_CANARY_PHASE"] = "call"
        y = np.asarray(call())
    except Exception as exc:  # noqa: BLE001
        record.update(outcome="call_error", error=common.error_info(exc))
        return record
    finally:
        record["durations"]["call_s"] = round(time.time() - start, 3)
        _canary_read(canary, record)
    record["stage"] = "compare"
    record["max_abs_diff"], error = compare(y, y_ref)
    if error is not None:
        record.update(outcome="wrong_output", error=error)
    return record
    diff = float(np.max(np.abs(y.astype("float64") - y_ref.astype("float64")))) if y.size else 0.0
    record["max_abs_diff"] = diff
    if not np.allclose(y, y_ref, rtol=RTOL, atol=ATOL):
        record.update(outcome="wrong_output", error={
            "type": "OutputMismatch", "traceback": "",
            "message": "max |loaded - original| = %.6g (rtol=%g, atol=%g)" % (diff, RTOL, ATOL)})
    return record


class _NoServeFile(object):
    """``check`` without ``--serve``: the loading side declares no custom objects and registers nothing."""


def _input_for(model_or_layer, x_path):
    """The input to call a user's model on: the given .npy, or seeded data of the model's input shape."""
    import numpy as np

    if x_path:
        return np.load(x_path, allow_pickle=False)
    shape = getattr(model_or_layer, "input_shape", None)
    if isinstance(shape, list):
        raise common.Unsupported("the model has several inputs: pass --input FILE.npy")
    if shape is None:
        raise common.Unsupported("the model's input shape is unknown here: pass --input FILE.npy")
    dims = [2] + [d if d else 4 for d in list(shape)[1:]]
    return np.random.RandomState(0).rand(*dims).astype("float32")


def check_request(req, keras, load_model_params):
    """Load a user's model (a private copy) with one option, call it, and write the output beside the
    request's ``out`` path; the comparison between environments is the orchestrator's."""
    import numpy as np

    from .saving import predict

    record = {"outcome": "ok", "stage": "load", "error": None, "max_abs_diff": None, "durations": {},
              "tolerance": {"rtol": RTOL, "atol": ATOL}}
    source = req["model"]
    root = tempfile.mkdtemp(prefix="check-", dir=req.get("scratch") or tempfile.gettempdir())
    target = os.path.join(root, os.path.basename(source.rstrip("/")))
    (shutil.copytree if os.path.isdir(source) else shutil.copy2)(source, target)
    common.add_root(root, "<model>")
    start = time.time()
    try:
        serve = scenario.run_module(req["serve_file"]) if req.get("serve_file") else _NoServeFile
        kwargs = _load_kwargs(req["option"], serve, load_model_params)
        if os.path.isdir(target) and common.is_keras3(keras):
            model = keras.layers.TFSMLayer(target, call_endpoint="serving_default")
            call = lambda x: _outputs_of(model(x))  # noqa: E731
        else:
            model = keras.models.load_model(target, **kwargs)
            call = lambda x: predict(model, x)  # noqa: E731
    except common.Unsupported as exc:
        record.update(outcome="unsupported", error=common.unsupported(str(exc)))
        return record
    except Exception as exc:  # noqa: BLE001 - the load failed: this environment's finding
        record.update(outcome="load_error", error=common.error_info(exc))
        return record
    finally:
        record["durations"]["load_s"] = round(time.time() - start, 3)
    record["stage"] = "call"
    start = time.time()
    try:
        x = _input_for(model, req.get("input"))
        y = np.asarray(call(x))
    except common.Unsupported as exc:
        record.update(outcome="unsupported", error=common.unsupported(str(exc)))
        return record
    except Exception as exc:  # noqa: BLE001
        record.update(outcome="call_error", error=common.error_info(exc))
        return record
    finally:
        record["durations"]["call_s"] = round(time.time() - start, 3)
    np.save(req["out"], y.astype("float64"), allow_pickle=False)
    record["output"] = req["out"]
    return record
