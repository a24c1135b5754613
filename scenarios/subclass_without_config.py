"""A layer with constructor arguments and no get_config.

Keras cannot rebuild the layer from its config because there is none.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "002_3e5b7dc6c5aa62e0.txt"
CLAIM = "A custom layer must implement get_config for the model to save and load (the article's ScaleLayer adds it)."
FIX = "Add get_config returning the constructor arguments (see subclass_with_config)."


class ScaleNoConfig(keras.layers.Layer):
    def __init__(self, factor, **kwargs):
        super(ScaleNoConfig, self).__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor


x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x * 3.0


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = ScaleNoConfig(3.0)(hidden)
    return keras.Model(inputs, outputs)


# %% train

# %% serve
CUSTOM_OBJECTS = {"ScaleNoConfig": ScaleNoConfig}

# %% rebuild
# The header's build() is all the model code the team keeps.
