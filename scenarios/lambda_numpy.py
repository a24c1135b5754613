"""Lambda(lambda x: np.tanh(x)): a numpy call inside a Lambda.

The article says loading "may fail if numpy isn't in the loading environment";
numpy is always there, the question is whether np.tanh works on symbolic tensors.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "001_77cc7cee5b85fa15.txt"
CLAIM = "A Lambda calling np.tanh saves, and loading may fail only where numpy is missing."
FIX = "Use the TensorFlow op (tf.math.tanh, or keras.activations.tanh) instead of numpy."

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = np.tanh(x)


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = keras.layers.Lambda(lambda x: np.tanh(x))(hidden)
    return keras.Model(inputs, outputs)


# %% train

# %% serve

# %% rebuild
# The header's build() is all the model code the team keeps.
