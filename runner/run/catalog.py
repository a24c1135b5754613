"""The scenario catalog, read without executing it.

The orchestrator never runs scenario code (or a model's stored code) in its own
process: metadata comes from the files' syntax tree (docstring and literal
constants), the code runs only inside target envs through ``runner/harness`` (``python -m runner.harness``).
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path

from runner.core.errors import SelectionError
from runner.harness.scenario import SIDES

REPO = Path(__file__).resolve().parents[2]
SCENARIO_DIR = REPO / "scenarios"
HARNESS_DIR = REPO / "runner" / "harness"  # the in-env package: python -m runner.harness
NOT_SCENARIOS = {"__init__"}


@dataclass(frozen=True, kw_only=True)
class Scenario:
    id: str
    path: Path
    title: str
    description: str
    source: str
    claim: str
    fix: str
    hash: str
    canary: bool = False  # CANARY = True: it observes what each load call runs, so every call is made
    same_env_only: bool = False  # PAIRS = "same": its files are loaded only where they were saved

    @classmethod
    def from_file(cls, path: Path) -> Scenario:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        doc = ast.get_docstring(tree) or ""
        consts: dict[str, str] = {}
        canary = False
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    consts[node.targets[0].id] = node.value.value
                if node.targets[0].id == "CANARY" and isinstance(node.value, ast.Constant):
                    canary = node.value.value is True
        missing = [cell for cell in SIDES if f"# %% {cell}" not in text]
        if missing:
            raise SelectionError(
                f"scenario {path.name} lacks its {', '.join(repr('# %% ' + c) for c in missing)} cell(s): "
                "add them (runner/harness/scenario.py says what each holds)"
            )
        title, _, rest = doc.partition("\n")
        return cls(
            id=path.stem,
            path=path,
            title=title.strip().rstrip("."),
            description=" ".join(rest.split()),
            source=consts.get("SOURCE", ""),
            claim=consts.get("CLAIM", ""),
            fix=consts.get("FIX", ""),
            hash=hashlib.sha256(text.encode()).hexdigest(),
            canary=canary,
            same_env_only=consts.get("PAIRS") == "same",
        )


def measured_in(pair: tuple[str, str], scenarios: dict[str, Scenario]) -> list[str]:
    """The scenarios a save/load pair measures: all on a same-env pair; on a cross-env one, all but those whose
    files are loaded only where they were saved (``PAIRS = "same"``: the code-on-load vectors)."""
    return [name for name, s in scenarios.items() if pair[0] == pair[1] or not s.same_env_only]


def load_catalog(directory: Path = SCENARIO_DIR) -> dict[str, Scenario]:
    files = sorted(p for p in directory.glob("*.py") if p.stem not in NOT_SCENARIOS and not p.stem.startswith("_"))
    return {p.stem: Scenario.from_file(p) for p in files}


def harness_hash(directory: Path = HARNESS_DIR) -> str:
    """One hash of every file of the in-env harness: a change to any of them re-runs every cell."""
    h = hashlib.sha256()
    for path in sorted(directory.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()
