"""A Python lambda as the compiled loss: compile_config carries bytecode that a default load deserializes.

load_model(path) compiles the model from the file's compile_config (compile=True by default), so a loss
saved as a lambda is turned back into code while the model loads; it runs when the model is trained or
evaluated, not at predict. modelscan does not read compile_config (issue 22). The loss appends the phase
to $KC_CANARY whenever it runs; the load's audit events show the deserialization (marshal.loads).
"""
import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://github.com/protectai/modelscan/blob/main/modelscan/scanners/keras/scan.py"
CLAIM = "A lambda loss in compile_config is deserialized by a default load_model(compile=True), and modelscan does not see it."
FIX = "Load untrusted files with compile=False; name losses (a string or a registered function), never a lambda."
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
    if fmt == "weights":
        raise crafting.Unsupported("a weights file holds no compile config")
    model.compile(optimizer="sgd", loss=lambda y_true, y_pred: [
        __import__("os").environ.get("KC_CANARY")
        and open(__import__("os").environ["KC_CANARY"], "a").write(
            __import__("os").environ.get("KC_CANARY_PHASE", "?") + "\n"),
        __import__("tensorflow").reduce_mean(__import__("tensorflow").square(y_true - y_pred)),
    ][1])
    crafting.save_again(model, fmt, path)


# %% train

# %% serve

# %% rebuild
