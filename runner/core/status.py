"""A cell's summary status, derived from its raw records (one per load call tried).

The rules (docs/results-format.md):
1. No artifact (``env_error``, ``build_error``, ``save_error``, ``unsupported`` at save time):
   every record says so, and the status is that outcome.
2. The plain call computing a wrong answer outranks any call that fixes it: a silent wrong
   answer is the worst thing a user can meet, so the status stays ``wrong_output`` and the
   fix names the call. (The plain call: ``load_model(path)``; for a weights file,
   ``load_weights`` into the rebuilt model.)
3. Otherwise the plainest call that works: the plain call -> ``pass``,
   ``custom_objects``/``registered`` -> ``pass_custom_objects``, ``safe_mode_off`` (alone or
   with ``custom_objects``) -> ``pass_unsafe``, ``tfsm_layer``/``saved_model`` -> ``pass_inference_only``.
4. Otherwise, a call that loads and computes something else is a trap: the cell is
   ``wrong_output`` and its ``option`` names that call (a user who follows the plain
   call's error, say "pass custom_objects", gets the silent failure).
5. Otherwise the deciding failure: the plain call's, or, where its error tells the user to
   make another call (``safe_mode=False``, ``custom_objects``, ``TFSMLayer``) and that call
   was made, that call's (what the user meets when they follow the advice). ``compile_off``
   and ``load_weights`` on a whole-model file never make a cell pass: when one works, the
   fix names it (the route for a file that is already saved).
"""

from __future__ import annotations

from .vocab import Option, Outcome, Status

NO_ARTIFACT: tuple[Outcome, ...] = ("env_error", "build_error", "save_error")
WORKS: tuple[tuple[Option, Status], ...] = (
    ("default", "pass"),
    ("custom_objects", "pass_custom_objects"),
    ("registered", "pass_custom_objects"),
    ("safe_mode_off", "pass_unsafe"),
    ("custom_objects_unsafe", "pass_unsafe"),
    ("tfsm_layer", "pass_inference_only"),
    ("saved_model", "pass_inference_only"),
)
# The calls that read a file no other call reads, in the order a fix names them.
ROUTES: tuple[Option, ...] = ("compile_off", "load_weights")

# The change to a user's load call that each option stands for (the answer's "change your load call: …").
OPTION_CALLS: dict[str, str] = {
    "default": "load_model(path)",
    "custom_objects": "custom_objects={...}",
    "registered": "register the classes (keras.utils.register_keras_serializable)",
    "safe_mode_off": "safe_mode=False",
    "custom_objects_unsafe": "custom_objects={...}, safe_mode=False",
    "tfsm_layer": "TFSMLayer (inference only): keras.layers.TFSMLayer(path, call_endpoint=...)",
    "saved_model": "tf.saved_model.load (inference only): tf.saved_model.load(path) and its serving signature",
    "compile_off": "compile=False",
    "load_weights": "rebuild the model from code and model.load_weights(path)",
}
FIX_FOR_OPTION: dict[str, str] = {
    "custom_objects": "load with custom_objects={...} naming the scenario's classes/functions/globals",
    "registered": "register the custom classes globally "
    "(keras.utils.get_custom_objects / @register_keras_serializable) before loading",
    "safe_mode_off": "load with safe_mode=False (only for files you trust: it runs the stored bytecode)",
    "custom_objects_unsafe": "load with custom_objects={...} and safe_mode=False (only for files you trust: it "
    "runs the stored bytecode)",
    "tfsm_layer": "load it with keras.layers.TFSMLayer(path, call_endpoint=...): inference only "
    "(no fit, summary or layer access)",
    "saved_model": "load it with tf.saved_model.load(path) and call its serving signature: inference only",
    "compile_off": "load with compile=False (the model's training config does not deserialize)",
    "load_weights": "rebuild the model from its code and load only the weights: model.load_weights(path) "
    "(measured: it loads this file and computes the same here)",
}

# What an error message tells the user to do next, and the call that does it.
ADVICE: tuple[tuple[str, Option], ...] = (
    ("safe_mode=False", "safe_mode_off"),
    ("TFSMLayer", "tfsm_layer"),
    ("custom_objects", "custom_objects"),
    ("custom_object_scope", "custom_objects"),
    ("register_keras_serializable", "registered"),
)

_OTHER_PYTHON = (
    "the Lambda's bytecode was written by another Python minor: load with the Python minor the model was "
    "saved with, or rebuild the model in code and load only its weights"
)
_KERAS2_ZIP = (
    "the .keras zip was written by Keras 2 (tf.keras 2.13-2.15 or tf-keras), whose class paths Keras 3 cannot "
    "resolve: load it with tf-keras (pip install tf-keras, TF_USE_LEGACY_KERAS=1), or rebuild the model in "
    "Keras 3 and load only its weights"
)
# Failures whose cause is the file or the interpreter, not the pattern: the fix follows the deciding error.
# (what the error message contains, what the save wrote or None for any, the fix)
FIX_FOR_ERROR: tuple[tuple[str, str | None, str], ...] = (
    (
        "ensure the file is an accessible `.keras` zip",
        "hdf5",
        "the save wrote HDF5 under the .keras name (Keras 2 does that) and Keras 3 reads .keras as a zip: "
        "rename the file to .h5 before loading, or save it as .h5 in the first place",
    ),
    (
        "File format not supported",
        "savedmodel_dir",
        "the save wrote a SavedModel directory and Keras 3's load_model reads only .keras zips and .h5: load it "
        "with keras.layers.TFSMLayer (inference only), or save as .keras or .h5",
    ),
    (
        "Could not locate class 'Functional'",
        "zip",
        _KERAS2_ZIP,
    ),
    (
        "parent module keras.src.engine",
        "zip",
        _KERAS2_ZIP,
    ),
    (
        "bad marshal data",
        None,
        _OTHER_PYTHON,
    ),
    (
        "unknown opcode",
        None,
        _OTHER_PYTHON,
    ),
    (
        "pop expected at most 1 argument, got 2",
        "hdf5",
        "the file's config is a list-form Sequential (Keras 1 and Keras <= 2.2.2 wrote it), which Keras 3 cannot "
        "read: load it with Keras 2 (TF <= 2.15 or tf-keras), or rebuild the model and load only its weights",
    ),
    (
        "input_dtype",
        None,
        "the file was written by Keras 1 (its layers say input_dtype): load it with multi-backend Keras 1.x, or "
        "rebuild the model in today's Keras and load only its weights",
    ),
    (
        "EOF read where object expected",
        None,
        _OTHER_PYTHON,
    ),
)


def plain_call(fmt: str) -> Option:
    """The call a user makes first: ``load_model(path)``; for a weights file, ``load_weights``."""
    return "load_weights" if fmt == "weights" else "default"


def fix_for_error(error: dict | None, written: str | None) -> str | None:
    """The fix the deciding error itself points to, if it is one of :data:`FIX_FOR_ERROR`."""
    message = (error or {}).get("message") or ""
    for needle, wrote, fix in FIX_FOR_ERROR:
        if needle in message and wrote in (None, written):
            return fix
    return None


def _ran(record: dict | None) -> bool:
    return record is not None and record["outcome"] != "unsupported"


def deciding(by_option: dict[str, dict], first: dict) -> dict:
    """The failure a user meets: ``first`` (the plain call), or, where its error says to make another
    call that was made, that call's record, and so on while the errors keep advising."""
    record, seen = first, {first["option"]}
    while True:
        message = (record.get("error") or {}).get("message") or ""
        advised = next(
            (o for needle, o in ADVICE if needle in message and o not in seen and _ran(by_option.get(o))), None
        )
        if advised is None:
            return record
        seen.add(advised)
        record = by_option[advised]


def derive(records: list[dict], scenario_fix: str = "") -> dict:
    """Summary of one cell: status, the call it rests on, the error behind it, fix."""
    by_option = {r["option"]: r for r in records}
    plain = by_option.get(plain_call(records[0].get("format", ""))) or records[0]
    written = next((r.get("written") for r in records if r.get("written")), plain.get("written"))

    for outcome in NO_ARTIFACT:
        hit = next((r for r in records if r["outcome"] == outcome), None)
        if hit:
            return _cell(outcome, hit, written, scenario_fix)
    if all(r["outcome"] == "unsupported" for r in records):
        return _cell("unsupported", plain, written, scenario_fix)

    working = [(o, s) for o, s in WORKS if o != plain["option"]]
    route = next((o for o in ROUTES if o != plain["option"] and by_option.get(o, {}).get("outcome") == "ok"), None)
    if plain["outcome"] == "wrong_output":
        fixer = next((o for o, _ in working if by_option.get(o, {}).get("outcome") == "ok"), route)
        return _cell("wrong_output", plain, written, FIX_FOR_OPTION[fixer] if fixer else scenario_fix)
    if plain["outcome"] == "ok":
        return {"status": "pass", "option": plain["option"], "written": written, "error": None, "fix": None}

    for option, status in working:
        record = by_option.get(option)
        if record and record["outcome"] == "ok":
            return {
                "status": status,
                "option": option,
                "written": written,
                "error": plain.get("error"),
                "fix": FIX_FOR_OPTION[option],
            }

    fix = FIX_FOR_OPTION[route] if route else scenario_fix
    trap = next((r for r in records if r["outcome"] == "wrong_output"), None)
    if trap is not None:
        return _cell("wrong_output", trap, written, fix)
    first = plain if _ran(plain) else next((r for r in records if _ran(r)), plain)
    decided = deciding(by_option, first)
    fix = fix_for_error(decided.get("error"), written) or fix_for_error(first.get("error"), written) or fix
    return _cell(decided["outcome"], decided, written, fix)


def _cell(status: str, record: dict, written: str | None, fix: str | None) -> dict:
    return {
        "status": status,
        "option": record["option"],
        "written": written,
        "error": record.get("error"),
        "fix": fix or None,
    }
