""" "Can I upgrade?" (templates/page/answer.js): each cross-env cell's answer, each cell's use, the answer
between every two uses of the same-env cells, and the upgrades the panel opens on and offers."""

from __future__ import annotations

from typing import Any

from runner.core.cells import upgrade_answer
from runner.core.status import OPTION_CALLS
from runner.core.vocab import ANSWER_TITLES, ANSWERS

from .page_pack import Columns
from .upgrades import savers_of, shortcuts
from .view import View

FIELDS = ("answer", "use")


def answers(view: View) -> tuple[Columns, dict[str, Any]]:
    """Per cell (``view.cells`` order): its answer (index into ``answers``; -1 on same-env cells) and its use
    (index into ``uses``), and the tables they point into.

    A cell's "use" is its status and the call it rests on. The answer between two uses is one rule
    (runner/core/cells.py upgrade_answer): the page reads it from these tables, never applies it itself.
    """
    same_env = {(c.scenario, c.format, c.save_row): c for c in view.cells if c.same_env}
    answer_ix = {a: i for i, a in enumerate(ANSWERS)}
    uses: list[tuple[str, str | None]] = []
    use_ix: dict[tuple[str, str | None], int] = {}
    columns = Columns(FIELDS)
    for c in view.cells:
        answer = use = -1
        if c.status is not None:
            if not c.same_env:
                before = same_env.get((c.scenario, c.format, c.save_row))
                answer = answer_ix[
                    upgrade_answer(
                        before.status if before else None, c.status, before.option if before else None, c.option
                    )
                ]
            use = use_ix.setdefault((c.status, c.option), len(use_ix))
            if use == len(uses):
                uses.append((c.status, c.option))
        columns.append((answer, use))
    # upgrade_answer between every two uses of the same-env cells: what changes for the files a team
    # saves after an upgrade (saved and loaded in A, then saved and loaded in B)
    same_uses = sorted({use_ix[(c.status, c.option)] for c in view.cells if c.same_env and c.status is not None})
    use_answers = {
        f"{a},{b}": answer_ix[upgrade_answer(uses[a][0], uses[b][0], uses[a][1], uses[b][1])]
        for a in same_uses
        for b in same_uses
    }
    tables = {
        # the upgrade the "Can I upgrade?" panel opens on: the first of the usual ones (runner/report/answers.py)
        "default_upgrade": [view.common[0].save["id"], view.common[0].load["id"]] if view.common else None,
        # a cross-env cell's answer to "can I upgrade?" (runner/core/cells.py upgrade_answer), by index
        "answers": [{"id": a, "title": ANSWER_TITLES[a]} for a in ANSWERS],
        # what a user adds to load_model for each option (the "change your load call" answer)
        "option_calls": OPTION_CALLS,
        # [status, option] per use; "a,b": the answer (index into answers) from use a to use b
        "uses": [list(u) for u in uses],
        "use_answers": use_answers,
        # per row (index): the rows an upgrade from it usually goes to, for the upgrade view's shortcuts
        "shortcuts": shortcuts(view.columns, savers_of(view.cells)),
    }
    return columns, tables
