"""Lambda(lambda y: tf.math.pow(y, 2)): a Lambda calling a TensorFlow op.

The lambda's bytecode names the global ``tf``; on load it must be found in the
namespace Keras rebuilds the function in.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "002_3e5b7dc6c5aa62e0.txt"
CLAIM = "A model with Lambda(lambda y: tf.math.pow(y, 2)) saved to .h5 fails to load with 'Unknown layer: Lambda'."
FIX = "Replace the Lambda with PowerLayer(power) that has get_config (see subclass_with_config)."

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x ** 2


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = keras.layers.Lambda(lambda y: tf.math.pow(y, 2))(hidden)
    return keras.Model(inputs, outputs)


# %% train

# %% serve

# %% rebuild
# The header's build() is all the model code the team keeps.
