"""The same hub.KerasLayer passed straight into Sequential.

The article's fix: the hub layer is a first-class layer of the model, loaded
with custom_objects={"KerasLayer": hub.KerasLayer}.
"""
import os

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

keras = tf.keras

SOURCE = "000_0d9a4bd23d5734f6.txt"
CLAIM = "With the hub layer directly in the model, load_model(..., custom_objects={'KerasLayer': hub.KerasLayer}) works."
FIX = "Load with custom_objects={'KerasLayer': hub.KerasLayer}; on Keras 3 keep hub models on tf-keras (TF_USE_LEGACY_KERAS=1)."

x = np.array(["route this ticket", "refund please", "password reset"])
y = np.array([[1.0], [0.0], [1.0]], dtype="float32")


def make_hub_module(path):
    """A tiny text embedding: hash each string into a 64 x 4 table.

    A model holding a hub.KerasLayer stores this module's absolute path (its
    ``handle``): the module must stay where it was saved for the model to load.
    """
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path

    class Embed(tf.Module):
        def __init__(self):
            super(Embed, self).__init__()
            self.table = tf.Variable(tf.reshape(tf.range(256, dtype=tf.float32) / 256.0, (64, 4)))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, text):
            return tf.nn.embedding_lookup(self.table, tf.strings.to_hash_bucket_fast(text, 64))

    tf.saved_model.save(Embed(), path)
    return path


def build():
    return keras.Sequential([
        hub.KerasLayer(HUB_PATH, input_shape=[], dtype=tf.string, trainable=False, name="USE"),  # noqa: F821
        keras.layers.Dense(8, activation="relu", name="dense"),
        keras.layers.Dense(1, activation="sigmoid", name="out"),
    ])


# %% train
HUB_PATH = make_hub_module(os.path.join(ARTIFACTS, "hub_module"))  # noqa: F821

# %% serve
HUB_PATH = os.path.join(ARTIFACTS, "hub_module")  # noqa: F821
CUSTOM_OBJECTS = {"KerasLayer": hub.KerasLayer}

# %% rebuild
# The team keeps its hub module where the model was saved (the layer stores its path).
HUB_PATH = os.path.join(ARTIFACTS, "hub_module")  # noqa: F821
