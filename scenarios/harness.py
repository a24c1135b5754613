"""The harness that runs inside a target environment.

It runs with the target env's own interpreter (Python 3.7 - 3.13, TensorFlow 2.0 -
2.21) and imports nothing but the standard library, numpy, TensorFlow, Keras and
the scenario files. It never imports the orchestrator (``runner/``).

Two commands, both speaking JSON lines on the file descriptor that was stdout at
start (everything else the libraries print goes to stderr):

``save``
    For each scenario: run its *train* section (the notebook that builds, fits and
    saves) as a module named ``__main__``, fit one step, predict, and save in every
    format under ``OUT/<scenario>/``. Writes ``meta.json`` and ``ref.npz`` per
    scenario, then prints ``{"event": "saved", "scenario": ...}``.

``load``
    A worker: reads one JSON request per line from stdin (an artifact and a load
    option) and answers one JSON record per line. Before each load the scenario's
    *serve* section (what an inference service has: its imports, the custom
    classes it imports, the ``custom_objects`` it passes) runs as a fresh module
    installed as ``sys.modules["__main__"]``; the train section never runs in this
    process, so a Lambda's reference to a training-side global cannot resolve by
    accident (tf.keras resolves a Lambda's globals through
    ``sys.modules[config["module"]]``, and that module is ``__main__`` in a
    notebook).

A scenario file has a header (docstring, imports, code both sides share: the
model-building function and custom classes, as a shared module would hold them),
then a ``# %% train`` cell and a ``# %% serve`` cell.
"""

from __future__ import absolute_import, division, print_function

import hashlib
import inspect
import io
import json
import os
import re
import shutil
import sys
import time
import traceback
import types

FORMATS = ("h5", "keras", "savedmodel", "weights")
OPTIONS = ("default", "custom_objects", "registered", "safe_mode_off", "compile_off")
RTOL = 1e-5
ATOL = 1e-6
MAX_MESSAGE = 600
TRACEBACK_LINES = 12

# ---------------------------------------------------------------------------
# Protocol: JSON lines on the original stdout; the libraries' prints go to stderr.


def _open_protocol():
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return io.open(fd, "w", encoding="utf-8", buffering=1)


def _emit(stream, obj):
    stream.write(json.dumps(obj, sort_keys=True) + "\n")
    stream.flush()


# ---------------------------------------------------------------------------
# Errors: trimmed, with machine paths removed so signatures are stable.

_ROOTS = []  # (prefix, placeholder), longest first


def _add_root(path, placeholder):
    if path:
        _ROOTS.append((os.path.abspath(path), placeholder))
        _ROOTS.sort(key=lambda item: -len(item[0]))


_ABS_PATH = re.compile(r"(?<![\w<:/.])(/[\w.+-]+){2,}/?")  # not inside URLs
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


def clean(text):
    text = _ANSI.sub("", text)
    for prefix, placeholder in _ROOTS:
        text = text.replace(prefix, placeholder)
    text = _ABS_PATH.sub(lambda m: "<path>/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], text)
    return _ADDRESS.sub("0x…", text)


def error_info(exc):
    message = clean(str(exc)).strip()
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(lines).rstrip("\n").split("\n")[-TRACEBACK_LINES:]
    return {"type": type(exc).__name__, "message": message, "traceback": clean("\n".join(tail))}


class Unsupported(Exception):
    """This env has no such feature (an API, a format); not a failure of the model."""


def _unsupported(message):
    return {"type": "Unsupported", "message": message, "traceback": ""}


# ---------------------------------------------------------------------------
# Keras flavour of this env


def keras_module():
    """The Keras a user of this env gets: ``keras`` 3, else ``tf.keras``."""
    import tensorflow as tf

    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        try:
            import keras

            if str(getattr(keras, "__version__", "0")).startswith("3"):
                return keras
        except ImportError:
            pass
    return tf.keras


def is_keras3(keras):
    return str(getattr(keras, "__version__", "2")).startswith("3")


def env_facts():
    import numpy as np
    import tensorflow as tf

    keras = keras_module()
    return {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "tf": tf.__version__,
        "keras": str(getattr(keras, "__version__", tf.__version__)),
        "keras3": is_keras3(keras),
        "numpy": np.__version__,
    }


# ---------------------------------------------------------------------------
# Scenario files: header + "# %% train" + "# %% serve"

_CELL = re.compile(r"^# %% (train|serve)\s*$")


def scenario_source(path, side):
    """The scenario's source for one side, other cells blanked so line numbers hold."""
    with io.open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    keep = []
    cell = None
    for line in lines:
        match = _CELL.match(line)
        if match:
            cell = match.group(1)
        keep.append(line if cell in (None, side) else "")
    if "train" not in [(_CELL.match(l) or [None, None])[1] for l in lines]:
        raise ValueError("%s has no '# %%%% train' cell" % path)
    return "\n".join(keep)


def run_side(path, side, artifacts):
    """Execute one side of a scenario as a fresh module named ``__main__``.

    ``ARTIFACTS`` is the folder the scenario may keep files in (the hub module).
    """
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.ARTIFACTS = artifacts
    module.__dict__["__builtins__"] = __builtins__
    code = compile(scenario_source(path, side), path, "exec")
    exec(code, module.__dict__)
    return module


# ---------------------------------------------------------------------------
# Saving side


def _seed(keras):
    import numpy as np
    import tensorflow as tf

    np.random.seed(0)
    tf.random.set_seed(0)
    if is_keras3(keras):
        keras.utils.set_random_seed(0)


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


def artifact_name(fmt):
    return {"h5": "model.h5", "keras": "model.keras", "savedmodel": "savedmodel", "weights": "model.weights.h5"}[fmt]


def _save(model, fmt, path, keras):
    if fmt == "h5":
        model.save(path)
    elif fmt == "keras":
        model.save(path)
    elif fmt == "savedmodel":
        if is_keras3(keras):
            model.export(path)  # Keras 3 writes SavedModel only through export()
        else:
            model.save(path, save_format="tf")
    elif fmt == "weights":
        model.save_weights(path)


def _predict(model, x):
    import numpy as np

    return np.asarray(model.predict(x, batch_size=len(x), verbose=0))


def _fit(model, x, y):
    # "mean_squared_error", not "mse": Keras 3 cannot reload an .h5 whose compile
    # config says loss="mse" ("Could not locate function 'mse'"), which would mask
    # every pattern in every Keras 3 .h5 cell behind one compile-config error.
    model.compile(optimizer="sgd", loss="mean_squared_error")
    model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)


def _estimator_flow(mod, model, x, y, out_dir, keras):
    """``model_to_estimator``: train one step and predict through the Estimator."""
    import numpy as np
    import tensorflow as tf

    if not hasattr(tf.keras, "estimator") or not hasattr(tf.keras.estimator, "model_to_estimator"):
        raise Unsupported("tf.keras.estimator.model_to_estimator does not exist in this env")
    model.compile(optimizer="sgd", loss="mean_squared_error")
    try:
        est = tf.keras.estimator.model_to_estimator(keras_model=model, model_dir=os.path.join(out_dir, "estimator"))
    except NotImplementedError as exc:  # tf-keras >= 2.16 keeps the name but has no estimator behind it
        if "not available" in str(exc):
            raise Unsupported(str(exc))
        raise
    name = model.input_names[0]

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({name: x}, y)).batch(len(x))

    est.train(input_fn, steps=1)
    preds = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({name: x}).batch(len(x))))
    key = sorted(preds[0].keys())[0]
    return est, np.stack([p[key] for p in preds]), name


def save_scenario(path, out_dir, formats, keras):
    """Build, fit, predict and save one scenario; returns its meta dict."""
    import numpy as np

    meta = {"stages": {}, "formats": {}, "error": None, "outcome": "ok", "stage": "save", "facts": env_facts()}
    if os.path.exists(out_dir):  # left over by a save that crashed
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    _add_root(out_dir, "<artifacts>")
    stage = "build"
    try:
        start = time.time()
        _seed(keras)
        mod = run_side(path, "train", out_dir)
        x = np.asarray(mod.x)
        y = np.asarray(mod.y)
        model = mod.build()
        meta["stages"]["build_s"] = round(time.time() - start, 3)
        estimator = getattr(mod, "ESTIMATOR", False)
        stage = "fit"
        start = time.time()
        if estimator:
            est, reference, input_name = _estimator_flow(mod, model, x, y, out_dir, keras)
        else:
            _fit(model, x, y)
        meta["stages"]["fit_s"] = round(time.time() - start, 3)
        stage = "predict"
        start = time.time()
        if not estimator:
            reference = _predict(model, x)
        meta["stages"]["predict_s"] = round(time.time() - start, 3)
        np.savez(os.path.join(out_dir, "ref.npz"), x=x, y=reference)
        meta["ref_sha256"] = digest(os.path.join(out_dir, "ref.npz"))
    except Unsupported as exc:
        meta.update(outcome="unsupported", stage="build", error=error_info(exc))
        return meta
    except Exception as exc:  # noqa: BLE001 - any failure of user code is a finding
        meta.update(outcome="build_error", stage=stage, error=error_info(exc))
        return meta
    for fmt in formats:
        target = os.path.join(out_dir, artifact_name(fmt))
        start = time.time()
        entry = {"outcome": "ok", "error": None}
        try:
            if estimator:
                if fmt != "savedmodel":
                    raise Unsupported("an Estimator writes checkpoints and SavedModels, not %s" % fmt)
                import tensorflow as tf

                def serving_input_fn():
                    ph = tf.compat.v1.placeholder(tf.as_dtype(x.dtype), [None] + list(x.shape[1:]), name=input_name)
                    return tf.estimator.export.ServingInputReceiver({input_name: ph}, {input_name: ph})

                exported = est.export_saved_model(os.path.join(out_dir, "export"), serving_input_fn)
                if isinstance(exported, bytes):
                    exported = exported.decode()
                os.rename(exported, target)
            else:
                _save(model, fmt, target, keras)
        except Unsupported as exc:
            entry = {"outcome": "unsupported", "error": error_info(exc)}
        except Exception as exc:  # noqa: BLE001
            entry = {"outcome": "save_error", "error": error_info(exc)}
        entry["save_s"] = round(time.time() - start, 3)
        entry["written"] = written_kind(target)
        entry["sha256"] = digest(target) if entry["written"] != "nothing" else None
        meta["formats"][fmt] = entry
    return meta


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


def cmd_save(args, out):
    import tensorflow as tf  # noqa: F401 - imported once for the whole row

    keras = keras_module()
    _emit(out, {"event": "ready", "facts": env_facts()})
    for name in args.scenarios.split(","):
        path = os.path.join(args.scenario_dir, name + ".py")
        target = os.path.join(args.out, name)
        _emit(out, {"event": "start", "scenario": name})
        meta = save_scenario(path, target, args.formats.split(","), keras)
        with io.open(os.path.join(target, "meta.json.tmp"), "w", encoding="utf-8") as handle:
            handle.write(json.dumps(meta, sort_keys=True, indent=1))
        os.replace(os.path.join(target, "meta.json.tmp"), os.path.join(target, "meta.json"))
        _emit(out, {"event": "saved", "scenario": name, "outcome": meta["outcome"]})
        clear_session(keras)
    _emit(out, {"event": "done"})


# ---------------------------------------------------------------------------
# Loading side


def _kwargs_supported(func):
    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return set()


def clear_session(keras):
    """Reset Keras' global state (graph, layer-name counters) between models.

    Keras >= 3.3 also runs a full ``gc.collect()`` in ``clear_session()`` unless
    ``free_memory=False``: with TensorFlow's object graph in memory that took ~80% of a
    Keras 3 load worker's time (py-spy, tf2.21-k3.15). The state reset is what isolates
    one load from the next; Python's own collector still frees the cycles.
    """
    try:
        if "free_memory" in _kwargs_supported(keras.backend.clear_session):
            keras.backend.clear_session(free_memory=False)
        else:
            keras.backend.clear_session()
    except Exception:  # noqa: BLE001
        pass


def _snapshot_custom_objects(keras):
    try:
        table = keras.utils.get_custom_objects()
    except Exception:  # noqa: BLE001
        return None, None
    return table, dict(table)


def _restore_custom_objects(table, saved):
    if table is not None:
        table.clear()
        table.update(saved)


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


def load_one(req, keras, load_model_params):
    """Load one artifact with one option in this process; returns a record dict."""
    import numpy as np
    import tensorflow as tf

    record = {"outcome": "ok", "stage": "load", "error": None, "max_abs_diff": None, "durations": {}}
    fmt, option = req["format"], req["option"]
    art_dir = req["artifact_dir"]
    _add_root(os.path.dirname(os.path.dirname(art_dir)), "<artifacts>")
    target = os.path.join(art_dir, artifact_name(fmt))
    ref = np.load(os.path.join(art_dir, "ref.npz"))
    x, y_ref = ref["x"], ref["y"]
    k3 = is_keras3(keras)

    start = time.time()
    serve = run_side(req["scenario_file"], "serve", art_dir)
    custom = dict(getattr(serve, "CUSTOM_OBJECTS", {}) or {})
    estimator = getattr(serve, "ESTIMATOR", False)
    kwargs = {}
    if option == "custom_objects":
        if not custom:
            record.update(outcome="unsupported", error=_unsupported("the loading side declares no custom_objects"))
            return record
        kwargs["custom_objects"] = custom
    elif option == "registered":
        if not hasattr(serve, "register"):
            record.update(outcome="unsupported", error=_unsupported("the loading side registers no classes"))
            return record
    elif option == "safe_mode_off":
        if "safe_mode" not in load_model_params:
            record.update(outcome="unsupported", error=_unsupported("load_model has no safe_mode in this Keras"))
            return record
        kwargs["safe_mode"] = False
    elif option == "compile_off":
        kwargs["compile"] = False

    via_tfsm = fmt == "savedmodel" and (k3 or estimator)
    if (fmt == "weights" or via_tfsm) and option != "default":
        why = "weights are loaded into a model rebuilt from code" if fmt == "weights" else "SavedModels load through %s" % (
            "keras.layers.TFSMLayer" if k3 and not estimator else "tf.saved_model.load")
        record.update(outcome="unsupported", error=_unsupported("%s: no %s option" % (why, option)))
        return record

    saved_main = sys.modules.get("__main__")
    table, saved_objects = _snapshot_custom_objects(keras)
    sys.modules["__main__"] = serve
    try:
        if option == "registered":
            serve.register()
        try:
            if fmt == "weights":
                model = serve.build()
                model.load_weights(target)
                call = lambda: _predict(model, x)  # noqa: E731
            elif estimator:
                loaded = tf.saved_model.load(target)
                fn = loaded.signatures["serving_default"]
                name = sorted(fn.structured_input_signature[1].keys())[0]
                call = lambda: _outputs_of(fn(**{name: tf.constant(x)}))  # noqa: E731
            elif via_tfsm:
                try:
                    layer = keras.layers.TFSMLayer(target, call_endpoint="serve")  # what model.export() writes
                except ValueError as exc:
                    # A Keras 2 SavedModel has only "serving_default"; the error says to select another endpoint.
                    if "endpoint" not in str(exc):
                        raise
                    layer = keras.layers.TFSMLayer(target, call_endpoint="serving_default")
                call = lambda: _outputs_of(layer(tf.constant(x)))  # noqa: E731
            else:
                model = keras.models.load_model(target, **kwargs)
                call = lambda: _predict(model, x)  # noqa: E731
        except Exception as exc:  # noqa: BLE001
            record.update(outcome="load_error", error=error_info(exc))
            return record
        finally:
            record["durations"]["load_s"] = round(time.time() - start, 3)
        record["stage"] = "call"
        start = time.time()
        try:
            y = call()
        except Exception as exc:  # noqa: BLE001
            record.update(outcome="call_error", error=error_info(exc))
            return record
        finally:
            record["durations"]["call_s"] = round(time.time() - start, 3)
        record["stage"] = "compare"
        y = np.asarray(y)
        if y.shape != y_ref.shape:
            record.update(outcome="wrong_output", error={
                "type": "ShapeMismatch", "traceback": "",
                "message": "output shape %s, expected %s" % (list(y.shape), list(y_ref.shape))})
            return record
        diff = float(np.max(np.abs(y.astype("float64") - y_ref.astype("float64")))) if y.size else 0.0
        record["max_abs_diff"] = diff
        if not np.allclose(y, y_ref, rtol=RTOL, atol=ATOL):
            record.update(outcome="wrong_output", error={
                "type": "OutputMismatch", "traceback": "",
                "message": "max |loaded - original| = %.6g (rtol=%g, atol=%g)" % (diff, RTOL, ATOL)})
        return record
    finally:
        sys.modules["__main__"] = saved_main
        _restore_custom_objects(table, saved_objects)
        clear_session(keras)


def cmd_load(args, out):
    import tensorflow as tf  # noqa: F401 - imported once per worker

    keras = keras_module()
    params = _kwargs_supported(keras.models.load_model)
    _emit(out, {"event": "ready", "facts": env_facts()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        _emit(out, {"event": "begin", "id": req["id"]})
        try:
            record = load_one(req, keras, params)
        except Exception as exc:  # noqa: BLE001 - a harness-level failure is still one cell's outcome
            record = {"outcome": "load_error", "stage": "load", "error": error_info(exc), "max_abs_diff": None,
                      "durations": {}}
        record["id"] = req["id"]
        record["event"] = "record"
        _emit(out, record)


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    save = sub.add_parser("save")
    save.add_argument("--scenario-dir", required=True)
    save.add_argument("--out", required=True)
    save.add_argument("--scenarios", required=True)
    save.add_argument("--formats", default=",".join(FORMATS))
    load = sub.add_parser("load")
    load.add_argument("--scenario-dir", required=True)
    sub.add_parser("facts")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = _open_protocol()
    _add_root(sys.prefix, "<env>")
    _add_root(os.path.expanduser("~"), "~")
    if args.command == "save":
        _add_root(args.scenario_dir, "<scenarios>")
        cmd_save(args, out)
    elif args.command == "load":
        _add_root(args.scenario_dir, "<scenarios>")
        cmd_load(args, out)
    elif args.command == "facts":
        _emit(out, env_facts())
    return 0


if __name__ == "__main__":
    sys.exit(main())
