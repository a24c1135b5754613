"""A lookup layer whose vocabulary is a file path outside the archive: the load reads whatever it names.

StringLookup(vocabulary="path") reads the file when the layer is made, and its config keeps the path, so
rebuilding the model from a config reads a file the config chose (the file's lines become tokens). The
crafted config adds such a layer, named by no node, with the relative path "kc-bait.txt": the load's
working directory holds that file beside the marker, and the harness sees whether it is read (inotify:
TensorFlow reads it in C++). .h5 files and .keras files (zip, or HDF5 before TF 2.13) alike.
"""
import json

import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://github.com/keras-team/keras/blob/v3.15.0/keras/src/layers/preprocessing/index_lookup.py"
CLAIM = "A layer that reads a file named in its config (a lookup layer's vocabulary path) reads it while the model loads."
FIX = "Keep vocabularies inside the model (a list, saved as an asset); check the paths in a file's config before loading it."
CANARY = True
# What a vector does depends on the Keras that loads it, not the one that wrote it: each env loads the file
# it crafted itself (the vector table), not other envs' copies.
PAIRS = "same"

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x * 3.0


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    return keras.Model(inputs, keras.layers.Dense(4, name="out")(hidden))


def lookup_class():
    layers = keras.layers
    found = getattr(layers, "StringLookup", None) or getattr(
        getattr(getattr(layers, "experimental", None), "preprocessing", None), "StringLookup", None)
    if found is None:
        raise crafting.Unsupported("this Keras has no StringLookup layer (added in TF 2.4)")
    return found


def craft(fmt, path, model):
    kind = crafting.require_model_file(fmt, path)
    if kind == "zip":
        config = crafting.zip_config(path)
    else:
        import h5py

        with h5py.File(path, "r") as handle:
            text = handle.attrs["model_config"]
        config = json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    layers = crafting.model_layers(config)
    entry = crafting.layer_entry(lookup_class()(vocabulary=["a", "b"], name="kc_lookup"), like=layers[0])
    entry["config"]["vocabulary"] = crafting.BAIT  # relative: read from the load's working directory
    layers.append(entry)
    if kind == "zip":
        crafting.write_zip_config(path, config)
    else:
        with h5py.File(path, "a") as handle:
            handle.attrs["model_config"] = json.dumps(config).encode("utf-8")


# %% train

# %% serve

# %% rebuild
