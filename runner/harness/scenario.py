"""Scenario files: a header, then a ``# %% train``, a ``# %% serve`` and a ``# %% rebuild`` cell.

The header builds the model (``build()``); ``train`` is what only the notebook that saved it
has; ``serve`` what the service that loads it has (``CUSTOM_OBJECTS``, ``register()``);
``rebuild`` what the team keeps of the model's code for rebuilding it and loading only its
weights (the globals ``build()`` reads, say). Each side is the header plus its own cell, and
runs as a fresh module named ``__main__``: tf.keras resolves a Lambda's globals through
``sys.modules[config["module"]]``, which is ``__main__`` in the notebook that saved it and in
the service that loads it.
"""

import ast
import io
import re
import sys
import types

_CELL = re.compile(r"^# %% (train|serve|rebuild)\s*$")
SIDES = ("train", "serve", "rebuild")


def source(path, side):
    """The scenario's source for one side, other cells blanked so line numbers hold."""
    with io.open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    keep = []
    cell = None
    seen = set()
    for line in lines:
        match = _CELL.match(line)
        if match:
            cell = match.group(1)
            seen.add(cell)
        keep.append(line if cell in (None, side) else "")
    if side not in seen:
        raise ValueError("%s has no '# %%%% %s' cell" % (path, side))
    return "\n".join(keep)


def run_side(path, side, artifacts):
    """Execute one side as a fresh module, installed as ``sys.modules["__main__"]``.

    ``ARTIFACTS`` is the folder the scenario may keep files in (a hub module). The
    module stays installed: the process (a forked child) ends after this request.
    """
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.ARTIFACTS = artifacts
    module.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = module
    exec(compile(source(path, side), path, "exec"), module.__dict__)
    return module


def run_module(path):
    """Execute a whole file (``keras-compat check --serve``: the team's own loading code) as ``__main__``."""
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = module
    with io.open(path, encoding="utf-8") as handle:
        exec(compile(handle.read(), path, "exec"), module.__dict__)
    return module


def is_canary(path):
    """Whether the scenario's header sets ``CANARY = True`` (read from its syntax tree; nothing runs)."""
    with io.open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CANARY" for t in node.targets):
            return getattr(node.value, "value", None) is True
    return False


def serve_declares(path):
    """What the serve side declares, read from its syntax tree (nothing runs):
    ``{"custom_objects": bool, "register": bool, "estimator": bool}``."""
    tree = ast.parse(source(path, "serve"), filename=path)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return {"custom_objects": "CUSTOM_OBJECTS" in names, "register": "register" in names,
            "estimator": "ESTIMATOR" in names}
