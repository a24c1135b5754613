"""Lambda(lambda x: x[:, t, :]) closing over a module-level ``t``.

The training notebook defines ``t``; the inference service does not. A Lambda
stores its bytecode, not the globals it reads, so ``t`` must come from somewhere
at load time (the loading module's globals or ``custom_objects``).
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "003_a0d10364f25ce6f5.txt"
CLAIM = "Loading a Lambda that reads an outer variable fails with NameError: name 't' is not defined."
FIX = "Pass the value as a layer argument: a subclassed layer with get_config (see subclass_with_config), or Lambda(..., arguments={'t': 1})."

x = np.linspace(-1.0, 1.0, 36, dtype="float32").reshape(3, 3, 4)
y = np.ones((3, 2), dtype="float32")


def build():
    inputs = keras.Input(shape=(3, 4))
    sliced = keras.layers.Lambda(lambda x: x[:, t, :])(inputs)  # noqa: F821 - t is the notebook's global
    outputs = keras.layers.Dense(2, name="dense")(sliced)
    return keras.Model(inputs, outputs)


# %% train
t = 1

# %% serve
# The service does not define t; custom_objects is where a user would put it.
CUSTOM_OBJECTS = {"t": 1}

# %% rebuild
# The model's code reads the notebook's t: the team keeps it with the code.
t = 1
