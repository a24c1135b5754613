"""A hub.KerasLayer wrapped in a Lambda: Lambda(lambda x: sentence_encoder_layer(x)).

The TF-Hub article's original model. No download: the scenario builds a small
text-embedding SavedModel itself and loads it through the real hub.KerasLayer.
"""
import os

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

keras = tf.keras

SOURCE = "000_0d9a4bd23d5734f6.txt"
CLAIM = "Saved to .keras, the model loads but predict fails with NameError: name 'sentence_encoder_layer' is not defined, even with custom_objects."
FIX = "Put the hub.KerasLayer straight into the model and load with custom_objects={'KerasLayer': hub.KerasLayer} (see hub_direct)."

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


def encoder_layer(path):
    return hub.KerasLayer(path, input_shape=[], dtype=tf.string, trainable=False, name="USE")


def build():
    inputs = keras.Input(shape=(), dtype=tf.string)
    embedded = keras.layers.Lambda(lambda x: sentence_encoder_layer(x))(inputs)  # noqa: F821
    hidden = keras.layers.Dense(8, activation="relu", name="dense")(embedded)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="out")(hidden)
    return keras.Model(inputs, outputs)


# %% train
sentence_encoder_layer = encoder_layer(make_hub_module(os.path.join(ARTIFACTS, "hub_module")))  # noqa: F821

# %% serve
# As in the article: the service recreates the encoder and passes it explicitly.
CUSTOM_OBJECTS = {"sentence_encoder_layer": encoder_layer(os.path.join(ARTIFACTS, "hub_module"))}  # noqa: F821

# %% rebuild
# The team recreates the encoder from its hub module, as the notebook did.
sentence_encoder_layer = encoder_layer(os.path.join(ARTIFACTS, "hub_module"))  # noqa: F821
