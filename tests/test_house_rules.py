"""The house rules, enforced by the test suite so CI fails when they break: layers (import-linter) and ruff."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def test_import_layers() -> None:
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_ruff() -> None:
    result = subprocess.run([_tool("ruff"), "check", "src", "tests", "benchmarks"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_no_unit_of_work_in_a_generator_dependency() -> None:
    """FastAPI may enter a generator dependency on one threadpool thread and leave it on another; SQLite's
    write turn is a re-entrant lock that only its own thread may release ("cannot release un-acquired
    lock", seen on the OneID page). Units of work therefore open inside handlers."""
    import ast

    for path in [*(ROOT / "src/siyu/console").glob("*.py"), *(ROOT / "src/siyu/api").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = ast.unparse(node)
                has_yield = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(node))
                assert not (has_yield and "unit_of_work(" in body), f"{path.name}: {node.name}"
