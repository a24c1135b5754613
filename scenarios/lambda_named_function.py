"""Lambda(l_slice) with a module-level named function instead of a lambda.

The article's "closure layer" fix for the pickling error. The service imports
``l_slice``; it loads without and with ``custom_objects={"l_slice": l_slice}``.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "003_a0d10364f25ce6f5.txt"
CLAIM = "Loading fails with NameError or 'str is not callable' unless custom_objects={'l_slice': ...} is passed."
FIX = "Pass custom_objects={'l_slice': l_slice}, or use a subclassed layer with get_config (see subclass_with_config)."

x = np.linspace(-1.0, 1.0, 36, dtype="float32").reshape(3, 3, 4)
y = np.ones((3, 2), dtype="float32")


def l_slice(vec):
    return vec[:, 1, :]


def build():
    inputs = keras.Input(shape=(3, 4))
    sliced = keras.layers.Lambda(l_slice)(inputs)
    outputs = keras.layers.Dense(2, name="dense")(sliced)
    return keras.Model(inputs, outputs)


# %% train

# %% serve
CUSTOM_OBJECTS = {"l_slice": l_slice}

# %% rebuild
# The header's build() is all the model code the team keeps.
