"""The one error normaliser: the key failures are grouped and compared by.

Used for the page's error groups, the diff between runs ("changed error") and
anything else that asks "is this the same failure?".
"""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
_MISMATCH_SIZE = re.compile(r"(max \|loaded - original\| = )[-+0-9.einfa]+")
_COUNTER = re.compile(r"(?<=_)\d+\b")  # lambda_3, dense_12: Keras's per-session layer counters
_GRAPH_TENSOR = re.compile(r'(?<=Tensor\(")\d+(?=:\d+")')  # Tensor("3100:0", ...): an op id in a graph


def error_signature(error_type: str, message: str) -> tuple[str, str]:
    """Exception type + normalised message.

    Normalising drops what differs between otherwise identical failures: memory
    addresses, Keras's auto-numbered layer names, graph tensors named by op id
    (``Tensor("3100:0", dtype=resource)`` in Keras 3's ``export()`` errors), whitespace, and the size of a
    wrong answer (``max |loaded - original| = 0.17``): a wrong output is the same
    failure whatever the difference (the number stays in the record).
    """
    text = _ADDRESS.sub("0x…", message)
    if error_type == "OutputMismatch":
        text = _MISMATCH_SIZE.sub(r"\1<diff>", text)
    text = _COUNTER.sub("N", text)
    text = _GRAPH_TENSOR.sub("N", text)
    return error_type, " ".join(text.split())
