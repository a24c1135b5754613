"""keras-compat scan beside Protect AI's modelscan, on the same files, side by side.

    python bench/scanners.py [--out FILE.md] [--modelscan-venv DIR]

Files: every code-on-load vector file (tools/fixtures/vectors.py builds them), the fixtures
saved by real old and current savers (tests/fixtures/models/, tools/fixtures/savers.py) and
a plain model of each format (the false-positive baseline). What each file really holds
comes from how it was built (``HOLDS`` in those scripts), not from either scanner.

modelscan 0.8.8 (PyPI, with its h5py and tensorflow extras, which it needs for .h5 and
SavedModel files) is installed by this script into a venv of its own under
``$KC_HOME/bench/`` (never a dependency of keras-compat). Each tool is run once per file,
as a user runs it (one command per file, interpreter start-up included); keras-compat is
also timed over all files in one call (``keras-compat scan FILE...``).

Checked, exit 1 otherwise: keras-compat flags every kind a file holds, flags every file
modelscan flags, and flags nothing in the plain models.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "fixtures"))

import corrupt  # noqa: E402
import savers  # noqa: E402
import vectors  # noqa: E402

MODELSCAN = "modelscan==0.8.8"
MODELS = REPO / "tests" / "fixtures" / "models"
RESULTS = REPO / "tests" / "fixtures" / "results_real.json"  # predictions are not what is compared here


def modelscan_venv(home: Path) -> Path:
    """modelscan's own venv (uv, PyPI): built once, reused."""
    python = home / "bin" / "python"
    if not (home / ".complete").exists():
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        subprocess.run(["uv", "venv", "-q", "-p", sys.executable, str(home)], check=True, env=env)
        spec = MODELSCAN.replace("==", "[h5py,tensorflow]==")
        subprocess.run(["uv", "pip", "install", "-q", "-p", str(python), spec], check=True, env=env)
        (home / ".complete").write_text(spec + "\n")
    return home / "bin" / "modelscan"


def run_modelscan(tool: Path, path: Path) -> tuple[list[str], float]:
    """What modelscan reports for one file (issues, or its error), and its wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        t0 = time.monotonic()
        subprocess.run(
            [str(tool), "-p", str(path), "-r", "json", "-o", str(report)],
            capture_output=True,
            text=True,
            cwd=tmp,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        wall = time.monotonic() - t0
        if not report.exists():
            return ["(no report)"], wall
        data = json.loads(report.read_text())
    found = []
    for issue in data.get("issues", []):
        op = issue.get("operator") or issue.get("description", "?")
        found.append(f"{issue.get('severity', '?')}: {op}" + (f" ({issue['module']})" if issue.get("module") else ""))
    found += [f"error: {e.get('description', '?')[:60]}" for e in data.get("errors", [])]
    return sorted(set(found)), wall


def run_scan(path: Path) -> tuple[list[str], float, bool]:
    """keras-compat's vector kinds for one file, its wall time, and whether it refused the file (exit 2)."""
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "runner", "scan", str(path), "--json", "--results", str(RESULTS)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    wall = time.monotonic() - t0
    if done.returncode == 2:
        return [f"refused: {done.stderr.strip()[:70]}"], wall, True
    data = json.loads(done.stdout)
    return sorted({v["kind"] for v in data["vectors"]}), wall, False


def files(work: Path) -> list[tuple[str, Path, tuple[str, ...]]]:
    """(name, path, what it holds) of every benchmarked file."""
    out = [(name, path, vectors.HOLDS[name]) for name, path in vectors.build_all(work).items()]
    out += [(name, MODELS / name, holds) for name, holds in savers.HOLDS.items()]
    out += [(name, MODELS / name, holds) for name, holds in corrupt.HOLDS.items()]
    return out


def _flagged(ms: list[str]) -> bool:
    return any(not f.startswith("error") and f != "(no report)" for f in ms)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    home = Path(os.environ.get("KC_HOME") or Path.home() / ".cache" / "keras-compat")
    ap.add_argument("--modelscan-venv", default=str(home / "bench" / "modelscan-0.8.8"))
    ap.add_argument("--out", default=None, help="also write the table as Markdown here")
    args = ap.parse_args()
    tool = modelscan_venv(Path(args.modelscan_venv))
    load = os.getloadavg()
    rows, problems = [], []
    with tempfile.TemporaryDirectory() as tmp:
        todo = files(Path(tmp))
        t0 = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "runner", "scan", *(str(p) for _, p, _ in todo), "--results", str(RESULTS)],
            capture_output=True,
            cwd=REPO,
        )
        batch = (time.monotonic() - t0) / len(todo)
        for name, path, holds in todo:
            kc, kc_s, refused = run_scan(path)
            ms, ms_s = run_modelscan(tool, path)
            missed_by_kc = [k for k in holds if k not in kc]
            if missed_by_kc or refused:
                problems.append(f"{name}: keras-compat misses {missed_by_kc or kc}")
            if not holds and kc:
                problems.append(f"{name}: keras-compat flags {kc} in a plain model")
            if _flagged(ms) and not kc:
                problems.append(f"{name}: modelscan flags it and keras-compat does not")
            ms_missed = bool(holds) and not _flagged(ms)
            rows.append((name, holds, kc, ms, ms_missed, kc_s, ms_s))
            print(f"{name}: kc {kc} ({kc_s:.2f}s), modelscan {ms} ({ms_s:.1f}s)", file=sys.stderr, flush=True)
    version = subprocess.run([str(tool), "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"keras-compat scan vs {version or MODELSCAN} (with h5py and tensorflow extras), {len(rows)} files, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs",
        "",
        "| file | really holds | keras-compat flags | modelscan flags | modelscan misses it | keras-compat s | "
        "modelscan s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, holds, kc, ms, ms_missed, kc_s, ms_s in rows:
        lines.append(
            f"| `{name}` | {', '.join(holds) or 'no vector'} | {', '.join(kc) or 'nothing'} | "
            f"{'; '.join(ms) or 'nothing'} | {'**yes**' if ms_missed else ''} | {kc_s:.2f} | {ms_s:.1f} |"
        )
    missed = [r[0] for r in rows if r[4]]
    lines += [
        "",
        f"modelscan misses {len(missed)} of {sum(1 for r in rows if r[1])} files that hold a vector: "
        + ", ".join(f"`{m}`" for m in missed),
        f"keras-compat scan: {sum(r[5] for r in rows) / len(rows):.2f} s per file one call per file, "
        f"{batch:.2f} s per file in one `keras-compat scan FILE...` call; modelscan: "
        f"{sum(r[6] for r in rows) / len(rows):.1f} s per file",
        "problems: "
        + ("; ".join(problems) if problems else "none (keras-compat flags every vector, no false positive)"),
    ]
    table = "\n".join(lines) + "\n"
    sys.stdout.write(table)
    if args.out:
        Path(args.out).write_text(table)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
