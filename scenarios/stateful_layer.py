"""A layer holding a tf.Variable counter: does the state survive saving?

The Estimator article's StatefulLambda, changed in one way so the comparison
measures the state and not the number of calls: the counter counts training
steps only, and the output is x * (1 + counter). After one fit step the counter
is 1; a load that loses it computes x * 1 instead of x * 2.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "004_bc4954ecb3d11f58.txt"
CLAIM = "A layer with internal state (a tf.Variable counter) does not convert or serialize cleanly."
FIX = "Keep state in weights created with add_weight(trainable=False) so every format saves it."


class Counter(keras.layers.Layer):
    def __init__(self, **kwargs):
        super(Counter, self).__init__(**kwargs)
        self.counter = tf.Variable(0.0, trainable=False, name="counter")

    def call(self, inputs, training=None):
        if training:
            self.counter.assign_add(1.0)
        return inputs * (1.0 + self.counter)


x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x * 2.0


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = Counter(name="counter")(hidden)
    return keras.Model(inputs, outputs)


# %% train

# %% serve
CUSTOM_OBJECTS = {"Counter": Counter}

# %% rebuild
# The header's build() is all the model code the team keeps.
