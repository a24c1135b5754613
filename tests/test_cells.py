"""The one rule for what an upgrade does to a user's load call (runner/core/cells.py)."""

from __future__ import annotations

import pytest

from runner.core.cells import transition, upgrade_answer


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        (("pass", "default"), ("pass_inference_only", "tfsm_layer"), "broken"),  # load_model -> TFSMLayer
        (("pass_inference_only", "tfsm_layer"), ("pass_inference_only", "saved_model"), "broken"),
        (("pass_inference_only", "tfsm_layer"), ("pass_inference_only", "tfsm_layer"), "same"),
        (("pass_custom_objects", "custom_objects"), ("pass_custom_objects", "registered"), "same"),
        (("pass_unsafe", "safe_mode_off"), ("pass_unsafe", "custom_objects_unsafe"), "broken"),
        # the user's custom_objects + safe_mode=False still loads what custom_objects alone loads
        (("pass_unsafe", "custom_objects_unsafe"), ("pass_custom_objects", "custom_objects"), "changed"),
        (("pass_custom_objects", "custom_objects"), ("pass_unsafe", "safe_mode_off"), "broken"),
        (("pass_unsafe", "safe_mode_off"), ("pass", "default"), "changed"),
        (("load_error", "default"), ("wrong_output", "custom_objects"), "broken"),
        (("load_error", "default"), ("pass_inference_only", "tfsm_layer"), "fixed"),
    ],
)
def test_transition_compares_the_calls(before: tuple[str, str], after: tuple[str, str], kind: str) -> None:
    assert transition(before[0], after[0], before[1], after[1]) == kind


def test_without_options_statuses_decide() -> None:
    assert transition("pass_custom_objects", "pass_unsafe") == "broken"
    assert transition("pass_unsafe", "pass") == "changed"


def test_a_keras2_savedmodel_in_keras3_is_a_changed_call() -> None:
    assert upgrade_answer("pass", "pass_inference_only", "default", "tfsm_layer") == "change_call"
    assert upgrade_answer("pass_custom_objects", "wrong_output", "custom_objects", "custom_objects") == "wrong"
    assert upgrade_answer(None, "pass") == "fixed"
