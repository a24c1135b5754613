"""A Lambda nested in an inner Sequential: a scanner that reads only the top-level layers misses it.

modelscan's Keras check reads config["layers"] of the top-level model only (issue 22); here the Lambda
is the only layer of a Sequential inside a Functional model, saved by a real save. Whether the load
runs its bytecode is Keras's safe_mode question, as for a top-level Lambda. It appends the phase to
$KC_CANARY whenever it runs.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "https://github.com/protectai/modelscan/blob/main/modelscan/scanners/keras/scan.py"
CLAIM = "modelscan reports no issue for a Lambda nested in a wrapper or a submodel, which still loads and runs."
FIX = "Scan every nested config (keras-compat scan); keep code out of the file: a subclassed layer with get_config."
CANARY = True
# What a vector does depends on the Keras that loads it, not the one that wrote it: each env loads the file
# it crafted itself (the vector table), not other envs' copies.
PAIRS = "same"

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x * 3.0


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    inner = keras.Sequential([
        keras.layers.Lambda(
            lambda v: [
                __import__("os").environ.get("KC_CANARY")
                and open(__import__("os").environ["KC_CANARY"], "a").write(
                    __import__("os").environ.get("KC_CANARY_PHASE", "?") + "\n"),
                v,
            ][1]
        )
    ], name="inner")
    return keras.Model(inputs, inner(hidden))


# %% train

# %% serve

# %% rebuild
