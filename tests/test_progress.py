"""Progress for output that is not a terminal, and what counts as failing."""

from __future__ import annotations

import io
import re

from runner.run.progress import PlainProgress
from runner.run.state import failing


def _figures(text: str) -> list[tuple[int, int, int]]:
    return [tuple(map(int, m)) for m in re.findall(r"(\d+)/(\d+) cells.*?(\d+) failing", text)]  # type: ignore[misc]


def test_plain_lines_carry_done_total_and_failing_and_the_last_one_is_complete() -> None:
    log, tty = io.StringIO(), io.StringIO()
    progress = PlainProgress(every=3600, stream=log, terminal=tty)
    progress.start(3)
    progress.advance("r", 1, 1)  # within `every`: no line
    progress.advance("r", 2, 0)  # the last cell: a line
    assert _figures(tty.getvalue()) == [(0, 3, 0), (3, 3, 1)] and log.getvalue() == ""
    assert tty.getvalue().count("\r\x1b[K") == 2  # each line first clears tox's spinner
    # without a terminal (CI, a pipe) the same lines go to the log
    plain = io.StringIO()
    progress = PlainProgress(every=0, stream=plain)
    progress.start(2)
    progress.advance("r", 2, 0)
    assert _figures(plain.getvalue()) == [(0, 2, 0), (2, 2, 0)]


def test_failing_follows_the_status_rules() -> None:
    def rec(option: str, outcome: str) -> dict:
        return {"option": option, "outcome": outcome, "error": None, "written": "hdf5"}

    assert failing([rec("default", "load_error"), rec("custom_objects", "ok")]) == 0  # pass with custom_objects
    assert failing([rec("default", "wrong_output"), rec("custom_objects", "ok")]) == 1
    assert failing([rec("default", "load_error"), rec("compile_off", "load_error")]) == 1
