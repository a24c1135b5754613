"""ScaleLayer(factor) and PowerLayer(power): subclassed layers with get_config.

The articles' fix for "Unknown layer: Lambda". The service imports the classes;
it loads without custom_objects, with custom_objects, and after registering the
classes globally (the ``registered`` option: what @register_keras_serializable
does, under the plain class name the file stores).
"""
import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "002_3e5b7dc6c5aa62e0.txt"
CLAIM = "With get_config, load_model(..., custom_objects={'ScaleLayer': ScaleLayer}) loads with no errors."
FIX = "Pass custom_objects={'ScaleLayer': ScaleLayer, 'PowerLayer': PowerLayer}, or decorate both classes with @keras.utils.register_keras_serializable on both sides."


class ScaleLayer(keras.layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super(ScaleLayer, self).__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        config = super(ScaleLayer, self).get_config()
        config.update({"factor": self.factor})
        return config


class PowerLayer(keras.layers.Layer):
    def __init__(self, power=1, **kwargs):
        super(PowerLayer, self).__init__(**kwargs)
        self.power = power

    def call(self, inputs):
        return tf.math.pow(inputs, self.power)

    def get_config(self):
        config = super(PowerLayer, self).get_config()
        config.update({"power": self.power})
        return config


x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
y = (x * 2.0) ** 2


def build():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    scaled = ScaleLayer(2.0)(hidden)
    outputs = PowerLayer(2)(scaled)
    return keras.Model(inputs, outputs)


# %% train

# %% serve
CUSTOM_OBJECTS = {"ScaleLayer": ScaleLayer, "PowerLayer": PowerLayer}


def register():
    keras.utils.get_custom_objects().update(CUSTOM_OBJECTS)

# %% rebuild
# The header's build() is all the model code the team keeps.
