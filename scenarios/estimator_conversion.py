"""tf.keras.estimator.model_to_estimator on a model with a Lambda and a custom layer.

One step of training and a prediction run through the Estimator; the Estimator's
exported SavedModel is the artifact (an Estimator writes no .h5/.keras). The
model carries a plain Dense, a Lambda and a custom layer, so if conversion fails
the error names the layer.
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "004_bc4954ecb3d11f58.txt"
CLAIM = "model_to_estimator fails with custom and Lambda layers (ValueError during conversion)."
FIX = "Estimators are gone from TF 2.16: train the Keras model with model.fit (and tf.distribute) and serve its SavedModel."
ESTIMATOR = True


class SwishActivation(keras.layers.Layer):
    def call(self, inputs):
        return inputs * tf.math.sigmoid(inputs)


x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = np.ones((3, 1), dtype="float32")


def build():
    inputs = keras.Input(shape=(4,), name="features")
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    doubled = keras.layers.Lambda(lambda x: x * 2)(hidden)
    activated = SwishActivation()(doubled)
    outputs = keras.layers.Dense(1, name="out")(activated)
    return keras.Model(inputs, outputs)


# %% train

# %% serve

# %% rebuild
# The header's build() is all the model code the team keeps.
