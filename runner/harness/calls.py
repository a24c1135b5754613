"""The calls a user writes, and nothing else: each line here stands for a line of a user's code.

``model.save(path)``, ``model.fit``, ``model.predict``, ``keras.models.load_model(path, ...)``,
``keras.layers.TFSMLayer``, ``tf.saved_model.load``, ``model.load_weights``. An exception raised
in a frame of this module is what the user's own line raises (``model.predict`` on the object
``load_model`` returned, say): its origin is ``user_call``, a finding. An exception raised in
any other harness module is keras-compat's own defect (origin ``harness``), never a finding.
"""

import os

from . import common
from .protocol import CALLS


def _outputs_of(value):
    """A SavedModel endpoint's outputs (a tensor, or a dict of them by name) as one array."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    return outputs_array(value)


def save_model(model, fmt, path, keras):
    if fmt == "savedmodel" and common.is_standalone(keras):
        raise common.Unsupported("standalone Keras writes no SavedModel (model.save writes HDF5 whatever the name)")
    if fmt in ("h5", "keras"):
        model.save(path)
    elif fmt == "savedmodel":
        if common.is_keras3(keras):
            model.export(path)  # Keras 3 writes SavedModel only through export()
        else:
            model.save(path, save_format="tf")
    elif fmt == "weights":
        model.save_weights(path)


def predict(model, x):
    first = x[0] if isinstance(x, (list, tuple)) else x
    y = model.predict(x, batch_size=len(first), verbose=0)
    return outputs_array(y)


def outputs_array(y):
    """A model's outputs as one array: several outputs (a list, a dict by name) flattened side by side,
    so that every one of them is compared, not only the first."""
    import numpy as np

    if isinstance(y, dict):
        y = [y[k] for k in sorted(y)]
    if isinstance(y, (list, tuple)):
        parts = [np.asarray(getattr(v, "numpy", lambda v=v: v)()) for v in y]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p.astype("float64").reshape(len(p), -1) for p in parts], axis=1)
    return np.asarray(y)


def fit(model, x, y):
    # "mean_squared_error", not "mse": Keras 3 cannot reload an .h5 whose compile
    # config says loss="mse" ("Could not locate function 'mse'"), which would mask
    # every pattern in every Keras 3 .h5 cell behind one compile-config error.
    model.compile(optimizer="sgd", loss="mean_squared_error")
    model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)


def _load_kwargs(option, serve, load_model_params):
    """``load_model`` keyword arguments for one option; Unsupported when it does not apply."""
    if option == "custom_objects":
        custom = dict(getattr(serve, "CUSTOM_OBJECTS", {}) or {})
        if not custom:
            raise common.Unsupported("the loading side declares no custom_objects")
        return {"custom_objects": custom}
    if option == "registered":
        if not hasattr(serve, "register"):
            raise common.Unsupported("the loading side registers no classes")
        serve.register()
        return {}
    if option in ("safe_mode_off", "custom_objects_unsafe"):
        if "safe_mode" not in load_model_params:
            raise common.Unsupported("load_model has no safe_mode in this Keras")
        if option == "custom_objects_unsafe":
            return dict(_load_kwargs("custom_objects", serve, load_model_params), safe_mode=False)
        return {"safe_mode": False}
    if option == "compile_off":
        return {"compile": False}
    return {}


def _value_text(value):
    """How a custom object reads in the call: a literal as itself, a class or function by its name."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return repr(value)
    name = getattr(value, "__name__", None)
    return name if name else "%s(...)" % type(value).__name__


def call_text(option, keras, path, **fields):
    """The code of one call (protocol CALLS), with this request's values."""
    name = "keras" if common.is_keras3(keras) or common.is_standalone(keras) else "tf.keras"
    values = {"keras": name, "path": '"%s"' % os.path.basename(path),
              "objects": "{}", "endpoint": ""}
    values.update(fields)
    return CALLS[option].format(**values)


def _signature_input(fn):
    """The serving signature's one input name, as ``saved_model_cli show`` lists it."""
    spec = fn.structured_input_signature
    names = sorted(spec[1]) if spec and len(spec) > 1 and spec[1] else []
    if not names:  # TF 2.0-2.3 on a TF1-style SavedModel (an Estimator export): no structured signature
        names = list(getattr(fn, "_arg_keywords", None) or [])
    return names


def loader(option, serve, target, keras, params, made):
    """Make the user's call ``option`` on the artifact; returns ``(loaded, call)``: what the call
    returned, and a function that calls it on an input the way a user does (``predict``, or the
    endpoint). ``made["call"]`` is set to the call's code, as a user writes it, before the call runs.

    ``serve`` is the module the call runs beside: the serve cell, or for ``load_weights`` the
    scenario's rebuild cell (the model code the team keeps).
    """
    import tensorflow as tf

    if option == "load_weights":
        made["call"] = call_text(option, keras, target)
        model = serve.build()
        model.load_weights(target)
        return model, lambda x: predict(model, x)
    if option == "tfsm_layer":
        made["call"] = call_text(option, keras, target, endpoint='"serve"')
        try:
            layer = keras.layers.TFSMLayer(target, call_endpoint="serve")  # what Keras 3's model.export() writes
        except ValueError as exc:
            # A Keras 2 SavedModel (or an Estimator's) has only "serving_default": the error lists it.
            if "endpoint" not in str(exc):
                raise
            made["call"] = call_text(option, keras, target, endpoint='"serving_default"')
            layer = keras.layers.TFSMLayer(target, call_endpoint="serving_default")
        return layer, lambda x: _outputs_of(layer(tf.constant(x)))
    if option == "saved_model":
        made["call"] = call_text(option, keras, target)
        loaded = tf.saved_model.load(target)
        if callable(getattr(loaded, "serve", None)):  # Keras 3's export(): its documented endpoint
            made["call"] = call_text(option, keras, target, endpoint=".serve(x)")
            return loaded, lambda x: _outputs_of(loaded.serve(tf.constant(x)))
        fn = loaded.signatures["serving_default"]
        names = _signature_input(fn)
        if len(names) != 1:
            raise common.Unsupported("the serving signature takes inputs %s, not one array" % names)
        made["call"] = call_text(option, keras, target, endpoint='.signatures["serving_default"](%s=x)' % names[0])
        return loaded, lambda x: _outputs_of(fn(**{names[0]: tf.constant(x)}))
    objects = dict(getattr(serve, "CUSTOM_OBJECTS", {}) or {}) if option.startswith("custom_objects") else {}
    made["call"] = call_text(option, keras, target, objects="{%s}" % ", ".join(
        '"%s": %s' % (k, _value_text(v)) for k, v in sorted(objects.items())))
    kwargs = _load_kwargs(option, serve, params)
    model = keras.models.load_model(target, **kwargs)
    return model, lambda x: predict(model, x)


def estimator_flow(model, x, y, out_dir):
    """``model_to_estimator``: train one step and predict through the Estimator."""
    import numpy as np
    import tensorflow as tf

    if not hasattr(tf.keras, "estimator") or not hasattr(tf.keras.estimator, "model_to_estimator"):
        raise common.Unsupported("tf.keras.estimator.model_to_estimator does not exist in this env")
    model.compile(optimizer="sgd", loss="mean_squared_error")
    try:
        est = tf.keras.estimator.model_to_estimator(keras_model=model, model_dir=os.path.join(out_dir, "estimator"))
    except NotImplementedError as exc:  # tf-keras >= 2.16 keeps the name but has no estimator behind it
        if "not available" in str(exc):
            raise common.Unsupported(str(exc))
        raise
    name = model.input_names[0]

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({name: x}, y)).batch(len(x))

    est.train(input_fn, steps=1)
    preds = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({name: x}).batch(len(x))))
    key = sorted(preds[0].keys())[0]
    return est, np.stack([p[key] for p in preds]), name


def export_estimator(est, x, input_name, target):
    import tensorflow as tf

    def serving_input_fn():
        ph = tf.compat.v1.placeholder(tf.as_dtype(x.dtype), [None] + list(x.shape[1:]), name=input_name)
        return tf.estimator.export.ServingInputReceiver({input_name: ph}, {input_name: ph})

    exported = est.export_saved_model(os.path.join(os.path.dirname(target), "export"), serving_input_fn)
    if isinstance(exported, bytes):
        exported = exported.decode()
    os.rename(exported, target)
