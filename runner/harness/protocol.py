"""What the harness and the orchestrator agree on: stdlib only, Python 3.7 syntax.

Both sides import this module (the orchestrator as ``runner.harness.protocol``,
the harness inside a target env); ``tests/test_protocol.py`` checks it against
the orchestrator's vocabulary (``runner/core/vocab.py``).
"""

import os
import re

# What a user's save call means; the calls are in runner/harness/saving.py.
FORMATS = ("h5", "keras", "savedmodel", "weights")
ARTIFACT_NAMES = {"h5": "model.h5", "keras": "model.keras", "savedmodel": "savedmodel",
                  "weights": "model.weights.h5"}

# The load calls a user writes, in the order a lazy cell tries them (runner/core/status.py ranks them).
# Each record names the one it made, as code (``call``, from CALLS below):
#   default         keras.models.load_model(path)
#   custom_objects  ... load_model(path, custom_objects={...}) with the serve cell's CUSTOM_OBJECTS
#   registered      the serve cell's register(), then load_model(path)
#   safe_mode_off   load_model(path, safe_mode=False)
#   custom_objects_unsafe  load_model(path, custom_objects={...}, safe_mode=False): a user who trusts
#                   the file and follows both errors (a Lambda reading a global, in a .keras zip)
#   tfsm_layer      keras.layers.TFSMLayer(path, call_endpoint=...)  (Keras 3; inference only)
#   saved_model     tf.saved_model.load(path) and its serving endpoint (any TF; inference only)
#   compile_off     load_model(path, compile=False)
#   load_weights    the model rebuilt from the scenario's code (its ``# %% rebuild`` cell), then
#                   model.load_weights(path): the route for a file that no load call reads
OPTIONS = ("default", "custom_objects", "registered", "safe_mode_off", "custom_objects_unsafe", "tfsm_layer",
           "saved_model", "compile_off", "load_weights")
LOAD_MODEL_CALLS = ("default", "custom_objects", "registered", "safe_mode_off", "custom_objects_unsafe", "compile_off")
SAVEDMODEL_CALLS = ("tfsm_layer", "saved_model")

# The code each call stands for, with the request's own values filled in by the harness. ``register()`` is
# the service's own registration (the serve cell's), ``build()`` the model's code the team keeps.
CALLS = {
    "default": "{keras}.models.load_model({path})",
    "custom_objects": "{keras}.models.load_model({path}, custom_objects={objects})",
    "registered": "register(); {keras}.models.load_model({path})",
    "safe_mode_off": "{keras}.models.load_model({path}, safe_mode=False)",
    "custom_objects_unsafe": "{keras}.models.load_model({path}, custom_objects={objects}, safe_mode=False)",
    "tfsm_layer": "keras.layers.TFSMLayer({path}, call_endpoint={endpoint})",
    "saved_model": "tf.saved_model.load({path}){endpoint}",
    "compile_off": "{keras}.models.load_model({path}, compile=False)",
    "load_weights": "model = build(); model.load_weights({path})",
}


def calls_for(fmt, written):
    """The load calls that apply to an artifact of ``fmt`` that holds ``written``, in OPTIONS order.

    A weights file is read only by ``load_weights``; a SavedModel directory also by the SavedModel
    readers; a whole-model HDF5 file or ``.keras`` zip also by ``load_weights`` into a rebuilt model.
    (Whether a call exists in an env, e.g. ``safe_mode``, is the harness's ``not_applicable``.)
    """
    if fmt == "weights":
        return ("load_weights",)
    extra = SAVEDMODEL_CALLS if written == "savedmodel_dir" else ("load_weights",) if written in ("hdf5", "zip") \
        else ()
    return tuple(o for o in OPTIONS if o in LOAD_MODEL_CALLS or o in extra)


# Where an error was raised (the innermost frame of its traceback):
#   library  - TensorFlow, Keras, h5py, numpy, the standard library: an installed package;
#   scenario - a scenario file's own code (or the team's --serve file in keras-compat check);
#   stored   - code the model file carries, defined outside any file keras-compat knows;
#   user_call - the line of the user's call itself (runner/harness/calls.py), e.g. ``model.predict``
#              on the object ``load_model`` returned: what the user's own code raises;
#   harness  - keras-compat's own harness code: a defect of keras-compat, never a finding.
ORIGINS = ("library", "scenario", "stored", "user_call", "harness")

# How a request was answered:
#   fork   - in a child forked from the row's warmed-up interpreter (the default engine);
#   fresh  - in a fresh interpreter started for this one request (rows that cannot fork,
#            and the confirmation of a crash or a hang seen in a fork);
#   shared - in one interpreter that answers every request in turn (benchmarks only: not isolated);
#   parent - by the warmed-up interpreter without running anything (an option that does not apply).
MODES = ("fork", "fresh", "shared", "parent")

# Outputs are equal when numpy.allclose(loaded, original, rtol=RTOL, atol=ATOL).
RTOL = 1e-5
ATOL = 1e-6

MAX_MESSAGE = 4000  # characters of an exception message kept in a record (Keras quotes whole configs)
TRACEBACK_LINES = 12  # lines of a traceback's tail kept in a record
STDERR_LINES = 40  # lines of a dead process's stderr handed back for its crash message

# Events on the protocol stream (JSON lines on the harness's original stdout).
EVENT_READY = "ready"  # after import and warm-up: {"facts", "fork", "fork_error", "warmup"}
EVENT_RECORD = "record"  # one answer per request: {"id", "outcome", ...}
# A load's call, as a user writes it, sent before the call runs by a process that answers a request itself
# (not by a fork child): {"id", "call"}. A process that dies in the call leaves a record that names it.
EVENT_CALL = "call"
EVENTS = (EVENT_READY, EVENT_RECORD, EVENT_CALL)

# save: a scenario's train cell and its saves; load: one artifact with one option;
# check: a user's own model file with one option (keras-compat check), its output written to "out"
REQUEST_KINDS = ("save", "load", "check")

# Machine-specific text is removed from messages so that error signatures are stable.
ABS_PATH = re.compile(r"(?<![\w<:/.])(/[\w.+-]+){2,}/?")  # not inside URLs
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
SHARED_ID = re.compile(r"(['\"]shared_object_id['\"]: )\d+")  # Keras 3 configs name objects by id()


def artifact_name(fmt):
    return ARTIFACT_NAMES[fmt]


def clean(text, roots=()):
    """``text`` without colour codes, machine paths and memory addresses.

    ``roots``: (prefix, placeholder) pairs, longest first, replaced before any other path.
    """
    text = ANSI.sub("", text)
    for prefix, placeholder in roots:
        text = text.replace(prefix, placeholder)
    text = ABS_PATH.sub(lambda m: "<path>/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], text)
    return SHARED_ID.sub(r"\g<1>…", ADDRESS.sub("0x…", text))


def add_root(roots, path, placeholder):
    """``roots`` with ``path`` -> ``placeholder`` added, longest prefix first."""
    if not path:
        return roots
    entry = (os.path.abspath(path), placeholder)
    return sorted(set(roots) | {entry}, key=lambda item: -len(item[0]))
