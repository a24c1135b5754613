"""A host-side stand-in for a container row's interpreter: ``DockerEnv.python_argv()``.

``workers.py`` starts a harness with ``env.python_argv() + ["-u", "-m", "runner.harness", ...]``
and talks JSON lines over its stdin/stdout. For a container row that argv starts this
relay (``python -E -c <bootstrap> SPEC -u -m runner.harness ...``): it creates the
container through the Docker SDK (command: the image's python3 + the rest of the argv),
attaches stdin/stdout/stderr, relays bytes both ways, and exits with the container's
exit code. The container is always removed: on the relay's way out (also on SIGTERM),
and by a reaper process when the relay dies even by SIGKILL (the engine kills a hung
harness that way). No ``auto_remove``: the exit code is read after the container stops.
Containers carry the label ``keras-compat=1`` and the relay's host and PID, so
``sweep`` can remove any that outlived their relay.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
import threading
import uuid

import docker
from docker.errors import DockerException, NotFound
from requests.exceptions import RequestException

LABEL = "keras-compat"
RELAY_LABEL = "keras-compat.relay"  # "<hostname>:<pid>" of the relay that owns the container
# What reaches the container of the relay's own environment (the row's variables are named in the spec).
FORWARD = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "TF_CPP_MIN_LOG_LEVEL")
FORWARD_PREFIXES = ("KC_", "TF_", "KERAS_")
NOT_RUNNING = "docker engine not running: run tools/docker/engine.sh up"


def client(timeout: int = 60) -> docker.DockerClient:
    return docker.from_env(timeout=timeout)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_labels() -> dict[str, str]:
    """Labels of a container this process owns: ``sweep`` removes it once this process is gone."""
    return {LABEL: "1", RELAY_LABEL: f"{socket.gethostname()}:{os.getpid()}"}


def sweep(api: docker.APIClient) -> list[str]:
    """Remove keras-compat containers whose relay on this host is gone (another host's are left); their names."""
    removed = []
    for info in api.containers(all=True, filters={"label": f"{LABEL}=1"}):
        owner_host, _, pid = (info.get("Labels") or {}).get(RELAY_LABEL, "").rpartition(":")
        if owner_host != socket.gethostname() or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            api.remove_container(info["Id"], force=True)
            removed.append(info["Names"][0].lstrip("/") if info.get("Names") else info["Id"][:12])
        except NotFound:
            pass
    return removed


def container_env(spec: dict, environ: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k in FORWARD or k.startswith(FORWARD_PREFIXES)}
    env.update(spec.get("env", {}))
    env["HOME"] = "/tmp"  # the host user's uid has no home in the image; Keras writes ~/.keras
    return env


def mounts(spec: dict, argv: list[str]) -> dict[str, dict]:
    """Host directories at the same paths in the container: no path is ever translated."""
    binds: dict[str, dict] = {}
    extra = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--scenario-dir"]
    for path, mode in [*((p, "ro") for p in spec["ro"] + extra), *((p, "rw") for p in spec["rw"])]:
        if os.path.isdir(path):
            binds[os.path.realpath(path)] = {"bind": os.path.abspath(path), "mode": mode}
    if spec.get("site"):  # the row's packages: the one directory mounted elsewhere, as a site dir
        source, target = spec["site"]
        binds[os.path.realpath(source)] = {"bind": target, "mode": "ro"}
    return binds


def _reaper(name: str) -> int:
    """Fork a process that removes container ``name`` once this process is gone; the pipe's write end."""
    read_end, write_end = os.pipe()
    if os.fork() == 0:  # the reaper: no threads exist yet in the relay, so forking is safe
        try:
            os.setsid()
            os.close(write_end)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            while os.read(read_end, 1):
                pass
            try:
                client(timeout=30).api.remove_container(name, force=True)
            except Exception:  # noqa: BLE001 - gone already, or the engine is; nothing to report to
                pass
        finally:
            os._exit(0)
    os.close(read_end)
    return write_end


def _pump_in(sock: socket.socket) -> None:
    while True:
        try:
            data = os.read(0, 65536)
        except OSError:
            data = b""
        if not data:
            try:
                sock.shutdown(socket.SHUT_WR)  # the harness sees end of input, like a closed pipe
            except OSError:
                pass
            return
        try:
            sock.sendall(data)
        except OSError:
            return


def _read_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return b""
        buf += chunk
    return buf


def _pump_out(sock: socket.socket) -> None:
    """Docker's multiplexed stream (8-byte headers: stream, size) to our stdout and stderr."""
    while True:
        header = _read_exact(sock, 8)
        if not header:
            return
        stream, size = struct.unpack(">BxxxL", header)
        payload = _read_exact(sock, size)
        view = memoryview(payload)
        try:
            while view:  # a write to a pipe may be partial
                view = view[os.write(2 if stream == 2 else 1, view) :]
        except OSError:  # the engine is gone: nobody reads the harness any more
            return
        if len(payload) < size:
            return


def main(argv: list[str]) -> int:
    spec, rest = json.loads(argv[0]), argv[1:]
    name = f"kc-{spec['row']}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    reaper = _reaper(name)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        api = client().api
        api.ping()
    except DockerException:
        print(f"error: {NOT_RUNNING}", file=sys.stderr)
        return 125
    created = False
    try:
        sweep(api)
        host_config = api.create_host_config(
            binds=mounts(spec, rest),
            mem_limit=spec["memory"],
            memswap_limit=spec["memory"],
            pids_limit=spec["pids"],
            network_mode="none",
        )
        api.create_container(
            spec["image"],
            command=[spec["python"], *rest],
            name=name,
            environment=container_env(spec, dict(os.environ)),
            working_dir=spec["workdir"],
            user=f"{os.getuid()}:{os.getgid()}",
            labels={**owner_labels(), "keras-compat.row": spec["row"]},
            host_config=host_config,
            network_disabled=True,
            stdin_open=True,  # with detach=False the SDK sets StdinOnce: our end of input ends the container's
        )
        created = True
        sock = api.attach_socket(name, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        raw: socket.socket = getattr(sock, "_sock", sock)
        api.start(name)
        threading.Thread(target=_pump_in, args=(raw,), daemon=True).start()
        _pump_out(raw)
        return int(api.wait(name, timeout=120).get("StatusCode", 125))
    except (DockerException, RequestException) as exc:  # a timeout talking to the engine is the latter
        print(f"error: the container did not run: {(str(exc).splitlines() or [''])[0][:300]}", file=sys.stderr)
        return 125
    finally:
        if created:
            try:
                api.remove_container(name, force=True)
            except (DockerException, RequestException):
                pass
        os.close(reaper)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
