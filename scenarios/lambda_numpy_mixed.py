"""A Lambda whose function mixes np.sin and tf.reduce_mean.

``complex_operation`` from the Estimator article, used here in a plain model.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "004_bc4954ecb3d11f58.txt"
CLAIM = "Mixing NumPy and TensorFlow in a Lambda breaks serialization with a ValueError."
FIX = "Write the function with TensorFlow ops only (tf.math.sin) in a subclassed layer."

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = np.ones((3, 1), dtype="float32")


def complex_operation(x):
    return np.sin(x) * tf.reduce_mean(x)


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    mixed = keras.layers.Lambda(complex_operation)(hidden)
    outputs = keras.layers.Dense(1, name="out")(mixed)
    return keras.Model(inputs, outputs)


# %% train

# %% serve
CUSTOM_OBJECTS = {"complex_operation": complex_operation}

# %% rebuild
# The header's build() is all the model code the team keeps.
