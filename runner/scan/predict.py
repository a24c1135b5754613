"""From what a model file holds to what the measured grid says about its patterns."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from runner.core.versions import version_key
from runner.core.vocab import STATUS_LABELS
from runner.report.ranges import version_ranges

from .reader import ModelFacts

# Names a stored lambda reads that the catalog's scenarios stand for.
_NUMPY = {"np", "numpy"}
_TF = {"tf", "tensorflow", "K", "keras", "backend"}
_FORMAT = {"h5": "h5", "keras": "keras", "keras_h5": "keras", "savedmodel": "savedmodel"}


def needs(facts: ModelFacts) -> list[str]:
    """The names a loader passes in ``custom_objects`` for this file: globals and closure variables its
    stored code reads (modules aside) and its custom classes."""
    names: list[str] = []
    for lam in facts.lambdas:
        names += [n for n in (lam.globals or []) + (lam.closure or []) if n not in _NUMPY | _TF]
        if lam.function and lam.kind != "registered object":
            names.append(lam.function)
    return list(dict.fromkeys(names + facts.custom_classes))


def patterns(facts: ModelFacts) -> list[tuple[str, str]]:
    """``(scenario id, why)`` for each catalog pattern this model's layers match."""
    out: list[tuple[str, str]] = []
    for lam in facts.lambdas:
        where = f"Lambda {lam.layer!r}"
        if lam.kind in ("named function", "python function (stored bytecode)"):
            out.append(("lambda_named_function", f"{where} calls the named function {lam.function!r}"))
            continue
        if lam.globals is None:
            out.append(("lambda_closure_scalar", f"{where}: stored code whose names could not be read"))
            continue
        names = set(lam.globals)
        if facts.hub_layers and names - _NUMPY - _TF:
            out.append(("hub_in_lambda", f"{where} reads {sorted(names)} beside a hub layer"))
        elif lam.closure:
            out.append(("lambda_closure_object", f"{where} closes over {lam.closure}"))
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


def saved_in(facts: ModelFacts, rows: list[dict]) -> dict | None:
    """The grid row nearest to the versions the file was saved with (same Keras line and minor release)."""
    if not facts.keras_version:
        return None
    major, minor = (version_key(facts.keras_version) + (0, 0))[:2]
    flavour = "keras3" if major >= 3 else "tf_keras" if minor >= 16 else "keras2"
    same = [r for r in rows if r["flavour"] == flavour and version_key(r["keras"])[:2] == (major, minor)]
    same.sort(key=lambda r: ("python-axis" in r["tags"], r["id"]))
    return same[0] if same else None


def predict(facts: ModelFacts, results: dict[str, Any]) -> dict[str, Any]:
    """The scan and, per matched pattern, the measured statuses: per release line where each env saves and
    loads its own file, and, from the env nearest to the file's versions, each env it was loaded in."""
    fmt = _FORMAT.get(facts.format, facts.format)
    rows = {r["id"]: r for r in results["rows"]}
    cells = {(c["scenario"], c["format"], c["save_row"], c["load_row"]): c for c in results["cells"]}
    origin = saved_in(facts, list(rows.values()))
    out = []
    for scenario, why in patterns(facts):
        same = [(rows[r], c["status"]) for (s, f, r, ld), c in cells.items() if (s, f) == (scenario, fmt) and r == ld]
        lines = [
            {"flavour": line.flavour, "ranges": [{"status": rg.value, "versions": rg.versions} for rg in line.ranges]}
            for line in version_ranges(same)
        ]
        upgrade = []
        if origin is not None:
            for (s, f, r, ld), c in cells.items():
                if (s, f, r) == (scenario, fmt, origin["id"]):
                    upgrade.append({"load_row": ld, "status": c["status"], "option": c["option"], "fix": c["fix"]})
        out.append({"scenario": scenario, "why": why, "format": fmt, "same_env": lines, "from_saved_in": upgrade})
    return {
        "model": asdict(facts),
        "custom_objects": needs(facts),
        "saved_in": origin["id"] if origin else None,
        "patterns": out,
        "results": results["run"]["finished"],
    }


def _custom_objects(names: list[str]) -> str:
    return "custom_objects={" + ", ".join(f"{n!r}: ..." for n in names) + "}"


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
    for lam in m["lambdas"]:
        names = "unknown" if lam["globals"] is None else ", ".join(lam["globals"]) or "none"
        closure = f"; closure {', '.join(lam['closure'])}" if lam.get("closure") else ""
        bytecode = f"; bytecode of CPython {lam['python']}" if lam.get("python") else ""
        lines.append(
            f"  Lambda {lam['layer']}: {lam['kind']}{' ' + lam['function'] if lam['function'] else ''}; "
            f"reads globals: {names}{closure}{bytecode}"
        )
    if m["custom_classes"]:
        lines.append(f"  custom classes (custom_objects or registration needed): {', '.join(m['custom_classes'])}")
    if m["hub_layers"]:
        lines.append(f"  hub layers: {', '.join(m['hub_layers'])}")
    if not prediction["patterns"]:
        lines.append("  no catalog pattern: built-in layers only (what the matrix calls a plain model)")
    for p in prediction["patterns"]:
        lines.append(f"  pattern {p['scenario']} ({p['why']}), format {p['format']}:")
        for line in p["same_env"]:
            ranges = "; ".join(f"{STATUS_LABELS[r['status']][1]} {r['versions']}" for r in line["ranges"])  # type: ignore[index]
            lines.append(f"    each {line['flavour']} env loading a file it saved itself: {ranges}")
        if p["from_saved_in"]:
            lines.append(f"    saved in {prediction['saved_in']}, loaded in:")
            for c in p["from_saved_in"]:
                fix = f" (fix: {c['fix']})" if c["fix"] and c["status"] != "pass" else ""
                if c["status"] == "pass_custom_objects" and prediction["custom_objects"]:
                    fix = f" (load with {_custom_objects(prediction['custom_objects'])})"
                lines.append(f"      {c['load_row']}: {STATUS_LABELS[c['status']][1]}{fix}")  # type: ignore[index]
    return "\n".join(lines) + "\n"
