"""Cells: their key, counts by status, and the one rule for "works / breaks / fixed".

A cell is one scenario × format × save environment × load environment. What a
status means to a user is its :func:`verdict`: their ``load_model(path)`` works
unchanged, works only if they change the call, breaks, or returns silently wrong
outputs. Every view that compares two cells (the diff between runs, an upgrade,
the version ranges, the page's script through ``page_data``) asks
:func:`transition`, which is written in verdicts: a change in the load call a
user must make counts as a break.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from .vocab import STATUSES, WORKING, Answer, Verdict

CellKey = tuple[str, str, str, str]
KEY_FIELDS = ("scenario", "format", "save_row", "load_row")

Transition = Literal["broken", "fixed", "changed", "same"]


def cell_key(cell: dict[str, Any]) -> CellKey:
    return (cell["scenario"], cell["format"], cell["save_row"], cell["load_row"])


def works(status: str | None) -> bool:
    return status in WORKING


def verdict(status: str) -> Verdict:
    """``works``: a plain ``load_model`` loads it and computes the same; ``change_call``: only with another
    call (custom_objects, safe_mode=False, TFSMLayer for inference only); ``wrong``: it loads and computes
    something else; else ``breaks``."""
    if status == "pass":
        return "works"
    if status in WORKING:
        return "change_call"
    return "wrong" if status == "wrong_output" else "breaks"


# What each working call changes in a user's ``load_model(path)``: a call works for a user whose own call
# makes the same changes or more (custom_objects plus safe_mode=False still loads what custom_objects loads).
CHANGES: dict[str, frozenset[str]] = {
    "default": frozenset(),
    "load_weights": frozenset(),  # the plain call of a weights file
    "custom_objects": frozenset({"objects"}),
    "registered": frozenset({"objects"}),
    "safe_mode_off": frozenset({"unsafe"}),
    "custom_objects_unsafe": frozenset({"objects", "unsafe"}),
    "tfsm_layer": frozenset({"tfsm_layer"}),
    "saved_model": frozenset({"saved_model"}),
}


def transition(
    before: str, after: str, before_option: str | None = None, after_option: str | None = None
) -> Transition:
    """What happens to a user whose load call worked (or not) on ``before`` when they meet ``after``.

    ``broken``: the call that worked no longer does: it fails, computes something else, or needs another
    call (pass -> pass with custom_objects counts, and so does TFSMLayer -> tf.saved_model.load); a
    visible error that became a silent wrong answer counts too. ``fixed``: it did not work and now does
    (with or without another call). ``changed``: another status that is neither (e.g. works with an
    option -> works plainly, one error -> another).

    With both cells' options, two working cells compare by their calls (:data:`CHANGES`): the user's
    call still works when the call that works now makes no change theirs does not. Without them, by
    status: any change of a working status but to ``pass`` is a break.
    """
    was, now = verdict(before), verdict(after)
    working = ("works", "change_call")
    if was in working and now in working and before_option in CHANGES and after_option in CHANGES:
        if not CHANGES[after_option] <= CHANGES[before_option]:
            return "broken"
        return "same" if before == after else "changed"
    if before == after:
        return "same"
    if was in working and now != "works":
        # includes pass with custom_objects <-> pass with safe_mode=False: the call that worked raises
        return "broken"
    if was == "breaks" and now == "wrong":
        return "broken"
    if was in ("breaks", "wrong") and now in working:
        return "fixed"
    return "changed"


def upgrade_answer(
    before: str | None, after: str, before_option: str | None = None, after_option: str | None = None
) -> Answer:
    """Saved and loaded in A (``before``), saved in A and loaded in B (``after``): what the upgrade does.

    ``works``: the load call that works in A works in B (the same call, or a plainer one); otherwise what
    :func:`transition` calls broken, by what B does: ``change_call``, ``breaks`` or ``wrong``. A pattern
    that does not work in A is ``fixed`` if it works in B, else ``already_fails``.
    """
    if before is None or verdict(before) in ("breaks", "wrong"):
        return "fixed" if verdict(after) in ("works", "change_call") else "already_fails"
    if transition(before, after, before_option, after_option) in ("same", "changed"):
        return "works"
    return verdict(after)


def count_statuses(statuses: Iterable[str | None]) -> dict[str, int]:
    """How many of each status, in the vocabulary's order, zeros and ``None`` left out."""
    counts: dict[str, int] = {}
    for status in statuses:
        if status is not None:
            counts[status] = counts.get(status, 0) + 1
    return {s: counts[s] for s in STATUSES if s in counts}
