"""Lambda(lambda x: x * 2): the simplest Lambda layer.

The articles say a model with this layer fails to load from .h5 with
"Unknown layer: Lambda" unless the loader is told about it.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "002_3e5b7dc6c5aa62e0.txt"
CLAIM = "A model with Lambda(lambda x: x * 2) saved to .h5 fails to load with 'Unknown layer: Lambda'."
FIX = "Replace the Lambda with a subclassed layer that has get_config (see subclass_with_config)."

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x * 3.0


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = keras.layers.Lambda(lambda x: x * 2)(hidden)
    return keras.Model(inputs, outputs)


# %% train

# %% serve

# %% rebuild
# The header's build() is all the model code the team keeps.
