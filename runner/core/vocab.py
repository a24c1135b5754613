"""The closed vocabularies of keras-compat, and the glossary behind them.

Glossary (the README uses the same words):

- **environment** = **grid row** = **matrix column**: one isolated interpreter with exact
  packages (``runner/grid.toml``), named by its row id (``tf2.15-k2-py3.11``);
- **cell**: scenario × format × save environment × load environment; one status;
- **record**: one load option tried on a cell's artifact; one outcome.

Every string that means something (a format, an outcome, a status) is one of the
``Literal`` types below, with a tuple derived from it for iteration and
validation. The JSON schema in ``runner/schema/results.schema.json`` repeats
these enums; ``tests/test_schema.py`` checks the two agree, and
``tests/test_protocol.py`` checks them against the harness's protocol module.
"""

from __future__ import annotations

from typing import Literal, get_args

# keras_mb: multi-backend Keras (``import keras``, standalone 1.x-2.3.x on TF 1.x/2.0), the saver of most
# 2016-2019 models; keras2: Keras 2 bundled as tf.keras; tf_keras: the tf-keras package; keras3: Keras 3.
Flavour = Literal["keras_mb", "keras2", "tf_keras", "keras3"]
FLAVOURS: tuple[Flavour, ...] = get_args(Flavour)

# What a user's save call means; see runner/harness/saving.py for the exact calls.
Format = Literal["h5", "keras", "savedmodel", "weights"]
FORMATS: tuple[Format, ...] = get_args(Format)

# The load calls a user writes (runner/harness/protocol.py says each one's code; a record's ``call``
# is the exact code it ran). ``registered``: the service registers its classes globally
# (keras.utils.get_custom_objects) instead of passing them; ``tfsm_layer`` and ``saved_model`` read
# a SavedModel for inference only; ``load_weights`` loads the file's weights into the model rebuilt
# from code (the scenario's rebuild cell).
Option = Literal[
    "default",
    "custom_objects",
    "registered",
    "safe_mode_off",
    "custom_objects_unsafe",
    "tfsm_layer",
    "saved_model",
    "compile_off",
    "load_weights",
]
OPTIONS: tuple[Option, ...] = get_args(Option)
# The calls that give back a model for inference only: no fit, no summary, no layer access.
INFERENCE_ONLY: frozenset[Option] = frozenset({"tfsm_layer", "saved_model"})

# Where an error was raised (runner/harness/protocol.py ORIGINS): an error from the harness itself
# is keras-compat's defect and never reaches results.json.
Origin = Literal["library", "scenario", "stored", "user_call", "harness"]
ORIGINS: tuple[Origin, ...] = get_args(Origin)

# How a record was measured (runner/harness/protocol.py MODES; tests/test_protocol.py keeps them equal).
Mode = Literal["fork", "fresh", "shared", "parent"]
MODES: tuple[Mode, ...] = get_args(Mode)

Stage = Literal["env", "build", "fit", "predict", "save", "load", "call", "compare"]
STAGES: tuple[Stage, ...] = get_args(Stage)

# One raw record's result.
Outcome = Literal[
    "ok",
    "wrong_output",
    "call_error",
    "load_error",
    "save_error",
    "build_error",
    "unsupported",
    "crash",
    "timeout",
    "env_error",
]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

# One cell's summary, derived from its raw records (runner/core/status.py).
Status = Literal[
    "pass",
    "pass_unsafe",
    "pass_custom_objects",
    "pass_inference_only",
    "wrong_output",
    "call_error",
    "load_error",
    "save_error",
    "build_error",
    "unsupported",
    "crash",
    "timeout",
    "env_error",
]
STATUSES: tuple[Status, ...] = get_args(Status)

# What the save call actually put on disk (``model.save("m.keras")`` writes a
# SavedModel directory in TF <= 2.11, for example).
Written = Literal["hdf5", "zip", "savedmodel_dir", "directory", "file", "nothing"]
WRITTEN: tuple[Written, ...] = get_args(Written)

# Label and symbol per status: the matrix never relies on colour alone.
STATUS_LABELS: dict[Status, tuple[str, str]] = {
    "pass": ("✅", "pass"),
    "pass_unsafe": ("⚠️", "pass with safe_mode=False"),
    "pass_custom_objects": ("🔧", "pass with custom_objects"),
    "pass_inference_only": ("🔎", "pass with an inference-only call"),
    "wrong_output": ("❗", "wrong output"),
    "call_error": ("💥", "call error"),
    "load_error": ("❌", "load error"),
    "save_error": ("⛔", "save error"),
    "build_error": ("🚧", "build error"),
    "unsupported": ("➖", "unsupported"),
    "crash": ("☠️", "crash"),
    "timeout": ("⏱️", "timeout"),
    "env_error": ("🏚️", "env error"),
}

# One sentence per status for the legend.
STATUS_MEANINGS: dict[Status, str] = {
    "pass": "Loads with the default call and computes the same outputs.",
    "pass_unsafe": "Loads only with safe_mode=False (arbitrary code execution: only for files you trust).",
    "pass_custom_objects": "Loads only when the custom classes/functions are passed as custom_objects.",
    "pass_inference_only": "load_model cannot read it; keras.layers.TFSMLayer or tf.saved_model.load can, for "
    "inference only (no fit, summary or layer access).",
    "wrong_output": "Loads and runs, but the outputs differ from the saved model's: a silent wrong answer "
    "(by the plain call, or by the only call that loads it, e.g. the custom_objects its error asks for).",
    "call_error": "Loads, but calling the loaded model raises.",
    "load_error": "The load call raises, whatever load option is tried.",
    "save_error": "The save call raises: there is no artifact to load.",
    "build_error": "The scenario's model could not be built or trained in this environment.",
    "unsupported": "This environment does not support the format (e.g. Estimators after TF 2.15).",
    "crash": "The process died (segfault, abort, out of memory) without a Python exception.",
    "timeout": "The step did not finish within the time limit.",
    "env_error": "The environment could not be built (resolver or interpreter failure).",
}

# A cell *works* when it loads and computes the same, possibly with a load option.
WORKING: frozenset[Status] = frozenset({"pass", "pass_custom_objects", "pass_unsafe", "pass_inference_only"})

# What a status means for a user's load call.
Verdict = Literal["works", "change_call", "breaks", "wrong"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
VERDICT_TITLES: dict[Verdict, str] = {
    "works": "works unchanged",
    "change_call": "works if you change your load call",
    "breaks": "breaks",
    "wrong": "silently wrong",
}

# The answer to "can I upgrade?" for one pattern and format: what the user's load call meets.
Answer = Literal["works", "change_call", "breaks", "wrong", "fixed", "already_fails"]
ANSWERS: tuple[Answer, ...] = get_args(Answer)
ANSWER_TITLES: dict[Answer, str] = {
    "works": VERDICT_TITLES["works"],
    "change_call": VERDICT_TITLES["change_call"],
    "breaks": VERDICT_TITLES["breaks"],
    "wrong": VERDICT_TITLES["wrong"],
    "fixed": "works now (it failed where it was saved)",
    "already_fails": "already fails where it was saved",
}

# What a cell did between two runs (runner/report/diff.py sorts cells into these).
ChangeKind = Literal["newly_broken", "newly_fixed", "changed_error", "changed_status"]
KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)
KIND_TITLES: dict[ChangeKind, str] = {
    "newly_broken": "Newly broken",
    "newly_fixed": "Newly fixed",
    "changed_error": "Changed error",
    "changed_status": "Works another way",
}

WRITTEN_MEANINGS: dict[Written, str] = {
    "hdf5": "an HDF5 file",
    "zip": "a Keras v3 .keras zip archive",
    "savedmodel_dir": "a TensorFlow SavedModel directory",
    "directory": "a directory that is not a SavedModel",
    "file": "a single file",
    "nothing": "nothing (the save never happened or failed)",
}

# What a user expects a format to write; a cell that wrote something else says so
# (model.save("m.keras") writes a SavedModel directory in TF <= 2.11, for example).
EXPECTED_WRITTEN: dict[Format, Written] = {"h5": "hdf5", "keras": "zip", "savedmodel": "savedmodel_dir"}

# A cell with no result (not selected in this run).
NOT_RUN = ("◌", "not run")

# Per flavour: how a row label names it, and the environment variables every row of it sets.
FLAVOUR_LABELS: dict[Flavour, str] = {
    "keras_mb": "multi-backend Keras (import keras)",
    "keras2": "Keras 2 (tf.keras)",
    "tf_keras": "tf-keras",
    "keras3": "Keras 3",
}
FLAVOUR_ENV: dict[Flavour, dict[str, str]] = {
    "keras_mb": {},
    "keras2": {},
    "tf_keras": {"TF_USE_LEGACY_KERAS": "1"},
    "keras3": {},
}

# The packages a team upgrades, as the page names them (the coverage line: runner/run/coverage.py).
PACKAGE_LABELS: dict[str, str] = {"tensorflow": "TF", "keras": "Keras", "tf-keras": "tf-keras"}
