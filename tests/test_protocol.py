"""The in-env harness and the orchestrator agree through one module, and the harness stays apart.

``runner/harness/protocol.py`` is the only thing both sides import. These tests fail
when a vocabulary, a tolerance or an option name changes on one side only, when the
harness imports the orchestrator, or when it stops parsing on Python 3.7.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from runner.core import vocab as model
from runner.core.status import FIX_FOR_OPTION, WORKS
from runner.harness import loading, protocol

HARNESS = Path(__file__).resolve().parents[1] / "runner" / "harness"
ALLOWED_ROOTS = {"numpy", "tensorflow", "keras", "tensorflow_hub", "jax", "torch"}


def test_vocabularies_are_the_same_on_both_sides() -> None:
    assert protocol.FORMATS == model.FORMATS
    assert protocol.OPTIONS == model.OPTIONS
    assert protocol.MODES == model.MODES
    assert set(protocol.ARTIFACT_NAMES) == set(model.FORMATS)
    # every option but the default is a fix the status rules can name, and they rank them in protocol order
    assert set(FIX_FOR_OPTION) == set(protocol.OPTIONS) - {"default"}
    ranked = [option for option, _ in WORKS]
    assert ranked == [o for o in protocol.OPTIONS if o in ranked]


def test_constants_live_only_in_the_protocol_module() -> None:
    """RTOL, ATOL, FORMATS, OPTIONS... are defined once: no other module of either side restates them."""
    shared = {"FORMATS", "OPTIONS", "MODES", "RTOL", "ATOL", "MAX_MESSAGE", "TRACEBACK_LINES", "TOLERANCE"}
    runner_dir = HARNESS.parent
    offenders = []
    for path in sorted(runner_dir.rglob("*.py")):
        if path == HARNESS / "protocol.py" or path == runner_dir / "core" / "vocab.py":
            continue
        for node in ast.parse(path.read_text()).body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            offenders += [f"{path.name}:{t.id}" for t in targets if isinstance(t, ast.Name) and t.id in shared]
    assert offenders == []


def test_an_unknown_option_is_refused_not_loaded_by_default() -> None:
    declares = {"custom_objects": True, "register": True, "estimator": False}
    with pytest.raises(ValueError, match="unknown load option"):
        loading.not_applicable("h5", "custom_object", declares, False, {"safe_mode"})
    assert loading.not_applicable("h5", "custom_objects", declares, False, {"safe_mode"}) is None
    assert "no custom_objects" in loading.not_applicable(
        "h5", "custom_objects", dict(declares, custom_objects=False), False, set()
    )


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


def test_the_harness_imports_only_stdlib_numpy_tf_keras_and_itself() -> None:
    stdlib = set(sys.stdlib_module_names)
    for path in sorted(HARNESS.glob("*.py")):
        for level, name in _imports(path):
            if level:  # relative: inside runner.harness
                continue
            root = name.split(".")[0]
            assert root in stdlib or root in ALLOWED_ROOTS, f"{path.name} imports {name}"
            assert root != "runner", f"{path.name} imports the orchestrator ({name})"


def test_the_harness_parses_on_python37() -> None:
    for path in sorted(HARNESS.glob("*.py")):
        tree = ast.parse(path.read_text(), feature_version=(3, 7))
        assert not any(isinstance(n, ast.NamedExpr) for n in ast.walk(tree)), path
    # python -m runner.harness executes runner/__init__.py in the target env first
    ast.parse((HARNESS.parent / "__init__.py").read_text(), feature_version=(3, 7))


def test_one_comparison_rule_for_matrix_loads_and_check() -> None:
    import numpy as np

    same = np.linspace(0, 1, 6).reshape(2, 3)
    assert loading.compare(same, same + protocol.ATOL / 2) == (pytest.approx(protocol.ATOL / 2), None)
    diff, error = loading.compare(same, same + 0.1)
    assert diff == pytest.approx(0.1) and error["type"] == "OutputMismatch"
    assert loading.compare(same, same.T, "tf2.15-k2-py3.11")[1]["type"] == "ShapeMismatch"
