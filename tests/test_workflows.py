"""The workflows in .github/workflows/, read as data.

The nightly's shard count has one source, its ``shard`` matrix: every ``--shard``
argument must come out as I/N for each matrix value I, with N the matrix's size, and
runner's split (runner/run/pairs.py ``shard``) must cover every pair for that N.
Every action is pinned to a commit with its tag beside it, and every workflow says
its permissions.
"""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.run.grid import load_grid
from runner.run.pairs import PAIRS_MODES, plan_pairs, shard

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"
NIGHTLY = WORKFLOWS / "nightly.yml"
EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True
    if True in data:
        data["on"] = data.pop(True)
    return data


def _expand(value: str, env: dict[str, str], context: dict[str, str]) -> str:
    """``value`` with $VAR / ${VAR} from ``env`` and ${{ ... }} from ``context`` filled in."""

    def expr(m: re.Match[str]) -> str:
        if m.group(1) not in context:
            raise KeyError(m.group(1))
        return context[m.group(1)]

    value = EXPR.sub(expr, value)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: _expand(env[m.group(1)], {}, context), value)


def shard_problems(workflow: dict[str, Any]) -> list[str]:
    """Why the shard job's ``--shard`` arguments and its matrix may disagree (empty: they agree)."""
    job = workflow["jobs"]["shard"]
    matrix = job["strategy"]["matrix"]
    if set(matrix) != {"shard"}:
        return [f"the shard matrix must have the one key `shard` (job-total counts all combinations): {sorted(matrix)}"]
    values = matrix["shard"]
    count = len(values)
    problems = []
    if values != list(range(1, count + 1)):
        problems.append(f"matrix.shard must be 1..{count} in order, got {values}")
    steps = [s for s in job["steps"] if "--shard" in str(s.get("run", ""))]
    if not steps:
        problems.append("no step passes --shard")
    for step in steps:
        env = {**job.get("env", {}), **step.get("env", {})}
        words = shlex.split(step["run"])
        args = [words[i + 1] for i, w in enumerate(words) if w == "--shard"]
        for index in values:
            context = {"matrix.shard": str(index), "strategy.job-total": str(count)}
            for arg in args:
                try:
                    got = _expand(arg, {k: str(v) for k, v in env.items()}, context)
                except KeyError as exc:
                    problems.append(f"--shard {arg}: {exc} is not the matrix value or strategy.job-total")
                    continue
                if got != f"{index}/{count}":
                    problems.append(f"job {index} of {count} runs --shard {got}")
    return problems


def test_nightly_shard_argument_follows_the_matrix() -> None:
    assert shard_problems(load(NIGHTLY)) == []


def test_nightly_shard_count_is_derived_not_written_twice() -> None:
    workflow = load(NIGHTLY)
    workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"].append(21)  # one edit: the matrix only
    assert shard_problems(workflow) == []


def _set(workflow: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(workflow)
    job = changed["jobs"]["shard"]
    if name == "matrix":
        job["strategy"]["matrix"] = value
    else:
        step = next(s for s in job["steps"] if "--shard" in str(s.get("run", "")))
        step.setdefault("env", {})[name] = value
    return changed


@pytest.mark.parametrize(
    "name,value",
    [
        ("SHARDS", "20"),  # the count written out again: a 21st matrix entry would not change it
        ("SHARDS", "${{ strategy.job-index }}"),
        ("SHARD", "${{ strategy.job-index }}"),  # 0-based
        ("matrix", {"shard": list(range(1, 20)) + [21]}),
        ("matrix", {"shard": list(range(1, 21)), "python": ["3.11", "3.12"]}),  # job-total doubles
    ],
)
def test_editing_one_side_only_is_caught(name: str, value: Any) -> None:
    workflow = load(NIGHTLY)
    if name == "SHARDS":  # one side edited: the matrix grows by one, the count stays written out
        workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"].append(21)
    assert shard_problems(_set(workflow, name, value))


def test_a_literal_count_in_the_command_is_caught() -> None:
    workflow = load(NIGHTLY)
    step = next(s for s in workflow["jobs"]["shard"]["steps"] if "--shard" in str(s.get("run", "")))
    step["run"] = step["run"].replace('"$SHARD/$SHARDS"', '"${{ matrix.shard }}/20"')
    assert shard_problems(workflow) == []  # 20 shards: still right
    workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"].append(21)
    assert shard_problems(workflow)


def test_runner_split_covers_every_pair_for_the_nightly_count() -> None:
    count = len(load(NIGHTLY)["jobs"]["shard"]["strategy"]["matrix"]["shard"])
    rows = load_grid().rows
    for mode in PAIRS_MODES:
        pairs = plan_pairs(rows, mode)
        parts = [shard(pairs, i, count) for i in range(1, count + 1)]
        joined = [p for part in parts for p in part]
        assert sorted(joined) == sorted(pairs), mode  # every pair once, none twice
        loads = [{load for _, load in part} for part in parts]
        assert all(not (a & b) for i, a in enumerate(loads) for b in loads[i + 1 :]), mode  # a load row on one shard
        if mode == "all":
            assert all(parts), "a shard with no pairs: more shards than load rows"


def test_nightly_pairs_choices_are_the_runners() -> None:
    pairs = load(NIGHTLY)["on"]["workflow_dispatch"]["inputs"]["pairs"]
    assert pairs["options"] == list(PAIRS_MODES) and pairs["default"] in PAIRS_MODES


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_actions_pinned_to_a_commit_and_permissions_set(path: Path) -> None:
    uses = [line for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert [line for line in uses if not PINNED.match(line)] == []
    workflow = load(path)
    assert workflow.get("permissions") == {}  # nothing by default: each job asks for what it needs
    assert all("permissions" in job for job in workflow["jobs"].values())


def test_the_nightly_jobs_are_the_simulated_jobs() -> None:
    """The save and load jobs call tools/nightly/jobs.py, the script `jobs.py simulate` runs here job by job;
    the save matrix's count follows the same I/N rule as the shards', and every row is saved by one job."""
    from runner.run.pairs import save_groups

    workflow = load(NIGHTLY)
    save, shard_job = workflow["jobs"]["save"], workflow["jobs"]["shard"]
    save_runs = [s["run"] for s in save["steps"] if "jobs.py" in str(s.get("run", ""))]
    load_runs = [s["run"] for s in shard_job["steps"] if "jobs.py" in str(s.get("run", ""))]
    assert [shlex.split(r)[:3] for r in save_runs] == [["python", "tools/nightly/jobs.py", "save"]]
    assert [shlex.split(r)[:3] for r in load_runs] == [["python", "tools/nightly/jobs.py", "load"]]
    assert shard_job["needs"] == "save" and workflow["jobs"]["merge"]["needs"] == "shard"
    values = save["strategy"]["matrix"]["job"]
    step = next(s for s in save["steps"] if "jobs.py" in str(s.get("run", "")))
    words = shlex.split(step["run"])
    arg = words[words.index("--job") + 1]
    for index in values:
        context = {"matrix.job": str(index), "strategy.job-total": str(len(values))}
        assert _expand(arg, {k: str(v) for k, v in step["env"].items()}, context) == f"{index}/{len(values)}"
    groups = save_groups(list(load_grid().rows), len(values))
    assert sorted(r for g in groups for r in g) == sorted(r.id for r in load_grid().rows if not r.load_only)
