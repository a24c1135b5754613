"""What saving and loading share: the env's Keras, error records, seeds, path roots."""

import inspect
import os
import random
import sys
import traceback

from . import protocol

_ROOTS = []  # (prefix, placeholder), longest first: machine paths removed from messages
HARNESS_DIR = os.path.dirname(os.path.abspath(__file__))
_SCENARIO_PATHS = []  # folders and files whose code is a scenario's (or the team's --serve file)
_LIBRARY_PATHS = sorted({p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, getattr(sys, "base_exec_prefix", ""))
                         if p}, key=len, reverse=True)


def add_root(path, placeholder):
    global _ROOTS
    _ROOTS = protocol.add_root(_ROOTS, path, placeholder)


def add_scenario_path(path):
    """Code defined under ``path`` is a scenario's own (``origin`` "scenario")."""
    if path:
        _SCENARIO_PATHS.append(os.path.abspath(path))


def clean(text):
    return protocol.clean(text, _ROOTS)


def _under(path, prefix):
    return path == prefix or path.startswith(prefix.rstrip(os.sep) + os.sep)


def origin(exc):
    """Where ``exc`` was raised: the file of its traceback's innermost frame (protocol ORIGINS).

    A harness frame there means keras-compat's own code failed: the orchestrator treats that as
    its own defect, never as a finding about TensorFlow or Keras.
    """
    tb = exc.__traceback__
    filename = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    if filename is None:
        return "library"
    if filename.startswith("<frozen") or "site-packages" in filename or "dist-packages" in filename:
        return "library"
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if _under(path, HARNESS_DIR):
        return "user_call" if os.path.basename(path) == "calls.py" else "harness"
    if any(_under(path, p) for p in _SCENARIO_PATHS):
        return "scenario"
    if any(_under(path, p) for p in _LIBRARY_PATHS):
        return "library"
    return "stored"  # code the model file carries (a Lambda from eval, or saved on another machine)


def error_info(exc):
    message = clean(str(exc)).strip()
    if len(message) > protocol.MAX_MESSAGE:
        message = message[: protocol.MAX_MESSAGE - 1] + "…"
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(lines).rstrip("\n").split("\n")[-protocol.TRACEBACK_LINES:]
    info = {"type": type(exc).__name__, "message": message, "traceback": clean("\n".join(tail))}
    if not isinstance(exc, Unsupported):  # a statement of the harness's (no such API here), not a failure
        info["origin"] = origin(exc)
    return info


class Unsupported(Exception):
    """This env has no such feature (an API, a format); not a failure of the model."""


def unsupported(message):
    return {"type": "Unsupported", "message": message, "traceback": ""}


def keras_module():
    """The Keras a user of this env gets: ``keras`` 3; standalone (multi-backend) Keras 1.x-2.3; else ``tf.keras``.

    In a standalone-Keras env (``import keras`` is the multi-backend package, which ended at 2.3.1;
    keras 2.4+ is a wrapper of tf.keras) the scenarios' ``keras = tf.keras`` is made to mean
    ``import keras``: ``tf.keras`` is set to that package, so the same pattern is written for the
    Keras its users had (the one that wrote most 2016-2019 Lambda models).
    """
    import tensorflow as tf

    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        try:
            import keras

            version = str(getattr(keras, "__version__", "0"))
            if version.startswith("3"):
                return keras
            if is_standalone(keras):
                tf.keras = keras
                return keras
        except ImportError:
            pass
    return tf.keras


def is_standalone(keras):
    """Multi-backend Keras (``import keras``, 1.x to 2.3.x), not a tf.keras (keras 2.4+ wraps tf.keras)."""
    if getattr(keras, "__name__", "") != "keras":
        return False
    major, _, rest = str(getattr(keras, "__version__", "0")).partition(".")
    minor = rest.split(".")[0]
    return major == "1" or (major == "2" and minor.isdigit() and int(minor) <= 3)


def is_tf1():
    import tensorflow as tf

    return tf.__version__.startswith("1.")


def graph_session(keras):
    """TF 1.x: a new session for the Keras backend, one intra-op and one inter-op thread of its own.

    Graph-mode Keras runs on a session; its inter-op pool is per session (``use_per_session_threads``),
    so the new session a forked child makes here gets threads that exist in the child, and one
    intra-op thread makes Eigen run kernels inline (see ``one_compute_thread``)."""
    import tensorflow as tf

    v1 = getattr(tf, "compat", None) and getattr(tf.compat, "v1", None) or tf
    config = v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1,
                            use_per_session_threads=True)
    keras.backend.set_session(v1.Session(graph=v1.get_default_graph(), config=config))


def is_keras3(keras):
    return str(getattr(keras, "__version__", "2")).startswith("3")


def backend_name(keras):
    """``tensorflow``, ``jax`` or ``torch``: where Keras computes."""
    if is_keras3(keras):
        return str(keras.backend.backend())
    return "tensorflow"


def env_facts(keras):
    import numpy as np
    import tensorflow as tf

    return {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "tf": tf.__version__,
        "keras": str(getattr(keras, "__version__", tf.__version__)),
        "keras3": is_keras3(keras),
        "backend": backend_name(keras),
        "numpy": np.__version__,
    }


def die_with_parent():
    """Ask Linux to kill this process when its parent dies (an orchestrator killed with
    SIGKILL, a harness whose child this is): no orphan goes on writing artifacts."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        parent = os.getppid()
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # it died before the call took effect
            os._exit(1)
    except (OSError, AttributeError, ImportError):  # not Linux: the parent closes stdin instead
        pass


def one_compute_thread():
    """Element-wise and linear-algebra kernels run in the calling thread, in every mode.

    TensorFlow's CPU devices share one process-wide intra-op thread pool (created with
    the first eager context, kept across contexts): a forked child has none of its
    threads, so a kernel that splits its work over them waits forever (measured: a
    sigmoid in ``predict`` hangs in a child of TF 2.15). With one intra-op thread Eigen
    runs every kernel inline. Torch gets the same. Applied in every mode, so that the
    fork engine and its fresh reference compute the same way; the scenarios' models are
    tiny, so nothing is lost.
    """
    import tensorflow as tf

    threading_config = getattr(getattr(tf, "config", None), "threading", None)
    if threading_config is not None and not is_tf1():
        try:
            threading_config.set_intra_op_parallelism_threads(1)
        except RuntimeError:  # the context exists already: too late in this process
            pass
    if os.environ.get("KERAS_BACKEND") == "torch":
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass


def import_scenario_libraries():
    """Import once what the scenarios' own imports pull in beyond TensorFlow (in every mode).

    ``tensorflow_hub`` 0.16 imports tf-keras: ~1.5 s per process, which a forked child
    would otherwise pay on every hub load. Importing it is what a service that serves hub
    models does at start; it registers nothing in the Keras that loads the model.
    """
    try:
        import tensorflow_hub  # noqa: F401
    except Exception:  # noqa: BLE001 - not installed, or broken in this env: the scenario's own import reports it
        pass


def kwargs_supported(func):
    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return set()


def seed(keras, value=0):
    """The same weights for the same scenario in the same env, in every run."""
    import numpy as np
    import tensorflow as tf

    random.seed(value)
    np.random.seed(value)
    set_seed = getattr(tf.random, "set_seed", None) or getattr(tf, "set_random_seed", None)
    set_seed(value)  # TF 2: tf.random.set_seed; TF 1.x: tf.set_random_seed (the default graph's seed)
    utils = getattr(keras, "utils", None)
    if utils is not None and hasattr(utils, "set_random_seed"):
        utils.set_random_seed(value)  # Keras >= 2.7 and 3: Python, numpy and the backend's seed


def clear_session(keras):
    """Reset Keras' global state (graph, layer-name counters).

    Keras >= 3.3 also runs a full ``gc.collect()`` in ``clear_session()`` unless
    ``free_memory=False``, which costs far more than the reset itself.
    """
    try:
        if "free_memory" in kwargs_supported(keras.backend.clear_session):
            keras.backend.clear_session(free_memory=False)
        else:
            keras.backend.clear_session()
    except Exception:  # noqa: BLE001
        pass
    if is_tf1() and hasattr(keras.backend, "set_session"):
        graph_session(keras)


_CALL_HOOK = [None]  # told each call's code as soon as it is known (server.py, for a request it answers itself)


def tell_calls(hook):
    """Set (or, with None, clear) the function told the code of each call about to run."""
    _CALL_HOOK[0] = hook


class Made(dict):
    """What a load made; its ``call`` (the user's code) is told on as soon as it is set, before the call runs."""

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        if key == "call" and _CALL_HOOK[0] is not None:
            _CALL_HOOK[0](value)
