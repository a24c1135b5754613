"""Two Lambda models in one service: another model, with its own custom_objects, is loaded first.

An inference service often loads several models in one process. Both models read
a global ``t`` from a Lambda; the service loads the other model first with
custom_objects={"t": 2}, then this one with custom_objects={"t": 1} (or with no
options at all). Whether this load sees the other model's ``t`` depends on whether
Keras keeps custom_objects to the call they were passed to.
"""
import os

import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "003_a0d10364f25ce6f5.txt"
CLAIM = "custom_objects apply to the load_model call they are passed to: the service passes {'t': 1} for this model."
FIX = "Pass the value as a layer argument (Lambda(..., arguments={'t': 1}) or a subclassed layer with get_config): then no load reads a global that another load may have set."

x = np.linspace(-1.0, 1.0, 36, dtype="float32").reshape(3, 3, 4)
y = np.ones((3, 2), dtype="float32")


def build():
    inputs = keras.Input(shape=(3, 4))
    sliced = keras.layers.Lambda(lambda x: x[:, t, :])(inputs)  # noqa: F821 - t is the notebook's global
    outputs = keras.layers.Dense(2, name="dense")(sliced)
    return keras.Model(inputs, outputs)


def build_other():
    inputs = keras.Input(shape=(3, 4))
    return keras.Model(inputs, keras.layers.Lambda(lambda x: x[:, t, :] * 2.0)(inputs))  # noqa: F821


# %% train
t = 1
try:
    build_other().save(os.path.join(ARTIFACTS, "other_model.h5"))  # noqa: F821
except Exception:  # a Keras that cannot write it: the service below then has no other model
    pass

# %% serve
# The service loads its other model first, with that model's own custom_objects...
try:
    other = keras.models.load_model(os.path.join(ARTIFACTS, "other_model.h5"),  # noqa: F821
                                    custom_objects={"t": 2}, compile=False)
except Exception:  # missing, or refused (Keras 3's safe mode): nothing was loaded before this model
    other = None
# ...then this one, passing its own value.
CUSTOM_OBJECTS = {"t": 1}

# %% rebuild
# The model's code reads the notebook's t: the team keeps it with the code.
t = 1
