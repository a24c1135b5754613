"""``keras-compat discover`` against a recorded index answer (tests/fixtures/index/, PyPI's JSON API).

The strongest check of the rules: take today's grid, remove the rows the rules make (the newest TF's
rows, the newer Keras 3 minors), and discover on the recorded answer must write them back, text and
all, exactly as the grid has them. Nothing here builds an env: the lock step is a recorder.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from runner.cli import main, parser
from runner.core.errors import EnvError, GridError
from runner.run import discover, gridedit, index
from runner.run.grid import GRID_FILE, Row, parse_grid

FIXTURES = Path(__file__).parent / "fixtures" / "index"
ASKED = "2026-12-02T04:39:00Z"  # when the fixtures were recorded (tests/fixtures/index/README.md)
REAL = GRID_FILE.read_text(encoding="utf-8")
WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "discover.yml"


@functools.cache
def _answers() -> dict[str, dict]:
    return {name: json.loads((FIXTURES / f"{name}.json").read_text()) for name in gridedit.packages_of(grid_rows())}


def answers() -> dict[str, dict]:
    """The recorded answers (a copy: a test may edit it)."""
    return copy.deepcopy(_answers())


@functools.cache
def _recorded() -> index.Index:
    return index.read_index(index.DEFAULT_INDEX, ASKED, _answers())


def grid_rows(text: str = REAL) -> tuple[Row, ...]:
    return parse_grid(text).rows


def recorded(answer: dict[str, dict] | None = None) -> index.Index:
    return index.read_index(index.DEFAULT_INDEX, ASKED, answer) if answer else _recorded()


def drop(text: str, ids: set[str]) -> str:
    """``text`` without the [[row]] tables of ``ids`` (and the blank line before each)."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "[[row]]":
            j = i + 1
            while j < len(lines) and lines[j].strip() and not lines[j].startswith("#"):
                j += 1
            table = tomllib.loads("".join(lines[i:j]))["row"][0]
            if Row.from_dict(table, "test").id in ids:
                if out and not out[-1].strip():
                    out.pop()
                i = j
                continue
            out.extend(lines[i:j])
            i = j
        else:
            out.append(lines[i])
            i += 1
    return "".join(out)


def rule_rows(predicate) -> set[str]:
    """The ids of the rows the rules make (not load-only rows, not container twins) that ``predicate`` picks."""
    return {r.id for r in grid_rows() if predicate(r) and not r.load_only and "container" not in r.tags}


NEWEST_TF = rule_rows(lambda r: r.tf.startswith("2.21.") or r.keras.startswith("3.12."))
TWO_TF_MINORS = rule_rows(lambda r: r.tf.startswith(("2.20.", "2.21.")))


@pytest.mark.parametrize("removed", [NEWEST_TF, TWO_TF_MINORS], ids=["tf2.21", "tf2.20-and-2.21"])
def test_the_rules_write_back_the_rows_the_grid_has(removed: set[str]) -> None:
    old = drop(REAL, removed)
    assert {r.id for r in grid_rows(old)} == {r.id for r in grid_rows()} - removed
    plan = discover.plan(old, recorded())
    assert {n.id for n in plan.rows} == removed
    assert plan.pins == ()
    assert gridedit.apply(old, plan) == REAL  # every row, its place, its note; every comment kept


def test_a_yanked_release_is_skipped_and_said() -> None:
    plan = discover.plan(drop(REAL, TWO_TF_MINORS), recorded())
    skips = {(s.package, s.version, s.reason) for s in plan.skipped}
    assert ("tf-keras", "2.20.0", "yanked") in skips
    tfk = next(n for n in plan.rows if n.id == "tf2.20-tfk2.20-py3.11")
    assert gridedit.pins(tfk.data["packages"])["tf-keras"] == "2.20.1"


def test_todays_grid_needs_nothing_from_the_recorded_answer() -> None:
    plan = discover.plan(REAL, recorded())
    assert (plan.rows, plan.pins) == ((), ())
    skips = {(s.package, s.version, s.reason, s.rows) for s in plan.skipped}
    assert ("tensorflow", "2.22.0rc0", "pre_release", ()) in skips
    # TF 2.11.1 has no cp37 wheel: the Python 3.7 row keeps 2.11.0 (runner/GRID_NOTES.md)
    assert ("tensorflow-cpu", "2.11.1", "no_wheel", ("tf2.11-k2-py3.7",)) in skips
    assert {name: r.version for name, r in plan.newest.items()} == {
        "tensorflow": "2.21.0",
        "tensorflow-cpu": "2.21.0",
        "keras": "3.15.1",
        "tf-keras": "2.21.0",
        "tensorflow-hub": "0.16.1",
    }


def test_a_newer_patch_replaces_the_pins_of_its_minor() -> None:
    old = REAL
    tf219 = {r.id for r in grid_rows() if r.tf == "2.19.1"}
    k392 = {r.id for r in grid_rows() if "keras==3.9.2" in r.packages}
    old = old.replace("2.19.1", "2.19.0").replace("keras==3.9.2", "keras==3.9.1").replace('"3.9.2"', '"3.9.1"')
    plan = discover.plan(old, recorded())
    assert plan.rows == ()
    assert {(c.row, c.package, c.old, c.new) for c in plan.pins} == {
        *((row, "tensorflow", "2.19.0", "2.19.1") for row in tf219),
        *((row, "keras", "3.9.1", "3.9.2") for row in k392),
    }
    assert gridedit.apply(old, plan) == REAL


def test_write_builds_each_new_row_then_writes_the_grid(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(drop(REAL, NEWEST_TF), encoding="utf-8")
    built: list[Row] = []
    plan = discover.plan(grid.read_text(), recorded(), str(grid))
    written = gridedit.write(grid, plan, built.append)
    assert grid.read_text() == REAL
    assert {r.id for r in built} == NEWEST_TF
    assert all(r == parse_grid(REAL).row(r.id) for r in built)  # built exactly as the grid now has it
    assert written.failed == {}


def test_a_row_that_does_not_build_is_not_written(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(drop(REAL, NEWEST_TF), encoding="utf-8")

    def build(row: Row) -> None:
        if row.id == "tf2.21-k3.13-py3.13":
            raise EnvError("missing interpreter: Python 3.13.0 not found")

    written = gridedit.write(grid, discover.plan(grid.read_text(), recorded()), build)
    assert set(written.failed) == {"tf2.21-k3.13-py3.13"}
    assert grid.read_text() == drop(REAL, {"tf2.21-k3.13-py3.13"})


def test_a_release_without_linux_wheels_adds_no_row() -> None:
    edited = answers()  # the recorded answer with TF 2.21.0's manylinux x86_64 wheels taken out
    files = edited["tensorflow"]["releases"]["2.21.0"]
    edited["tensorflow"]["releases"]["2.21.0"] = [f for f in files if "manylinux" not in f["filename"]]
    plan = discover.plan(drop(REAL, NEWEST_TF), recorded(edited))
    assert ("tensorflow", "2.21.0", "no_wheel") in {(s.package, s.version, s.reason) for s in plan.skipped}
    assert all(not str(n.data["tf"]).startswith("2.21") for n in plan.rows)


def test_wheel_tags_and_requires_python() -> None:
    answer = recorded()
    assert answer.get("tensorflow", "2.21.0").pythons == ("3.10", "3.11", "3.12", "3.13")
    assert "3.7" in answer.get("tensorflow-cpu", "2.11.0").pythons
    assert "3.7" not in answer.get("tensorflow-cpu", "2.11.1").pythons
    assert answer.get("keras", "3.15.1").pythons[0] == "3.11"  # requires_python >=3.11, a pure wheel
    assert not answer.get("keras", "0.3.0").wheel  # an sdist only
    assert answer.get("tf-keras", "2.20.0").yanked
    known = ["3.9", "3.10", "3.11"]
    assert index.wheel_pythons("x-1.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", None, known) == {
        "3.10"
    }
    assert index.wheel_pythons("x-1.0-cp310-cp310-manylinux_2_17_aarch64.whl", None, known) == set()
    assert index.wheel_pythons("x-1.0-cp310-cp310-win_amd64.whl", None, known) == set()
    assert index.wheel_pythons("x-1.0-cp39-abi3-manylinux2014_x86_64.whl", None, known) == set(known)
    assert index.wheel_pythons("x-1.0-py3-none-any.whl", ">=3.10", known) == {"3.10", "3.11"}
    assert index.wheel_pythons("x-1.0.tar.gz", None, known) == set()


@pytest.mark.parametrize(
    "spec,minor,ok",
    [
        (">=3.9", "3.8", False),
        (">=3.9", "3.9", True),
        (">=3.9.2", "3.9", True),
        ("<3.12,>=3.9", "3.12", False),
        ("!=3.9.*,>=3.8", "3.9", False),
        ("~=3.8", "3.13", True),
        ("~=3.8.1", "3.9", False),
        ("==3.10.*", "3.10", True),
        (None, "3.7", True),
        ("not a specifier", "3.7", True),
    ],
)
def test_requires_python(spec: str | None, minor: str, ok: bool) -> None:
    assert index.allows(spec, minor) is ok


def test_which_index_and_its_json_api() -> None:
    assert index.index_url(None, {}) == "https://pypi.org/simple"
    assert index.index_url(None, {"PIP_INDEX_URL": "https://p/simple"}) == "https://p/simple"
    env = {"PIP_INDEX_URL": "https://p/simple", "UV_INDEX_URL": "https://u/simple"}
    assert index.index_url(None, env) == "https://u/simple"
    assert index.index_url("https://x/simple", {**env, "UV_DEFAULT_INDEX": "https://d/simple"}) == "https://x/simple"
    assert index.json_api("https://pypi.org/simple/", "keras") == "https://pypi.org/pypi/keras/json"
    assert index.json_api("https://m.example/repo/simple", "keras") == "https://m.example/repo/pypi/keras/json"
    assert index.redact("https://me:secret@m.example/simple") == "https://me:***@m.example/simple"
    with pytest.raises(index.PackageIndexError):
        index.json_api("file:///opt/pypi/simple", "keras")


def test_an_edit_grid_toml_cannot_hold_is_refused() -> None:
    text = drop(REAL, NEWEST_TF).replace('tf = "2.0.4"\n', '# a comment inside a table\ntf = "2.0.4"\n', 1)
    plan = discover.plan(text, recorded())
    with pytest.raises(GridError):
        gridedit.apply(text, plan)


class Recorded:
    """Stands in for IndexClient: the recorded answers."""

    def __init__(self, index: str, timeout: float = 60.0):
        self.index = index

    def __call__(self, package: str) -> dict:
        return _answers()[package]


def test_discover_write_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(drop(REAL, NEWEST_TF), encoding="utf-8")
    built: list[str] = []
    monkeypatch.setattr(index, "IndexClient", Recorded)
    monkeypatch.setattr(gridedit, "default_build", lambda: lambda row: built.append(row.id))
    out = tmp_path / "discover.json"
    code = main(["discover", "--grid", str(grid), "--write", "--json", str(out), "--markdown", str(tmp_path / "b.md")])
    assert code == 0
    assert grid.read_text() == REAL
    data = json.loads(out.read_text())
    assert set(data["changed"]) == NEWEST_TF == set(built)
    assert data["written"] is True and data["failed"] == {}
    assert all(row_id in (tmp_path / "b.md").read_text() for row_id in NEWEST_TF)


def test_an_unreachable_index_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "--index-url", "http://127.0.0.1:9/simple", "--timeout", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_the_workflow_calls_the_commands_that_exist() -> None:
    """Every `keras-compat ...` / `python -m runner ...` line of discover.yml parses with today's CLI."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    commands = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).replace("\\\n", " ").splitlines():
                m = re.search(r"(?:keras-compat|python -m runner)\s+(.*)", line)
                if m:
                    commands.append(shlex.split(m.group(1).split("||")[0].split("|")[0].split(">")[0]))
    assert any(c[0] == "discover" and "--write" in c for c in commands)
    assert any(c[0] == "run" and c[c.index("--pairs") + 1] == "targets" for c in commands)
    for words in commands:
        parser().parse_args([w if not w.startswith("$") else "x" for w in words])
