"""Integration: container rows (grid.toml ``backend = "docker"``) against their uv twins, real TF.

A container row has its uv twin's lock, installed on the host for the image's Python
(Debian bookworm's python3) and run in a container without network. Twins load each
other's artifacts (``--pairs targets``). The engine and image come from
``tools/docker/engine.sh up`` and ``... image`` (.ci/run calls both); without them a
container row is an ``env_error`` naming that fix, and the uv rows still run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.core.results import read_json
from runner.core.schema import validate
from runner.run.grid import load_grid

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]
BOXES = [r for r in load_grid().rows if r.backend == "docker"]
BOX = next(r for r in BOXES if r.flavour == "keras3")
TWIN = load_grid().row(BOX.id.removesuffix("-docker")).id  # its uv twin: same flavour, TF, Keras, lock
SCENARIOS = "subclass_with_config,lambda_simple"
FORMATS = "keras,weights"


def runner(*args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def run(out: Path, rows: list[str], env: dict[str, str] | None = None) -> dict:
    proc = runner(
        "run",
        "--rows",
        ",".join(rows),
        "--scenarios",
        SCENARIOS,
        "--formats",
        FORMATS,
        "--pairs",
        "targets",
        "--out",
        str(out / "out"),
        "--work",
        str(out / "work"),
        "--quiet",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return read_json(out / "out" / "results.json")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run(tmp_path_factory.mktemp("docker"), [TWIN, BOX.id])


def statuses(results: dict, save: str, load: str) -> dict[tuple[str, str], str]:
    return {
        (c["scenario"], c["format"]): c["status"]
        for c in results["cells"]
        if (c["save_row"], c["load_row"]) == (save, load)
    }


def test_the_container_row_is_built_from_its_twins_lock_on_the_images_python(results: dict) -> None:
    validate(results)
    rows = {r["id"]: r for r in results["rows"]}
    assert {rows[TWIN]["status"], rows[BOX.id]["status"]} == {"ok"}
    box, twin = rows[BOX.id]["lock"], rows[TWIN]["lock"]
    assert box["packages"] == twin["packages"]  # the only difference is packaging and interpreter
    assert box["image"] == BOX.image and box["image_id"].startswith("sha256:")
    assert box["python"].startswith("3.11.") and box["python"] == BOX.python  # Debian's build, exactly


def test_same_env_statuses_are_equal_between_twins(results: dict) -> None:
    mine, theirs = statuses(results, BOX.id, BOX.id), statuses(results, TWIN, TWIN)
    assert len(mine) == len(SCENARIOS.split(",")) * len(FORMATS.split(","))
    assert mine == theirs


def test_twins_load_each_others_artifacts(results: dict) -> None:
    there, back = statuses(results, TWIN, BOX.id), statuses(results, BOX.id, TWIN)
    assert there.keys() == back.keys() == statuses(results, TWIN, TWIN).keys()
    # a subclassed layer with get_config, on Keras 3: its weights load as they are, its .keras file with
    # custom_objects (the default load fails: the lazy options run too); the same both ways
    for cells in (there, back):
        assert cells[("subclass_with_config", "weights")] == "pass"
        assert cells[("subclass_with_config", "keras")] == "pass_custom_objects"
    assert there == back == statuses(results, TWIN, TWIN)


def test_without_the_engine_the_container_row_is_an_env_error_and_the_rest_runs(tmp_path: Path) -> None:
    found = run(tmp_path, [TWIN, BOX.id], env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    rows = {r["id"]: r for r in found["rows"]}
    assert rows[TWIN]["status"] == "ok" and rows[BOX.id]["status"] == "env_error"
    for cell in found["cells"]:
        if BOX.id in (cell["save_row"], cell["load_row"]):
            assert cell["status"] == "env_error"
        else:
            assert cell["status"] != "env_error"
    messages = {r["error"]["message"] for r in found["records"] if r["outcome"] == "env_error"}
    assert messages and all("\n" not in m and m.endswith("run tools/docker/engine.sh up") for m in messages)
