"""A Lambda's stored bytecode: the canary writes a marker whenever it runs, so "does loading run stored code?" is measured.

A Lambda layer keeps its function as bytecode in the file. This one writes a line to
the file named by ``$KC_CANARY`` (the harness sets it for each load, in a scratch folder
of that request) using builtins only, so it runs wherever the stored bytecode runs,
whatever the loading side defines. The records say whether it ran during ``load_model``
and whether it ran at the first call (``code_ran``).
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "000_0d9a4bd23d5734f6.txt"
CLAIM = "Disabling safe mode opens the system to arbitrary code execution."
FIX = "Load only files you trust; keep code out of the file: a subclassed layer with get_config (see subclass_with_config)."
CANARY = True

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


# %% train

# %% serve

# %% rebuild
# The header's build() is all the model code the team keeps.
