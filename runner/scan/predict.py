"""From what a model file holds to what the measured grid says about its patterns."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from runner.core.versions import version_key
from runner.core.vocab import STATUS_LABELS
from runner.report.ranges import version_ranges

from .bytecode import versions_of
from .classes import line_of
from .index import CANARY
from .reader import FunctionInfo, ModelFacts
from .vectors import KERAS_PACKAGES

# Names a stored lambda reads that the catalog's scenarios stand for.
_NUMPY = {"np", "numpy"}
_TF = {"tf", "tensorflow", "K", "keras", "backend"}
_FORMAT = {"h5": "h5", "keras": "keras", "keras_h5": "keras", "savedmodel": "savedmodel"}
_FLAVOUR = {"tf.keras": "keras2", "tf_keras": "tf_keras", "keras3": "keras3"}
# A row's kind, most representative first: the release line, then the extra axes.
_TAG_RANK = {"main": 0, "keras3-minor": 1, "python-axis": 2, "backend": 3, "container": 4}
_STORED = "(stored bytecode)"


def _stored(fn: FunctionInfo) -> bool:
    return fn.kind.endswith(_STORED)


def needs(facts: ModelFacts) -> list[str]:
    """The names a loader passes in ``custom_objects`` for this file: the globals and closure variables its
    stored code reads (modules aside), the functions it names by name, and its custom classes.

    A named function Keras 2 stored as bytecode is rebuilt from the file: only the names it reads are
    needed, not the function. A function a Keras 3 config names in a Keras module is found by Keras."""
    names: list[str] = []
    for fn in facts.functions:
        if fn.windows:
            continue  # corrupted: no custom_objects make it run
        if _stored(fn):
            names += [n for n in (fn.globals or []) + (fn.closure or []) if n not in _NUMPY | _TF]
        elif fn.kind == "named function" and fn.function:
            if fn.module and fn.module.split(".")[0] in KERAS_PACKAGES:
                continue
            names.append(fn.function)
    return list(dict.fromkeys(names + facts.custom_classes))


def patterns(facts: ModelFacts) -> list[tuple[str, str]]:
    """``(scenario id, why)`` for each catalog pattern this model's layers match."""
    out: list[tuple[str, str]] = []
    for fn in facts.functions:
        if fn.layer_class in ("compile_config", "training_config") or fn.windows:
            continue
        where = f"{fn.layer_class} {fn.layer!r}" + (f" {fn.slot}" if fn.slot != "function" else "")
        if fn.kind in ("named function", "python function (stored bytecode)"):
            out.append(("lambda_named_function", f"{where} calls the named function {fn.function!r}"))
            continue
        if fn.kind == "registered object":
            continue
        if fn.globals is None:
            out.append(("lambda_closure_scalar", f"{where}: stored code whose names could not be read"))
            continue
        names = set(fn.globals)
        if facts.hub_layers and names - _NUMPY - _TF:
            out.append(("hub_in_lambda", f"{where} reads {sorted(names)} beside a hub layer"))
        elif fn.closure:
            out.append(("lambda_closure_object", f"{where} closes over {fn.closure}"))
        elif names - _NUMPY - _TF:
            out.append(("lambda_closure_scalar", f"{where} reads module globals {sorted(names - _NUMPY - _TF)}"))
        elif names & _NUMPY and names & _TF:
            out.append(("lambda_numpy_mixed", f"{where} calls numpy and TensorFlow"))
        elif names & _NUMPY:
            out.append(("lambda_numpy", f"{where} calls numpy"))
        elif names & _TF:
            out.append(("lambda_tf_op", f"{where} calls TensorFlow ops"))
        else:
            out.append(("lambda_simple", f"{where} reads no outside names"))
    for cls in facts.custom_classes:
        out.append(("subclass_with_config", f"custom class {cls!r} needs custom_objects or registration"))
    for handle in facts.hub_layers:
        if not any(s == "hub_in_lambda" for s, _ in out):
            out.append(("hub_direct", f"hub.KerasLayer {handle!r}"))
    return list(dict.fromkeys(out))


def _backend(row: dict) -> str:
    return str((row.get("env_vars") or {}).get("KERAS_BACKEND") or "tensorflow")


def saved_in(facts: ModelFacts, rows: list[dict]) -> dict | None:
    """The grid row nearest to the versions the file was saved with.

    Candidates: rows with the recorded Keras version itself, else rows of the same Keras line and minor
    release (a standalone-Keras file has no line in the grid unless a row records its exact version). Among
    them: the recorded TF version nearest, the recorded backend (TensorFlow when none), a Python that
    could have written the stored bytecode, then the release line before the extra axes."""
    if not facts.keras_version:
        return None
    exact = [r for r in rows if r.get("keras") == facts.keras_version]
    flavour = _FLAVOUR.get(line_of(facts.keras_version) or "")
    minor = version_key(facts.keras_version)[:2]
    same = exact or [r for r in rows if r.get("flavour") == flavour and version_key(r.get("keras") or "")[:2] == minor]
    if not same:
        return None
    want_tf = version_key(facts.tf_version or "") + (0, 0, 0)
    pythons = {v for fn in facts.functions for v in versions_of(fn.python)}
    backend = facts.backend if facts.backend in ("jax", "torch") else "tensorflow"

    def score(row: dict) -> tuple:
        tf = version_key(row.get("tf") or "") + (0, 0, 0)
        tf_gap = tuple(abs(a - b) for a, b in zip(tf[:3], want_tf[:3], strict=True)) if facts.tf_version else ()
        python = ".".join((row.get("python") or "").split(".")[:2])
        tags = row.get("tags") or []
        return (
            tf_gap,
            _backend(row) != backend,
            bool(pythons) and python not in pythons,
            min((_TAG_RANK.get(t, 9) for t in tags), default=9),
            row.get("id", ""),
        )

    return min(same, key=score)


def _measured_code(index: dict[str, Any], fmt: str, rows: dict[str, dict]) -> list[dict[str, Any]]:
    """Per release line, where a plain load ran the canary's stored code (the lambda_canary records)."""
    ran = ((index.get("code_on_load") or {}).get(fmt) or {}).get("default") or {}
    values = [(rows[r], "runs it during a plain load" if v else "does not run it") for r, v in ran.items() if r in rows]
    return [
        {"flavour": line.flavour, "ranges": [{"value": rg.value, "versions": rg.versions} for rg in line.ranges]}
        for line in version_ranges(values)
    ]


def predict(facts: ModelFacts, index: dict[str, Any]) -> dict[str, Any]:
    """The scan and, per matched pattern, the measured statuses: per release line where each env saves and
    loads its own file, and, from the env nearest to the file's versions, each env it was loaded in.

    ``index`` is a scan index (runner.scan.index.build_index / read_index)."""
    fmt = _FORMAT.get(facts.format, facts.format)
    rows = {r["id"]: r for r in index["rows"]}
    fixes: list[str] = index.get("fixes") or []
    origin = saved_in(facts, list(rows.values()))
    out = []
    for scenario, why in patterns(facts):
        entries = (index["cells"].get(scenario) or {}).get(fmt) or []
        same = [(rows[s], status) for s, ld, status, _, _ in entries if s == ld and s in rows]
        lines = [
            {"flavour": line.flavour, "ranges": [{"status": rg.value, "versions": rg.versions} for rg in line.ranges]}
            for line in version_ranges(same)
        ]
        upgrade = [
            {"load_row": ld, "status": status, "option": option, "fix": fixes[fix] if fix is not None else None}
            for s, ld, status, option, fix in entries
            if origin is not None and s == origin["id"]
        ]
        out.append({"scenario": scenario, "why": why, "format": fmt, "same_env": lines, "from_saved_in": upgrade})
    measured = _measured_code(index, fmt, rows) if facts.format != "keras_h5" else []
    vectors = []
    for v in facts.vectors:
        entry: dict[str, Any] = asdict(v)
        if v.kind in ("stored_code", "nested_stored_code") and measured:
            entry["measured"] = {"scenario": CANARY, "format": fmt, "lines": measured}
        vectors.append(entry)
    model = asdict(facts)
    del model["vectors"]
    return {
        "model": model,
        "vectors": vectors,
        "custom_objects": needs(facts),
        "saved_in": origin["id"] if origin else None,
        "patterns": out,
        "results": index.get("finished"),
    }


def _custom_objects(names: list[str]) -> str:
    return "custom_objects={" + ", ".join(f"{n!r}: ..." for n in names) + "}"


def _status(status: str) -> str:
    return STATUS_LABELS[status][1] if status in STATUS_LABELS else status  # type: ignore[index]


def _function_line(fn: dict[str, Any]) -> str:
    head = f"{fn['layer_class']} {fn['layer']}" if fn["layer_class"] != fn["layer"] else fn["layer"]
    slot = f" {fn['slot']}" if fn["slot"] != "function" or fn["layer_class"] != "Lambda" else ""
    name = f" {fn['function']}" if fn["function"] else ""
    text = f"  {head}{slot}: {fn['kind']}{name}"
    if fn["kind"].endswith(_STORED):
        names = "unknown" if fn["globals"] is None else ", ".join(fn["globals"]) or "none"
        text += f"; reads globals: {names}"
        text += f"; closure {', '.join(fn['closure'])}" if fn.get("closure") else ""
        text += f"; bytecode of CPython {fn['python']}" if fn.get("python") else ""
        text += " (raw_unicode_escape, Keras 1/2.0)" if fn.get("encoding") == "raw_unicode_escape" else ""
    text += " (nested)" if fn.get("nested") else ""
    return text + (f" -- {fn['note']}" if fn.get("note") else "")


def text(prediction: dict[str, Any]) -> str:
    """The scan and its prediction as readable lines."""
    m = prediction["model"]
    lines = [
        f"{m['path']}: {m['format']}, Keras {m['keras_version'] or '?'}, TF {m['tf_version'] or '?'}, "
        f"{m['layers']} layers",
    ]
    lines += [f"  note: {n}" for n in m["notes"]]
    if prediction["custom_objects"]:
        lines.append(f"  a loader passes: {_custom_objects(prediction['custom_objects'])}")
    lines += [_function_line(fn) for fn in m["functions"]]
    if m["root_class"]:
        lines.append(
            f"  custom root class: {m['root_class']} (a subclassed Model saved whole: loading needs the class)"
        )
    if m["custom_classes"]:
        lines.append(
            f"  custom classes (custom_objects or registration needed): {', '.join(m['custom_classes'])} "
            f"(judged against {m['builtin_classes']})"
        )
    if m["hub_layers"]:
        lines.append(f"  hub layers: {', '.join(m['hub_layers'])}")
    if prediction["vectors"]:
        lines.append(f"  code-on-load vectors ({len(prediction['vectors'])}):")
    for v in prediction["vectors"]:
        lines.append(f"    [{v['kind']}] {v['where']}: {v['note']}")
        for line in (v.get("measured") or {}).get("lines", []):
            ranges = "; ".join(f"{r['value']} {r['versions']}" for r in line["ranges"])
            lines.append(f"      measured ({CANARY}, {v['measured']['format']}), {line['flavour']}: {ranges}")
    plain = not (prediction["patterns"] or m["functions"] or prediction["vectors"])
    if plain:
        lines.append("  no catalog pattern: built-in layers only (what the matrix calls a plain model)")
    for p in prediction["patterns"]:
        lines.append(f"  pattern {p['scenario']} ({p['why']}), format {p['format']}:")
        for line in p["same_env"]:
            ranges = "; ".join(f"{_status(r['status'])} {r['versions']}" for r in line["ranges"])
            lines.append(f"    each {line['flavour']} env loading a file it saved itself: {ranges}")
        if p["from_saved_in"]:
            lines.append(f"    saved in {prediction['saved_in']}, loaded in:")
            for c in p["from_saved_in"]:
                fix = f" (fix: {c['fix']})" if c["fix"] and c["status"] != "pass" else ""
                if c["status"] == "pass_custom_objects" and prediction["custom_objects"]:
                    fix = f" (load with {_custom_objects(prediction['custom_objects'])})"
                lines.append(f"      {c['load_row']}: {_status(c['status'])}{fix}")
    if prediction["saved_in"] is None and m["keras_version"] and line_of(m["keras_version"]) == "standalone":
        lines.append(f"  saved in: no grid row saves with standalone Keras {m['keras_version']}")
    return "\n".join(lines) + "\n"
