"""A SavedModel whose graph writes a file when it is called (a WriteFile op in the served function).

A SavedModel carries its functions as graphs, and a graph may hold ops that touch files
(tf.io.write_file, tf.io.read_file): tf.saved_model.load and keras.layers.TFSMLayer run them when
the model is called, with no Python code in the file at all. This model's Lambda adds a WriteFile of
"kc-graph-marker.txt", a relative path: the load's working directory is the canary's folder. Keras 2's
load_model rebuilds the Lambda from its bytecode instead, which makes the same op.
"""
import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://www.tensorflow.org/api_docs/python/tf/io/write_file"
CLAIM = "A SavedModel's graph can read and write files when called, through tf.saved_model.load or TFSMLayer, without any Python code in the file."
FIX = "Inspect a SavedModel's ops before serving it (saved_model_cli show --all); serve files you do not trust in a sandbox."
CANARY = True
# What a vector does depends on the Keras that loads it, not the one that wrote it: each env loads the file
# it crafted itself (the vector table), not other envs' copies.
PAIRS = "same"

x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = x * 3.0


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = keras.layers.Lambda(
        lambda v: [__import__("tensorflow").io.write_file("kc-graph-marker.txt", "call\n"), v][1]
    )(hidden)
    return keras.Model(inputs, outputs)


def craft(fmt, path, model):
    if fmt != "savedmodel":
        raise crafting.Unsupported("the vector is an op in a SavedModel's graph, not in a %s artifact" % fmt)


# %% train

# %% serve

# %% rebuild
