"""The layer rules (docs/ARCHITECTURE.md), read from the source: which package may import which, no
import circle (function-level imports included: they hid one between the CLI and the Ray engine),
and a CLI that starts without TensorFlow."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "etl"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _module_of(name: str) -> str:
    """The etl module an import names (`etl.run.stages.Counts` -> `etl.run.stages`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports_of(path: Path) -> set[str]:
    """Every etl module `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(_module_of(alias.name) for alias in node.names if alias.name.startswith("etl."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("etl"):
            found.update(_module_of(f"{node.module}.{alias.name}") for alias in node.names)
    return found - {"", "etl"}


GRAPH = {name: imports_of(path) - {name} for name, path in MODULES.items()}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def importers(package: str) -> set[str]:
    return {name for name, deps in GRAPH.items() if any(_within(dep, package) for dep in deps)}


def test_the_graph_is_read_from_the_source():
    # A test of the reader itself: these imports exist, so a rule below that passes is not vacuous.
    assert "etl.run.stages" in GRAPH["etl.run.threads"]
    assert "etl.run.job" in GRAPH["etl.cli.run_cmd"]  # a function-level import
    assert "etl.records" in GRAPH["etl.notes.reading"]


def test_no_module_outside_the_cli_imports_the_cli():
    # etl/__main__.py is `python -m etl`: the CLI's entry point, not a layer below it.
    assert {name for name in importers("etl.cli") if not _within(name, "etl.cli")} == {"etl.__main__"}


@pytest.mark.parametrize("package, forbidden", [
    ("etl.models", ("etl.run", "etl.cli")),
    ("etl.graph", ("etl.run", "etl.cli", "etl.models", "etl.notes")),
    ("etl.notes", ("etl.run", "etl.cli", "etl.graph")),
    ("etl.data", ("etl.run", "etl.cli", "etl.graph")),
])
def test_a_lower_layer_never_imports_a_higher_one(package, forbidden):
    offending = {(name, dep) for name, deps in GRAPH.items() if _within(name, package)
                 for dep in deps if any(_within(dep, above) for above in forbidden)}
    assert offending == set()


def test_the_domain_records_import_nothing_of_etl():
    assert GRAPH["etl.records"] == set()


def _circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in GRAPH.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return circles


def test_no_import_circle():
    assert _circles() == []


def test_a_circle_would_be_found():
    GRAPH["etl.records"] = {"etl.run.stages"}  # stages imports records: a circle
    try:
        assert any("etl.records" in circle for circle in _circles())
    finally:
        GRAPH["etl.records"] = set()


def test_the_help_of_every_command_starts_without_tensorflow():
    # `etl --help` and each command's --help must answer at once on a machine where TensorFlow
    # is slow to import (or broken): the CLI imports the heavy parts inside its commands only.
    script = """
import sys
import click
from click.testing import CliRunner
from etl.cli import cli

runner = CliRunner()
paths = [[]]
for name, command in cli.commands.items():
    paths.append([name])
    if isinstance(command, click.Group):
        paths.extend([name, sub] for sub in command.commands)
for path in paths:
    result = runner.invoke(cli, path + ["--help"])
    assert result.exit_code == 0, (path, result.output)
print(len(paths), sorted(m for m in ("tensorflow", "tf_keras", "bert4keras", "ray") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    count, loaded = done.stdout.split(" ", 1)
    assert int(count) > 10 and loaded.strip() == "[]"
