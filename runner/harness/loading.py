"""The loading side: the serve cell, one load with one option, one call, one comparison.

Each load runs in a process of its own (a forked child, or a fresh interpreter), so
nothing a load leaves behind (custom objects leaked into a Keras module, registered
classes, a half-built graph) reaches another load.
"""

import hashlib
import io
import os
import shutil
import tempfile
import time

from . import common, scenario
from .calls import loader
from .observe import observe
from .protocol import ATOL, LOAD_MODEL_CALLS, OPTIONS, RTOL, artifact_name, calls_for


def not_applicable(fmt, option, declares, keras3, load_model_params, written=None):
    """Why ``option`` does not apply to this artifact in this env, or None.

    Decided without running anything (``declares`` comes from the serve cell's syntax
    tree, ``written`` from the save's meta), so the warmed-up parent answers these itself.
    """
    if option not in OPTIONS:
        raise ValueError("unknown load option %r (known: %s)" % (option, ", ".join(OPTIONS)))
    if option not in calls_for(fmt, written):
        if fmt == "weights":
            return "a weights file is read by load_weights into the model rebuilt from code, not by %s" % option
        return "%s does not read %s" % (option, "what this save wrote (%s)" % (written or "unknown"))
    if option in ("custom_objects", "custom_objects_unsafe") and not declares["custom_objects"]:
        return "the loading side declares no custom_objects"
    if option == "registered" and not declares["register"]:
        return "the loading side registers no classes"
    if option == "compile_off" and "compile" not in load_model_params:
        return "load_model has no compile keyword in this Keras"
    if option in ("safe_mode_off", "custom_objects_unsafe") and "safe_mode" not in load_model_params:
        return "load_model has no safe_mode in this Keras"
    if option == "tfsm_layer" and not keras3:
        return "keras.layers.TFSMLayer exists only in Keras 3"
    if keras3 and written == "savedmodel_dir" and option in LOAD_MODEL_CALLS and option != "default":
        # keras/src/saving/saving_api.py load_model: a path that is neither .keras nor .h5 raises
        # "File format not supported" before any keyword is read; the plain call measures it.
        return "Keras 3's load_model reads only .keras and .h5 files: no keyword makes it read a SavedModel"
    return None


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


def damaged(art_dir, expected):
    """Why the artifact is not the one its manifest names (a file missing or changed), or None.

    The files a load reads are checked before it reads them: a finding must never rest on a
    half-written or altered artifact (runner/run/artifacts.py writes the manifest)."""
    for rel, sha in sorted(expected.items()):
        path = os.path.join(art_dir, rel)
        try:
            with io.open(path, "rb") as handle:
                h = hashlib.sha256()
                for block in iter(lambda: handle.read(1 << 20), b""):
                    h.update(block)
        except (IOError, OSError):
            return "%s is missing" % rel
        if h.hexdigest() != sha:
            return "%s changed since it was saved" % rel
    return None


def load_request(req, keras, load_model_params):
    """Make one load call on one artifact in this process, call the model, compare; returns a record dict."""
    import numpy as np

    record = {"outcome": "ok", "stage": "load", "error": None, "max_abs_diff": None, "durations": {},
              "tolerance": {"rtol": RTOL, "atol": ATOL}}
    fmt, option = req["format"], req["option"]
    art_dir = req["artifact_dir"]
    common.add_root(os.path.dirname(os.path.dirname(art_dir)), "<artifacts>")
    why = damaged(art_dir, req.get("verify") or {})
    if why is not None:  # not a finding: the orchestrator saves the scenario again and asks again
        record.update(outcome="load_error", artifact_damaged=True,
                      error={"type": "ArtifactDamaged", "message": why, "traceback": ""})
        return record
    target = private_copy(art_dir, fmt, req.get("scratch") or tempfile.gettempdir())
    ref = np.load(os.path.join(art_dir, "ref.npz"))
    x, y_ref = ref["x"], ref["y"]

    start = time.time()
    observer = None
    made = common.Made()
    try:
        # load_weights rebuilds the model from the code the team keeps (the rebuild cell); every other
        # call runs beside the service's code (the serve cell)
        side = scenario.run_side(req["scenario_file"], "rebuild" if option == "load_weights" else "serve", art_dir)
        observer = observe(side, _request_root(target), target)
        _, call = loader(option, side, target, keras, load_model_params, made)
    except common.Unsupported as exc:
        record.update(outcome="unsupported", error=common.unsupported(str(exc)))
        if observer is not None:
            observer.finish(record)
        return record
    except Exception as exc:  # noqa: BLE001 - the serve cell or the load failed: this cell's finding
        record.update(outcome="load_error", error=common.error_info(exc))
        if observer is not None:
            observer.finish(record)
        return record
    finally:
        record["durations"]["load_s"] = round(time.time() - start, 3)
        if made.get("call"):
            record["call"] = made["call"]
    record["stage"] = "call"
    start = time.time()
    try:
        if observer is not None:
            observer.next_phase()
        y = np.asarray(call(x))
    except Exception as exc:  # noqa: BLE001
        record.update(outcome="call_error", error=common.error_info(exc))
        return record
    finally:
        record["durations"]["call_s"] = round(time.time() - start, 3)
        if observer is not None:
            observer.finish(record)
    record["stage"] = "compare"
    record["max_abs_diff"], error = compare(y, y_ref)
    if error is not None:
        record.update(outcome="wrong_output", error=error)
    return record


def _request_root(target):
    """The request's own folder (loading.private_copy): ``<root>/<row>/<scenario>/<artifact>``."""
    return os.path.dirname(os.path.dirname(os.path.dirname(target)))


class _NoServeFile(object):
    """``check`` without ``--serve``: the loading side declares no custom objects and registers nothing."""


def _input_specs(model):
    """``[(name, shape, dtype)]`` of a model's inputs (tf.keras and Keras 3 alike), or None when unknown."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None
    specs = []
    for i, tensor in enumerate(inputs):
        shape = getattr(tensor, "shape", None)
        if shape is None:
            return None
        dims = list(shape.as_list()) if hasattr(shape, "as_list") else list(shape)
        name = str(getattr(tensor, "name", "") or "input_%d" % i).split(":")[0]
        dtype = getattr(tensor, "dtype", "float32")
        specs.append((name, dims, str(getattr(dtype, "name", dtype))))
    return specs


def _input_for(model_or_layer, x_path):
    """What to call a user's model on: ``--input`` (a .npy for one input, a .npz with one array per input
    name), or seeded data of each input's shape (2 samples; an unknown dimension as 4)."""
    import numpy as np

    specs = _input_specs(model_or_layer)
    if x_path and x_path.endswith(".npz"):
        with np.load(x_path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        if specs is None or len(specs) == 1:
            if len(arrays) != 1 and specs is None:
                raise common.Unsupported("--input has arrays %s; this call takes one input" % sorted(arrays))
            return arrays[specs[0][0]] if specs and specs[0][0] in arrays else next(iter(arrays.values()))
        missing = [name for name, _, _ in specs if name not in arrays]
        if missing:
            raise common.Unsupported("--input has no array for input(s) %s (it has %s)" % (missing, sorted(arrays)))
        return [arrays[name] for name, _, _ in specs]
    if x_path:
        return np.load(x_path, allow_pickle=False)
    if specs is None:
        raise common.Unsupported("the model's inputs are unknown here: pass --input FILE.npy (one input) or "
                                 "FILE.npz (one array per input name)")
    rng = np.random.RandomState(0)
    arrays = []
    for _, dims, dtype in specs:
        shape = [2] + [d if d else 4 for d in dims[1:]]
        if "string" in dtype:
            arrays.append(np.array(["seeded input %d" % i for i in range(int(np.prod(shape)))]).reshape(shape))
        elif "int" in dtype:
            arrays.append(rng.randint(0, 4, size=shape).astype(dtype))
        else:
            arrays.append(rng.rand(*shape).astype("float32"))
    return arrays[0] if len(arrays) == 1 else arrays


def check_request(req, keras, load_model_params):
    """Make one load call on a user's model (a private copy), call it, and write the output beside the
    request's ``out`` path; the comparison between environments is the orchestrator's."""
    import numpy as np

    record = {"outcome": "ok", "stage": "load", "error": None, "max_abs_diff": None, "durations": {},
              "tolerance": {"rtol": RTOL, "atol": ATOL}}
    source = req["model"]
    root = tempfile.mkdtemp(prefix="check-", dir=req.get("scratch") or tempfile.gettempdir())
    os.makedirs(os.path.join(root, "model"))
    target = os.path.join(root, "model", os.path.basename(source.rstrip("/")))
    (shutil.copytree if os.path.isdir(source) else shutil.copy2)(source, target)
    common.add_root(root, "<model>")
    start = time.time()
    made = common.Made()
    observer = None
    try:
        if req.get("serve_file"):
            common.add_scenario_path(req["serve_file"])  # the team's own loading code
        serve = scenario.run_module(req["serve_file"]) if req.get("serve_file") else _NoServeFile
        option = req["option"]
        if option == "load_weights":
            raise common.Unsupported("keras-compat check has no code to rebuild the model from")
        declares = {"custom_objects": bool(getattr(serve, "CUSTOM_OBJECTS", None)),
                    "register": hasattr(serve, "register"), "estimator": False}
        why = not_applicable("model", option, declares, common.is_keras3(keras), load_model_params, req.get("written"))
        if why is not None:
            raise common.Unsupported(why)
        observer = observe(serve, root, target, always=True)  # a file you do not trust: every call is watched
        model, call = loader(option, serve, target, keras, load_model_params, made)
    except common.Unsupported as exc:
        record.update(outcome="unsupported", error=common.unsupported(str(exc)))
        if observer is not None:
            observer.finish(record)
        return record
    except Exception as exc:  # noqa: BLE001 - the load failed: this environment's finding
        record.update(outcome="load_error", error=common.error_info(exc))
        if observer is not None:
            observer.finish(record)
        return record
    finally:
        record["durations"]["load_s"] = round(time.time() - start, 3)
        if made.get("call"):
            record["call"] = made["call"]
    record["stage"] = "call"
    start = time.time()
    try:
        observer.next_phase()
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
        observer.finish(record)
    np.save(req["out"], y.astype("float64"), allow_pickle=False)
    record["output"] = req["out"]
    return record
