"""The house has one dependency direction, and this test walks every import to keep it so.

    harness  -> itself only (it runs inside the target envs, on Python 3.7+)
    core     -> core, and the harness's protocol module
    run      -> core, run, the harness
    report   -> core, report, the harness's protocol module: never the run side
    scan     -> core, scan, report (it reads model files as data; it never runs anything)
    cli      -> anything (it is the top: runner/cli/)

Imports inside functions count too. No import cycle between modules, and no
``try: import ... except ImportError`` around one of the project's own modules
(such a guard once hid a broken module: its subcommands silently disappeared).
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[1] / "runner"

ALLOWED: dict[str, tuple[str, ...]] = {
    "harness": ("runner.harness",),
    "core": ("runner.core", "runner.harness.protocol"),
    "run": ("runner.core", "runner.run", "runner.harness"),
    "report": ("runner.core", "runner.report", "runner.harness.protocol"),
    "scan": ("runner.core", "runner.scan", "runner.report"),
}
# ``runner`` itself (the package's __init__: __version__) may be imported by run and report.
VERSION_ONLY = {"run", "report"}


def module_name(path: Path) -> str:
    parts = path.relative_to(RUNNER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, source: str | None = None, name: str | None = None) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import of a ``runner`` module in ``path``, relative ones resolved."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source if source is not None else path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "runner"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "runner":
                continue
            # ``from runner.report import view`` imports the module runner.report.view
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                is_module = (RUNNER.parent / Path(*sub.split("."))).with_suffix(".py").exists() or (
                    RUNNER.parent / Path(*sub.split("."))
                ).is_dir()
                found.append((sub if is_module else target, node.lineno))
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else "top"


MODULES = sorted(RUNNER.rglob("*.py"))


def test_every_module_is_in_a_layer_or_is_the_cli() -> None:
    top = sorted(module_name(p) for p in MODULES if layer(module_name(p)) == "top")
    assert top == [
        "runner",
        "runner.__main__",
        "runner.cli",
        "runner.cli.model",
        "runner.cli.releases",
        "runner.cli.run",
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_follow_the_one_direction(path: Path) -> None:
    mine = module_name(path)
    if layer(mine) not in ALLOWED:
        return
    assert backward(mine, project_imports(path)) == []


def backward(mine: str, imports: list[tuple[str, int]]) -> list[str]:
    allowed = ALLOWED[layer(mine)]
    return [
        f"{mine}:{line} imports {target}"
        for target, line in imports
        if not (
            any(target == a or target.startswith(a + ".") for a in allowed)
            or (target == "runner" and layer(mine) in VERSION_ONLY)
        )
    ]


def test_no_import_cycle() -> None:
    graph = {module_name(p): {t for t, _ in project_imports(p)} for p in MODULES}
    # a package's __init__ is imported on the way to any of its modules, but ours import nothing back
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph or nxt == node:
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_optional_import_hides_a_sibling_module(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Try):
            continue
        catches_import_error = any(
            h.type is not None and "ImportError" in ast.unparse(h.type) or "ModuleNotFoundError" in ast.unparse(h.type)
            for h in node.handlers
            if h.type is not None
        )
        own = [
            n
            for stmt in node.body
            for n in ast.walk(stmt)
            if isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith("runner"))
        ]
        assert not (catches_import_error and own), f"{module_name(path)}:{node.lineno} hides an import of its own"


def test_the_walker_sees_a_backward_import() -> None:
    """The direction test can fail: a report module importing the engine, or core importing report, is caught."""
    probe = RUNNER / "report" / "probe.py"
    code = "from runner.run.engine import Engine\nfrom ..run import grid\nfrom . import view\n"
    imports = project_imports(probe, code, "runner.report.probe")
    assert [t for t, _ in imports] == ["runner.run.engine", "runner.run.grid", "runner.report.view"]
    assert backward("runner.report.probe", imports) == [
        "runner.report.probe:1 imports runner.run.engine",
        "runner.report.probe:2 imports runner.run.grid",
    ]
    assert backward("runner.core.probe", [("runner.report.view", 1), ("runner", 2)]) == [
        "runner.core.probe:1 imports runner.report.view",
        "runner.core.probe:2 imports runner",
    ]


def _project_files() -> list[str]:
    root = RUNNER.parent
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=root, capture_output=True, text=True)
    if listed.returncode == 0 and listed.stdout.strip():
        return sorted(listed.stdout.split())
    return sorted(
        str(p.relative_to(root)) for d in ("runner", "tests", "bench", "scenarios") for p in (root / d).rglob("*.py")
    )


@pytest.mark.parametrize("name", _project_files())
def test_no_python_file_is_over_400_lines(name: str) -> None:
    assert len((RUNNER.parent / name).read_text(encoding="utf-8").splitlines()) <= 400
