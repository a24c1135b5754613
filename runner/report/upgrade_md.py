"""One upgrade path as Markdown for a pull request: saved with A, loaded with B.

For every scenario x format, the status when the artifact is loaded where it was
saved (A -> A) is compared with loading it after the upgrade (A -> B); the cells
whose status changes are listed with the error and the fix.
"""

from __future__ import annotations

from runner.core.cells import transition
from runner.core.errors import SelectionError
from runner.core.vocab import STATUS_LABELS


def _label(status: str) -> str:
    symbol, label = STATUS_LABELS[status]  # type: ignore[index]
    return f"{symbol} {label}"


def upgrade_changes(results: dict, src: str, dst: str) -> list[dict]:
    cells = {(c["scenario"], c["format"], c["save_row"], c["load_row"]): c for c in results["cells"]}
    rows = {r["id"] for r in results["rows"]}
    for row in (src, dst):
        if row not in rows:
            raise SelectionError(
                f"row {row!r} is not in these results; run it first: "
                f"python -m runner run --pairs all --rows {src},{dst}"
            )
    changes = []
    missing = 0
    for sc in [s["id"] for s in results["scenarios"]]:
        for fmt in results["formats"]:
            before = cells.get((sc, fmt, src, src))
            after = cells.get((sc, fmt, src, dst))
            if before is None or after is None:
                missing += 1
                continue
            if transition(before["status"], after["status"]) != "same":
                changes.append({"scenario": sc, "format": fmt, "before": before, "after": after})
    if missing == len(results["scenarios"]) * len(results["formats"]):
        raise SelectionError(
            f"no cells saved in {src} and loaded in {dst} in these results; measure the pair with: "
            f"python -m runner run --pairs all --rows {src},{dst}"
        )
    return changes


def upgrade_markdown(results: dict, src: str, dst: str) -> str:
    changes = upgrade_changes(results, src, dst)
    total = len(results["scenarios"]) * len(results["formats"])
    lines = [
        f"### Upgrade `{src}` → `{dst}`",
        "",
        f"{len(changes)} of {total} scenario × format cells change status when a model saved in `{src}` "
        f"is loaded in `{dst}` instead of `{src}`.",
        "",
    ]
    if not changes:
        lines.append("Nothing changes: every pattern behaves as before.")
        return "\n".join(lines) + "\n"
    lines += [
        f"| scenario | format | before (`{src}`) | after (`{dst}`) | error after | fix |",
        "|---|---|---|---|---|---|",
    ]
    for ch in changes:
        err = ch["after"].get("error") or {}
        message = " ".join(str(err.get("message", "")).split())[:160].replace("|", "\\|")
        error = f"`{err.get('type')}`: {message}" if err else ""
        fix = (ch["after"].get("fix") or "").replace("|", "\\|")
        lines.append(
            f"| `{ch['scenario']}` | `{ch['format']}` | {_label(ch['before']['status'])} | "
            f"{_label(ch['after']['status'])} | {error} | {fix} |"
        )
    return "\n".join(lines) + "\n"
