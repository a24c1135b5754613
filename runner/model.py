"""The closed vocabularies and the records of a run.

Every string that means something (a format, an outcome, a status) is one of the
``Literal`` types below, with a tuple derived from it for iteration and
validation. The JSON schema in ``runner/schema/results.schema.json`` repeats
these enums; ``tests/test_schema.py`` checks the two agree.
"""

from __future__ import annotations

from typing import Literal, get_args

Flavour = Literal["keras2", "tf_keras", "keras3"]
FLAVOURS: tuple[Flavour, ...] = get_args(Flavour)

# What a user's save call means; see runner/harness/saving.py for the exact calls.
Format = Literal["h5", "keras", "savedmodel", "weights"]
FORMATS: tuple[Format, ...] = get_args(Format)

# Load options tried on every artifact. ``registered``: the service registers its
# classes globally (keras.utils.get_custom_objects) instead of passing them.
Option = Literal["default", "custom_objects", "registered", "safe_mode_off", "compile_off"]
OPTIONS: tuple[Option, ...] = get_args(Option)

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

# One cell's summary, derived from its raw records (runner/status.py).
Status = Literal[
    "pass",
    "pass_unsafe",
    "pass_custom_objects",
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
