"""Container rows' plumbing on the real engine (tools/docker/engine.sh up && ... image): no TensorFlow;
and, pure, how grid rows name their backend and whom a container row pairs with.

The relay (runner/run/relay.py) stands in for a container row's interpreter: the
engine's sessions talk to the fake harness (tests/fake/harness.py) in a container
exactly as to a local process, exit codes come through, and no container outlives
its relay, even one killed with SIGKILL. What container rows measure is tested on
real rows in tests/test_docker_integration.py.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from pathlib import Path

import pytest

from runner.core.errors import EnvError, GridError
from runner.run import relay
from runner.run.container import DockerBackend, DockerEnv
from runner.run.dispatch import RowBackends
from runner.run.grid import load_grid, parse_grid
from runner.run.pairs import targets
from runner.run.workers import HarnessProcess, RowSession

FAKE = (str(Path(__file__).parent / "fake" / "harness.py"),)
ROW = next(r for r in load_grid().rows if r.backend == "docker")


def engine_or_skip() -> str:
    """The image ID; without the engine the test fails with the one-line fix (tox's tests env runs
    ``tools/docker/engine.sh ensure`` first, so this only happens where it could not come up)."""
    try:
        return DockerBackend().engine(ROW)[1]
    except EnvError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def env(tmp_path: Path) -> DockerEnv:
    image = engine_or_skip()
    (tmp_path / "site").mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "scenarios").mkdir()
    return DockerEnv(
        row_id="plumbing",
        python=Path("/usr/bin/python3"),
        env_vars={"KERAS_BACKEND": "tensorflow"},
        lock={"python": "3.11.2"},
        lock_hash="0" * 64,
        image=image,
        site=tmp_path / "site",
        rw=(str(tmp_path / "work"),),
    )


def ours() -> list[dict]:
    return relay.client().api.containers(all=True, filters={"label": f"{relay.LABEL}=1"})


def _save(out: Path, i: int = 0) -> dict:
    return {"id": i, "kind": "save", "scenario": "plain", "out": str(out), "formats": ["h5"], "timeout": 10}


def _load(scenario: str, i: int = 1) -> dict:
    return {
        "id": i,
        "kind": "load",
        "scenario": scenario,
        "format": "h5",
        "option": "default",
        "artifact_dir": "/x",
        "scenario_file": f"/x/{scenario}.py",
        "timeout": 10,
    }


def test_a_session_runs_through_the_relay_and_writes_to_the_mounted_work_dir(env: DockerEnv, tmp_path: Path) -> None:
    session = RowSession(env, "fork", scenario_dir=tmp_path / "scenarios", harness=FAKE, stop=threading.Event())
    try:
        saved = session.ask(_save(tmp_path / "work" / "out"), 30)
        loaded = session.ask(_load("plain"), 30)
    finally:
        session.close()
    assert (saved["outcome"], loaded["outcome"], loaded["mode"]) == ("ok", "ok", "fork")
    assert (tmp_path / "work" / "out" / "meta.json").is_file()  # written in the container, at the host's path
    assert session.counts["processes"] == 1
    assert not [c for c in ours() if c["Labels"].get("keras-compat.row") == "plumbing"]


def test_an_exit_code_comes_through_the_relay(env: DockerEnv, tmp_path: Path) -> None:
    session = RowSession(env, "fresh", scenario_dir=tmp_path / "scenarios", harness=FAKE, stop=threading.Event())
    answer = session.ask(_load("crash_always"), 30)
    assert (answer["outcome"], answer["mode"]) == ("crash", "fresh")
    assert "exited with code 3" in answer["error"]["message"]


def test_the_container_has_no_network_limits_and_a_read_only_repository(env: DockerEnv, tmp_path: Path) -> None:
    proc = HarnessProcess(env, ["serve", "--scenario-dir", str(tmp_path / "scenarios")], harness=FAKE)
    try:
        assert proc.read(30)["event"] == "ready"
        (info,) = [c for c in ours() if c["Labels"].get("keras-compat.row") == "plumbing"]
        config = relay.client().api.inspect_container(info["Id"])
    finally:
        proc.close()
    host = config["HostConfig"]
    assert config["Config"]["NetworkDisabled"] and host["NetworkMode"] == "none"
    assert host["Memory"] > 0 and host["PidsLimit"] > 0
    modes = {m["Destination"]: m["RW"] for m in config["Mounts"]}
    repo = str(Path(__file__).resolve().parents[1])
    assert modes[repo] is False and modes[env.site_dir] is False and modes[str(tmp_path / "work")] is True
    assert proc.proc.returncode == 0


def test_a_relay_killed_with_sigkill_leaves_no_container(env: DockerEnv, tmp_path: Path) -> None:
    proc = HarnessProcess(env, ["serve", "--scenario-dir", str(tmp_path / "scenarios")], harness=FAKE)
    assert proc.read(30)["event"] == "ready"
    assert [c for c in ours() if c["Labels"].get("keras-compat.row") == "plumbing"]
    proc.kill()  # what the engine does to a hung harness
    deadline = time.monotonic() + 20
    while [c for c in ours() if c["Labels"].get("keras-compat.row") == "plumbing"]:
        assert time.monotonic() < deadline, "the container outlived its relay"
        time.sleep(0.2)


def test_sweep_removes_containers_whose_relay_is_gone_and_leaves_other_hosts(env: DockerEnv) -> None:
    api = relay.client().api
    dead = 2**22 + 12345  # above pid_max's default: no such process
    names = {"orphan": f"{socket.gethostname()}:{dead}", "elsewhere": f"another-host:{dead}"}
    for name, owner in names.items():
        api.create_container(
            env.image, ["true"], name=f"kc-test-{name}", labels={relay.LABEL: "1", relay.RELAY_LABEL: owner}
        )
    try:
        assert relay.sweep(api) == ["kc-test-orphan"]
    finally:
        api.remove_container("kc-test-elsewhere", force=True)


def test_an_unreachable_engine_is_a_one_line_env_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(EnvError) as err:
        DockerBackend(home=tmp_path).prepare(ROW)
    assert str(err.value) == relay.NOT_RUNNING


# -- the grid and the pairs: pure -------------------------------------------------------------------
TWIN_GRID = """
schema = 1
[[row]]
flavour = "keras3"
tf = "2.21.0"
keras = "3.15.1"
python = "3.11.7"
packages = ["tensorflow==2.21.0", "keras==3.15.1"]
tags = ["main"]
[[row]]
flavour = "keras3"
tf = "2.21.0"
keras = "3.13.2"
python = "3.11.7"
packages = ["tensorflow==2.21.0", "keras==3.13.2"]
[[row]]
id = "tf2.21-k3.15-py3.11-docker"
flavour = "keras3"
tf = "2.21.0"
keras = "3.15.1"
python = "3.11.2"
backend = "docker"
image = "keras-compat/bookworm:py3.11"
packages = ["tensorflow==2.21.0", "keras==3.15.1"]
tags = ["container"]
"""


def test_a_container_row_is_loaded_by_its_twin_and_loads_it_and_nothing_else() -> None:
    rows = list(parse_grid(TWIN_GRID).rows)
    box = "tf2.21-k3.15-py3.11-docker"
    found = targets(rows)
    assert found[box] == {"tf2.21-k3.15-py3.11"}
    assert box in found["tf2.21-k3.15-py3.11"] and box not in found["tf2.21-k3.13-py3.11"]
    # the uv rows' own targets are what they were without the container row
    assert {k: v - {box} for k, v in found.items() if k != box} == targets(rows[:2])


def test_backend_keys_are_checked_and_uv_rows_keep_their_spec_hash() -> None:
    plain = parse_grid(TWIN_GRID).rows[0]
    assert (
        plain.backend == ""
        and plain.spec_hash == parse_grid(TWIN_GRID.replace("[[row]]", '[[row]]\nbackend = "uv"', 1)).rows[0].spec_hash
    )
    box = parse_grid(TWIN_GRID).rows[2]
    assert (box.backend, box.image) == ("docker", "keras-compat/bookworm:py3.11")
    assert box.spec_hash != parse_grid(TWIN_GRID.replace("bookworm:py3.11", "bookworm:other")).rows[2].spec_hash
    with pytest.raises(GridError, match="backend 'podman' is not one of uv, docker"):
        parse_grid(TWIN_GRID.replace('backend = "docker"', 'backend = "podman"'))
    with pytest.raises(GridError, match="`image` needs"):
        parse_grid(TWIN_GRID.replace('backend = "docker"\n', ""))


def test_each_row_goes_to_the_backend_it_names(tmp_path: Path) -> None:
    plain, _, box = parse_grid(TWIN_GRID).rows
    backends = RowBackends(home=tmp_path, work=tmp_path / "work")
    assert isinstance(backends.backends["docker"], DockerBackend)
    assert backends.backends["docker"].rw == (str(tmp_path / "work"),)  # type: ignore[attr-defined]
    with pytest.raises(EnvError, match="is a docker row"):
        backends.backends["uv"].prepare(box)  # never built as a uv env by mistake


def test_a_missing_image_is_a_one_line_env_error_naming_the_build(env: DockerEnv, tmp_path: Path) -> None:
    row = dataclasses.replace(ROW, image="keras-compat/not-built:here")
    with pytest.raises(EnvError) as err:
        DockerBackend(home=tmp_path).prepare(row)
    assert str(err.value) == "docker image keras-compat/not-built:here missing: run tools/docker/engine.sh image"
