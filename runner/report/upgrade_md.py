"""One upgrade path as Markdown for a pull request: saved with A, loaded with B.

Three questions, each answered per scenario x format by the one rule
(runner/core/cells.py ``upgrade_answer``):

1. the files you have: saved in A and loaded in A, against saved in A and loaded in B;
2. the files you save after the upgrade: saved and loaded in A, against saved and loaded
   in B (what ``model.save`` writes may change, and the call that reads it);
3. rolling back: saved and loaded in B, against saved in B and loaded in A (where measured).

Then, where the run has canaries (runner/report/security.py), the ways a file runs code or reaches outside
itself on a plain load that the upgrade closes, and those it opens.

Only the cells whose answer is not "works unchanged" (or whose save writes something else)
are listed, with the change to the load call, the deciding error and the fix.
"""

from __future__ import annotations

from typing import Any

from runner.core.cells import upgrade_answer
from runner.core.errors import SelectionError
from runner.core.status import OPTION_CALLS
from runner.core.vocab import ANSWER_TITLES, STATUS_LABELS, WRITTEN_MEANINGS

from .security import OBSERVED_LABELS, Change, changes, code_runs

Cells = dict[tuple[str, str, str, str], dict]
QUIET = ("works", "already_fails")


def _label(status: str) -> str:
    symbol, label = STATUS_LABELS[status]  # type: ignore[index]
    return f"{symbol} {label}"


def _answer(before: dict | None, after: dict) -> str:
    return upgrade_answer(
        before["status"] if before else None, after["status"], before["option"] if before else None, after["option"]
    )


def _pairs(results: dict, cells: Cells, before_of: tuple[str, str], after_of: tuple[str, str]) -> list[dict]:
    """Every scenario x format with both cells measured, with its answer."""
    out = []
    for sc in [s["id"] for s in results["scenarios"]]:
        for fmt in results["formats"]:
            before = cells.get((sc, fmt, *before_of))
            after = cells.get((sc, fmt, *after_of))
            if before is not None and after is not None:
                out.append(
                    {"scenario": sc, "format": fmt, "before": before, "after": after, "answer": _answer(before, after)}
                )
    return out


def upgrade_changes(results: dict, src: str, dst: str) -> list[dict]:
    """The files you have (saved in ``src``): every scenario x format whose answer in ``dst`` is not
    "works unchanged" or "already fails"."""
    return [p for p in _files_you_have(results, src, dst) if p["answer"] not in QUIET]


def _cells(results: dict) -> Cells:
    return {(c["scenario"], c["format"], c["save_row"], c["load_row"]): c for c in results["cells"]}


def _files_you_have(results: dict, src: str, dst: str) -> list[dict]:
    rows = {r["id"] for r in results["rows"]}
    for row in (src, dst):
        if row not in rows:
            raise SelectionError(
                f"row {row!r} is not in these results; run it first: "
                f"python -m runner run --pairs all --rows {src},{dst}"
            )
    pairs = _pairs(results, _cells(results), (src, src), (src, dst))
    if not pairs:
        raise SelectionError(
            f"no cells saved in {src} and loaded in {dst} in these results; measure the pair with: "
            f"python -m runner run --pairs all --rows {src},{dst}"
        )
    return pairs


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _error(cell: dict) -> str:
    """The deciding error, whole: folded after its first 120 characters (GitHub renders <details> in tables)."""
    err = cell.get("error") or {}
    if not err:
        return ""
    message = _one_line(str(err.get("message", "")))
    head = f"`{err.get('type')}`: "
    if len(message) <= 160:
        return head + message
    return f"<details><summary>{head}{message[:120]}…</summary>{message}</details>"


def _what(p: dict) -> str:
    after = p["after"]
    if p["answer"] == "change_call":
        return f"{ANSWER_TITLES['change_call']}: {OPTION_CALLS.get(after['option'], after['option'])}"
    if p["answer"] == "wrong" and after["option"] not in ("default", "load_weights"):
        return f"{ANSWER_TITLES['wrong']} with {OPTION_CALLS.get(after['option'], after['option'])}"
    return ANSWER_TITLES[p["answer"]]  # type: ignore[index]


def _table(pairs: list[dict], before: str, after: str, note: Any = None) -> list[str]:
    lines = [
        f"| scenario | format | before ({before}) | after ({after}) | answer | error after | fix |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in pairs:
        fix = _one_line(p["after"].get("fix") or "") if p["answer"] in ("breaks", "wrong") else ""
        extra = note(p) if note else ""
        lines.append(
            f"| `{p['scenario']}` | `{p['format']}` | {_label(p['before']['status'])} | "
            f"{_label(p['after']['status'])}{extra} | {_what(p)} | {_error(p['after'])} | {fix} |"
        )
    return lines


def _written_change(p: dict) -> str:
    was, now = p["before"].get("written"), p["after"].get("written")
    if was == now or not now:
        return ""
    return f"<br>writes {WRITTEN_MEANINGS.get(now, now)}, not {WRITTEN_MEANINGS.get(was, was or 'nothing')}"  # type: ignore[call-overload]


def upgrade_markdown(results: dict, src: str, dst: str) -> str:
    cells = _cells(results)
    have = _files_you_have(results, src, dst)
    changes = [p for p in have if p["answer"] not in QUIET]
    lines = [
        f"### Upgrade `{src}` → `{dst}`",
        "",
        "#### The files you have",
        "",
        f"{len(changes)} of {len(have)} scenario × format cells measured need attention when a model saved in "
        f"`{src}` is loaded in `{dst}` instead of `{src}`.",
        "",
    ]
    lines += (
        _table(changes, f"`{src}`", f"`{dst}`") if changes else ["Nothing changes: every pattern behaves as before."]
    )
    later = _pairs(results, cells, (src, src), (dst, dst))
    later_changes = [p for p in later if p["answer"] not in QUIET or _written_change(p)]
    lines += ["", "#### Files you save after the upgrade", ""]
    if not later:
        lines.append(f"Not measured: `{src}` or `{dst}` saved nothing here.")
    else:
        lines += [
            f"{len(later_changes)} of {len(later)} scenario × format cells change when they are saved and loaded in "
            f"`{dst}` instead of `{src}`.",
            "",
        ]
        lines += (
            _table(later_changes, f"`{src}`", f"`{dst}`", _written_change)
            if later_changes
            else ["Nothing changes for the files you save from now on."]
        )
    back = _pairs(results, cells, (dst, dst), (dst, src))
    back_changes = [p for p in back if p["answer"] not in QUIET]
    lines += ["", "#### Rolling back", ""]
    if not back:
        lines.append(
            f"Not measured: no file saved in `{dst}` was loaded in `{src}` here "
            f"(`python -m runner run --pairs all --rows {src},{dst}` measures it)."
        )
    else:
        lines += [
            f"{len(back_changes)} of {len(back)} scenario × format cells saved in `{dst}` need attention when "
            f"loaded in `{src}`.",
            "",
        ]
        lines += (
            _table(back_changes, f"`{dst}`", f"`{src}`")
            if back_changes
            else ["Every file saved after the upgrade loads as before after rolling back."]
        )
    return "\n".join(lines + _code_on_load(results, src, dst)) + "\n"


def _change(c: Change, src: str, dst: str) -> str:
    before, after = OBSERVED_LABELS[c.before.value][1], OBSERVED_LABELS[c.after.value][1]
    return f"- {c.probe.name} (`{c.probe.where}`): {before} in `{src}`, {after} in `{dst}`"


def _code_on_load(results: dict, src: str, dst: str) -> list[str]:
    """Upgrading to ``dst`` closes / opens: the vectors whose payload acts on a plain call in one and not the
    other (each env loading the file it saved; runner/report/security.py); nothing when no canary ran."""
    runs = code_runs(results, results["rows"])
    if not runs:
        return []
    closed, opened = changes(runs, src, dst)
    lines = ["", "#### Code that a plain load runs", ""]
    if not closed and not opened:
        return lines + [f"Upgrading to `{dst}` neither closes nor opens a way for a file to run code on a plain load."]
    if closed:
        lines += [f"Upgrading to `{dst}` closes:", "", *(_change(c, src, dst) for c in closed)]
    if opened:
        lines += ["", f"Upgrading to `{dst}` opens:", "", *(_change(c, src, dst) for c in opened)]
    return lines
