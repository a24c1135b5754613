"""A cell's summary status, derived from its raw records (one per load option).

The rules (docs/results-format.md):
1. No artifact (``env_error``, ``build_error``, ``save_error``, ``unsupported`` at save time):
   every record says so, and the status is that outcome.
2. The default load computing a wrong answer outranks any option that fixes it: a
   silent wrong answer is the worst thing a user can meet, so the status stays
   ``wrong_output`` and the fix names the option.
3. Otherwise the most permissive way it works for the user: ``default`` ->
   ``pass``, ``custom_objects``/``registered`` -> ``pass_custom_objects``,
   ``safe_mode_off`` -> ``pass_unsafe``.
4. Otherwise the first way it fails: the default record's outcome. (``compile_off``
   alone never makes a cell pass; when it is the only way, the fix says so.)
"""

from __future__ import annotations

from .vocab import Option, Outcome, Status

NO_ARTIFACT: tuple[Outcome, ...] = ("env_error", "build_error", "save_error")
WORKS: tuple[tuple[Option, Status], ...] = (
    ("default", "pass"),
    ("custom_objects", "pass_custom_objects"),
    ("registered", "pass_custom_objects"),
    ("safe_mode_off", "pass_unsafe"),
)
# The change to a user's load call that each option stands for.
OPTION_CALLS: dict[str, str] = {
    "default": "load_model(path)",
    "custom_objects": "custom_objects={...}",
    "registered": "register the classes (keras.utils.register_keras_serializable)",
    "safe_mode_off": "safe_mode=False",
    "compile_off": "compile=False",
}
FIX_FOR_OPTION: dict[str, str] = {
    "custom_objects": "load with custom_objects={...} naming the scenario's classes/functions/globals",
    "registered": "register the custom classes globally "
    "(keras.utils.get_custom_objects / @register_keras_serializable) before loading",
    "safe_mode_off": "load with safe_mode=False (only for files you trust: it runs the stored bytecode)",
    "compile_off": "load with compile=False (the model's training config does not deserialize)",
}


_OTHER_PYTHON = (
    "the Lambda's bytecode was written by another Python minor: load with the Python minor the model was "
    "saved with, or rebuild the model in code and load only its weights"
)
_KERAS2_ZIP = (
    "the .keras zip was written by Keras 2 (tf.keras 2.13-2.15 or tf-keras), whose class paths Keras 3 cannot "
    "resolve: load it with tf-keras (TF_USE_LEGACY_KERAS=1), or rebuild the model in Keras 3 and load only its weights"
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
        "the save wrote a SavedModel directory under the .keras name (TF <= 2.11 does that) and Keras 3 "
        "loads only .keras zips and .h5: load it with keras.layers.TFSMLayer, or save as .h5",
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
        "EOF read where object expected",
        None,
        _OTHER_PYTHON,
    ),
)


def fix_for_error(error: dict | None, written: str | None) -> str | None:
    """The fix the deciding error itself points to, if it is one of :data:`FIX_FOR_ERROR`."""
    message = (error or {}).get("message") or ""
    for needle, wrote, fix in FIX_FOR_ERROR:
        if needle in message and wrote in (None, written):
            return fix
    return None


def derive(records: list[dict], scenario_fix: str = "") -> dict:
    """Summary of one cell: status, the option it rests on, error behind it, fix."""
    by_option = {r["option"]: r for r in records}
    default = by_option.get("default") or records[0]
    written = default.get("written")

    for outcome in NO_ARTIFACT:
        hit = next((r for r in records if r["outcome"] == outcome), None)
        if hit:
            return _cell(outcome, hit, written, scenario_fix)
    if all(r["outcome"] == "unsupported" for r in records):
        return _cell("unsupported", default, written, scenario_fix)

    if default["outcome"] == "wrong_output":
        fixer = next((o for o, _ in WORKS[1:] if by_option.get(o, {}).get("outcome") == "ok"), None)
        fix = FIX_FOR_OPTION[fixer] if fixer else scenario_fix
        return _cell("wrong_output", default, written, fix)

    for option, status in WORKS:
        record = by_option.get(option)
        if record and record["outcome"] == "ok":
            rescued = option != "default"
            return {
                "status": status,
                "option": option,
                "written": written,
                "error": default.get("error") if rescued else None,
                "fix": FIX_FOR_OPTION[option] if rescued else None,
            }

    compile_off = by_option.get("compile_off")
    fix = FIX_FOR_OPTION["compile_off"] if compile_off and compile_off["outcome"] == "ok" else scenario_fix
    fix = fix_for_error(default.get("error"), written) or fix
    return _cell(default["outcome"], default, written, fix)


def _cell(status: str, record: dict, written: str | None, fix: str | None) -> dict:
    return {
        "status": status,
        "option": record["option"],
        "written": written,
        "error": record.get("error"),
        "fix": fix or None,
    }
