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

# Load options, in the order a lazy cell tries them (runner/core/status.py ranks them).
OPTIONS = ("default", "custom_objects", "registered", "safe_mode_off", "compile_off")

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

MAX_MESSAGE = 600  # characters of an exception message kept in a record
TRACEBACK_LINES = 12  # lines of a traceback's tail kept in a record
STDERR_LINES = 40  # lines of a dead process's stderr handed back for its crash message

# Events on the protocol stream (JSON lines on the harness's original stdout).
EVENT_READY = "ready"  # after import and warm-up: {"facts", "fork", "fork_error", "warmup"}
EVENT_RECORD = "record"  # one answer per request: {"id", "outcome", ...}
EVENTS = (EVENT_READY, EVENT_RECORD)

# save: a scenario's train cell and its saves; load: one artifact with one option;
# check: a user's own model file with one option (keras-compat check), its output written to "out"
REQUEST_KINDS = ("save", "load", "check")

# Machine-specific text is removed from messages so that error signatures are stable.
ABS_PATH = re.compile(r"(?<![\w<:/.])(/[\w.+-]+){2,}/?")  # not inside URLs
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


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
    return ADDRESS.sub("0x…", text)


def add_root(roots, path, placeholder):
    """``roots`` with ``path`` -> ``placeholder`` added, longest prefix first."""
    if not path:
        return roots
    entry = (os.path.abspath(path), placeholder)
    return sorted(set(roots) | {entry}, key=lambda item: -len(item[0]))
