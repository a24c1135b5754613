"""A Lambda calling an outer layer object: Lambda(lambda x: encoder(x)).

The TF-Hub article's pattern without the hub: the encoder is a global of the
notebook, its weights live outside the model, and the service recreates it and
passes it in ``custom_objects``.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "000_0d9a4bd23d5734f6.txt"
CLAIM = "Loading fails with NameError: name 'encoder' is not defined, even when the service passes the encoder in custom_objects."
FIX = "Use the encoder as a layer of the model (encoder(inputs)), not inside a Lambda, so its config and weights are saved."

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = np.ones((3, 2), dtype="float32")


def build():
    inputs = keras.Input(shape=(4,))
    encoded = keras.layers.Lambda(lambda x: encoder(x))(inputs)  # noqa: F821 - encoder is the notebook's global
    outputs = keras.layers.Dense(2, name="dense")(encoded)
    return keras.Model(inputs, outputs)


# %% train
encoder = keras.layers.Dense(4, name="encoder")

# %% serve
# The service recreates the encoder (fresh weights) and passes it explicitly.
CUSTOM_OBJECTS = {"encoder": keras.layers.Dense(4, name="encoder")}

# %% rebuild
# The model's code closes over the notebook's encoder layer: the team recreates it (its weights
# come from the file only if the model tracks the layer).
encoder = keras.layers.Dense(4, name="encoder")
