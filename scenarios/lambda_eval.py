"""Lambda(eval("lambda x: x + 5")): a Lambda built from a string at run time.

The function has no source file; Keras stores its bytecode like any lambda.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "001_77cc7cee5b85fa15.txt"
CLAIM = "A Lambda made with eval is a 'likely failure' when the model is loaded."
FIX = "Write the function in code (a subclassed layer) instead of eval."

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x + 5.0


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = keras.layers.Lambda(eval("lambda x: x + 5"))(hidden)
    return keras.Model(inputs, outputs)


# %% train

# %% serve

# %% rebuild
# The header's build() is all the model code the team keeps.
