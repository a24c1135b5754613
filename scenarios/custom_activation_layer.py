"""A SwishActivation layer: x * sigmoid(x), no constructor arguments.

From the Estimator article's first example, used here in a plain model.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "004_bc4954ecb3d11f58.txt"
CLAIM = "A custom activation layer may fail to serialize because its definition cannot be captured."
FIX = "Load with custom_objects={'SwishActivation': SwishActivation}, or use the built-in keras.activations.swish."


class SwishActivation(keras.layers.Layer):
    def call(self, inputs):
        return inputs * tf.math.sigmoid(inputs)


x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = np.ones((3, 1), dtype="float32")


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    activated = SwishActivation()(hidden)
    outputs = keras.layers.Dense(1, name="out")(activated)
    return keras.Model(inputs, outputs)


# %% train

# %% serve
CUSTOM_OBJECTS = {"SwishActivation": SwishActivation}

# %% rebuild
# The header's build() is all the model code the team keeps.
