"""A Lambda whose function config names a public Keras function that writes a file (keras.saving.save_model).

A published modelscan bypass (issue 22) names keras.visualization.plot_image_gallery, which writes a PNG
and needs matplotlib (not in these envs); keras.saving.save_model is a public Keras function of the same
kind that needs nothing more. The Lambda is called while the model loads with a Sequential (deserialized
from its node's keyword argument) and writes it to "kc-save.keras" in the load's working directory.
Keras 3.11's LOADING_APIS does not list save_model; the NON_MODELING_APIS list that does came with 3.12.4
and 3.15. A Keras 2 config has no node keyword arguments.
"""
import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://github.com/keras-team/keras/blob/v3.15.0/keras/src/saving/serialization_lib.py"
CLAIM = "A Lambda naming a public Keras API function that touches the file system loads with safe_mode=True (reported on Keras 3.14.1)."
FIX = "Upgrade to a Keras whose NON_MODELING_APIS lists the function (3.12.4, 3.15); load only files you trust, in a sandbox."
CANARY = True
# What a vector does depends on the Keras that loads it, not the one that wrote it: each env loads the file
# it crafted itself (the vector table), not other envs' copies.
PAIRS = "same"

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x * 3.0


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    return keras.Model(inputs, keras.layers.Dense(4, name="out")(hidden))


def craft(fmt, path, model):
    crafting.require_zip(fmt, path, "the vector is an entry of a .keras zip's config.json")
    keras3 = crafting.require_keras3("a Lambda called with a keyword argument of its node")
    small = keras3.Sequential([keras3.Input(shape=(4,)), keras3.layers.Dense(2)])
    writer = crafting.lambda_calling("kc_save_model", "keras.saving", "save_model", crafting.serialize(small),
                                     {"filepath": "kc-save.keras"})
    crafting.add_layers(path, [writer])


# %% train

# %% serve

# %% rebuild
