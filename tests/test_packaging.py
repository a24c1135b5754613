"""keras-compat is a real package: an editable install gives the ``keras-compat`` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is a dependency of keras-compat; it is not on PATH")
def test_an_editable_install_gives_the_command(tmp_path: Path) -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(tmp_path / "venv")}
    subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(tmp_path / "venv")], check=True, env=env)
    subprocess.run(["uv", "pip", "install", "-q", "-e", str(REPO)], check=True, env=env, cwd=tmp_path)
    command = tmp_path / "venv" / "bin" / "keras-compat"
    shown = subprocess.run([str(command), "--help"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    subcommands = {"run", "report", "diff", "upgrade", "badges", "merge", "rows", "scenarios"}
    assert subcommands <= set(shown.stdout.split("{", 1)[1].split("}", 1)[0].split(","))
    listed = subprocess.run([str(command), "rows"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert listed.returncode == 0 and "tf2.15-k2-py3.11" in listed.stdout.split()
