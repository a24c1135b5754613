"""Container rows (``backend = "docker"`` in grid.toml): the harness runs in a container.

The packages are installed on the host for the image's interpreter (``uv pip sync
--target`` with ``--python-version`` and a manylinux platform tag matching the image's
glibc) into ``$KC_HOME/envs/<row>-<hash>/site``, mounted read-only as the image
Python's ``/usr/local/lib/python3.X/dist-packages``: the container needs no network. The row's lock works as for uv rows
(``runner/locks/<row>.txt``; a container row's lock is its uv twin's). The Env's lock
records the packages installed, the image (name and ID) and the image's exact Python.

The repository (read-only), the site and the run's work dir (read-write) are mounted
at their host paths, so no path in a request is ever translated. The harness is
started through ``runner/run/relay.py`` (see ``DockerEnv.python_argv``). The engine
and image come from ``tools/docker/engine.sh up`` and ``... image``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound

from runner.core.errors import EnvError
from runner.core.versions import minor as version_minor

from . import cmd, relay
from .backends import LOCK_DIR, MARKER, Env, RowLocks, _uv, default_home, env_dir, link_args, parse_freeze
from .catalog import REPO
from .grid import Row

DEFAULT_IMAGE = "keras-compat/bookworm:py3.11"
PLATFORM = f"{platform.machine()}-manylinux_2_36"  # Debian bookworm: glibc 2.36
CONTAINER_PYTHON = "/usr/bin/python3"
MEMORY = "6g"
PIDS = 4096  # TF's thread pools count: a warmed-up parent and its forked children
# The relay runs with the orchestrator's interpreter; -E keeps the row's PYTHONPATH (its site
# of another Python's packages) out of the relay itself, so the repository is put on sys.path here.
BOOTSTRAP = "import sys; sys.path.insert(0, {repo!r}); from runner.run.relay import main; sys.exit(main(sys.argv[1:]))"


@dataclass(frozen=True, kw_only=True)
class DockerEnv(Env):
    """A container row's env: ``python_argv`` starts the relay, which starts the container."""

    image: str  # the image ID: exactly the image the lock names
    site: Path
    rw: tuple[str, ...] = ()

    def python_argv(self) -> list[str]:
        spec = {
            "row": self.row_id,
            "image": self.image,
            "python": str(self.python),
            "env": dict(self.env_vars),
            "ro": [str(REPO)],
            "site": [str(self.site), self.site_dir],
            "rw": list(self.rw),
            "workdir": str(REPO),
            "memory": MEMORY,
            "pids": PIDS,
        }
        return [sys.executable, "-E", "-c", BOOTSTRAP.format(repo=str(REPO)), json.dumps(spec)]

    @property
    def site_dir(self) -> str:
        """Where the site is mounted: the image Python's own site dir, as `pip install` in a Dockerfile
        would fill it (a site dir, unlike PYTHONPATH, runs .pth files: setuptools' distutils shim)."""
        return f"/usr/local/lib/python{version_minor(self.lock['python'])}/dist-packages"


class DockerBackend:
    """Container rows: a host-built site per row, reused while its spec and lock hold."""

    name = "docker"

    def __init__(
        self,
        home: Path | None = None,
        lock_dir: Path = LOCK_DIR,
        timeout: float = 1800,
        rw: tuple[Path, ...] = (),
    ):
        self.home = home or default_home()
        self.locks = RowLocks(lock_dir)  # the same lock files and rules as uv rows
        self.timeout = timeout
        self.rw = tuple(str(Path(p).absolute()) for p in rw)  # the run's work dir: artifacts are saved there

    def env_dir(self, row: Row) -> Path:
        return env_dir(self.home, row)

    def engine(self, row: Row) -> tuple[docker.DockerClient, str]:
        """The client and the row's image ID, or EnvError naming the fix."""
        image = row.image or DEFAULT_IMAGE
        try:
            client = relay.client(timeout=20)
            client.ping()
        except DockerException:
            raise EnvError(relay.NOT_RUNNING) from None
        try:
            image_id = client.images.get(image).id
        except ImageNotFound:
            raise EnvError(f"docker image {image} missing: run tools/docker/engine.sh image") from None
        except DockerException as exc:
            raise EnvError(f"docker image {image}: {str(exc).splitlines()[0][:200]}") from None
        relay.sweep(client.api)
        return client, str(image_id)

    @staticmethod
    def rootfs(client: docker.DockerClient, image_id: str) -> list[str]:
        """The image's layer digests: what is in it, whatever its ID."""
        return list(client.images.get(image_id).attrs.get("RootFS", {}).get("Layers", []))

    def image_python(self, client: docker.DockerClient, image_id: str) -> str:
        """The image's exact Python version (one short container; cached per image ID)."""
        cache = self.home / "docker" / f"python-{image_id.replace(':', '-')[:24]}.txt"
        try:
            return cache.read_text().strip()
        except OSError:
            pass
        code = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
        try:
            out = client.containers.run(
                image_id,
                [CONTAINER_PYTHON, "-c", code],
                remove=True,
                network_disabled=True,
                labels=relay.owner_labels(),
            )
        except DockerException as exc:
            raise EnvError(f"python3 does not run in image {image_id[:19]}: {str(exc).splitlines()[0][:200]}") from None
        version = out.decode().strip()
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(version + "\n")
        return version

    def prepare(self, row: Row) -> Env:
        if row.expect_env_error:
            raise EnvError(row.expect_env_error)
        start = time.monotonic()
        client, image_id = self.engine(row)
        python = self.image_python(client, image_id)
        if version_minor(python) != version_minor(row.python):
            raise EnvError(f"image {row.image or DEFAULT_IMAGE} has Python {python}, the row says {row.python}")
        target = self.env_dir(row)
        meta = self.locks.built(row, target)
        reused = meta is not None
        if meta is None:
            meta = self._install(row, target, self.locks.path(row) if self.locks.read(row) is not None else None)
        self.locks.write(row, meta["freeze"])
        lock = {
            "python": python,
            "packages": parse_freeze(meta["freeze"]),
            "backend": "docker",
            "image": row.image or DEFAULT_IMAGE,
            "image_id": image_id,
            "image_rootfs": self.rootfs(client, image_id),
            "platform": PLATFORM,
        }
        # The cache key holds the image's content (its layers), not its ID: `docker import` of the same
        # rootfs tarball (a new daemon, a pruned image) makes a new ID with the same files.
        identity = {k: v for k, v in lock.items() if k != "image_id"}
        return DockerEnv(
            row_id=row.id,
            python=Path(CONTAINER_PYTHON),
            env_vars=dict(row.env_vars),
            lock=lock,
            lock_hash=hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest(),
            build_s=round(time.monotonic() - start, 2),
            reused=reused,
            image=image_id,
            site=target / "site",
            rw=self.rw,
        )

    def _install(self, row: Row, target: Path, lock_file: Path | None) -> dict:
        """Install the row's lock (or resolve its packages) for the image's Python; the marker's content."""
        uv = _uv()
        env = cmd.base_env({"UV_PYTHON_DOWNLOADS": "never"})
        tmp = target.with_name(target.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        site = tmp / "site"
        platform_args = ["--python-version", version_minor(row.python), "--python-platform", PLATFORM]
        links = link_args(row)
        # bytecode compiled here (Python 3.11's .pyc format is the image's too): the site is read-only in the
        # container, and a forked child would otherwise compile every module it imports from source
        common = ["--quiet", "--compile-bytecode", *platform_args, "--target", str(site), *links]
        if lock_file is not None:
            argv = [uv, "pip", "sync", *common, str(lock_file)]
        else:
            argv = [uv, "pip", "install", *common, *row.packages]
        res = cmd.run(argv, env=env, timeout=self.timeout)
        if not res.ok:
            shutil.rmtree(tmp, ignore_errors=True)
            raise EnvError(f"install for the container failed: {res.last_line()}")
        freeze = cmd.run([uv, "pip", "freeze", "--target", str(site)], env=env, timeout=120)
        if not freeze.ok:
            shutil.rmtree(tmp, ignore_errors=True)
            raise EnvError(f"uv pip freeze --target failed: {freeze.last_line()}")
        meta = {"freeze": freeze.stdout, "row": row.id, "spec": row.spec_hash, "platform": PLATFORM}
        (tmp / MARKER).write_text(json.dumps(meta))
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
        return meta


class _TwinLocks(RowLocks):
    """The locks of a sandbox row: its uv row's committed lock (same packages), never rewritten."""

    @staticmethod
    def header(row: Row) -> str:
        return RowLocks.header(dataclasses.replace(row, backend="", image=""))

    def write(self, row: Row, freeze: str) -> None:
        pass  # the lock is the uv row's: the sandbox reads it, the uv row writes it


class SandboxBackend(DockerBackend):
    """``keras-compat check --sandbox``: any uv row's env, run in a container of the base image.

    The row's own lock (``runner/locks/<row>.txt``) is installed for the image's Python into
    ``$KC_HOME/envs/<row>-<hash>/site`` (a folder of its own: the spec names the docker backend) and
    mounted read-only as its packages, the way container rows run: no network, the repository read-only,
    memory and pid limits. ``rw`` is the one writable mount, the check's scratch folder; everything else
    a load writes stays in the container, which is removed when its harness ends.
    """

    name = "sandbox"

    def __init__(
        self, home: Path | None = None, lock_dir: Path = LOCK_DIR, timeout: float = 1800, rw: tuple[Path, ...] = ()
    ):
        super().__init__(home, lock_dir, timeout, rw=rw)
        self.locks = _TwinLocks(lock_dir)

    def prepare(self, row: Row) -> Env:
        if row.backend not in ("", "uv"):
            return super().prepare(row)  # a container row already runs in a container
        box = dataclasses.replace(row, backend="docker", image=DEFAULT_IMAGE)
        try:
            return super().prepare(box)
        except EnvError as exc:
            raise EnvError(f"--sandbox: {exc}") from None
