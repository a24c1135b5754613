"""The closure over ``t`` loaded by a service whose own ``t`` has another value.

In a notebook and in a service script the Lambda's module is ``__main__``, so on
load the service's ``t = 2`` is read instead of the notebook's ``t = 1``: the
model loads and silently computes something else.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "003_a0d10364f25ce6f5.txt"
CLAIM = "A Lambda closing over t = 1 computes x[:, 1, :] after loading (the article assumes t is fixed at save time)."
FIX = "Never read globals in a Lambda: pass t as a layer argument (Lambda(..., arguments={'t': 1}) or a subclassed layer with get_config)."

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
t = 2  # the service's own t, unrelated to the model
CUSTOM_OBJECTS = {"t": 1}

# %% rebuild
# The model's code reads the notebook's t: the team keeps it with the code.
t = 1
