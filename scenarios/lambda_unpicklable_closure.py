"""A Lambda closing over an object that holds a lock.

The "can't pickle _thread.lock objects" report: the lambda is a real closure
(made inside a function), so the object is in its closure cell, and anything
that deep-copies or pickles the layer meets the lock.
"""
import threading

import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "003_a0d10364f25ce6f5.txt"
CLAIM = "model.save fails with \"can't pickle _thread.lock objects\" (a deep copy of the lambda fails)."
FIX = "Keep objects out of the Lambda: pass plain numbers as layer arguments (see subclass_with_config)."

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x * 3.0


class Scaler(object):
    def __init__(self, factor):
        self.factor = factor
        self.lock = threading.Lock()


def scaling_lambda(scaler):
    return keras.layers.Lambda(lambda x: x * scaler.factor)


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = scaling_lambda(Scaler(3.0))(hidden)
    return keras.Model(inputs, outputs)


# %% train

# %% serve

# %% rebuild
# The header's build() is all the model code the team keeps.
