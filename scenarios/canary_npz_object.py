"""An object-dtype array in a .keras zip's model.weights.npz: np.load(allow_pickle=True) unpickles it.

Keras's own npz weights store keeps each layer's variables as a pickled dict (an object array), so it
reads the member with allow_pickle=True (Keras 3.0-3.8, the Keras 2 .keras format, tf-keras up to 2.19).
Here the array under "__root__", the first path the store reads, holds an object whose pickle calls
os.system. The model is plain Dense layers; the zip keeps no HDF5 weights member (that one is preferred).
"""
import io

import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://github.com/keras-team/keras/blob/v3.8.0/keras/src/saving/saving_lib.py"
CLAIM = "An object array in model.weights.npz is unpickled by a plain load_model in Keras 3.0-3.8, whatever safe_mode says (fixed in 3.9.0)."
FIX = "Load only files you trust, in a sandbox (keras-compat check --sandbox); Keras >= 3.9 and tf-keras >= 2.20 refuse object arrays."
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


def craft(fmt, path, model):
    crafting.require_zip(fmt, path)
    kept = [(name, data) for name, data in crafting.members(path) if name != "model.weights.h5"]
    weights = io.BytesIO()
    np.savez(weights, __root__=np.array([crafting.SystemPayload()], dtype=object))
    crafting.write_zip(path, kept + [("model.weights.npz", weights.getvalue())])


# %% train

# %% serve

# %% rebuild
