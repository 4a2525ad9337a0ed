"""The core stays pure, and every threshold carries its reason."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "player" / "core"
FORBIDDEN = {
    "PyQt6",
    "vlc",
    "requests",
    "socket",
    "urllib",
    "http",
    "subprocess",
    "time",
    "threading",
    "asyncio",
    "sqlite3",
    "os",
    "pathlib",
    "io",
    "select",
    "selectors",
    "shutil",
    "psutil",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_nothing_impure(path: Path) -> None:
    assert not (_imports(path) & FORBIDDEN)
    text = path.read_text()
    assert "print(" not in text and "open(" not in text


def test_every_threshold_has_a_comment() -> None:
    lines = (CORE / "thresholds.py").read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    constants = [n for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)]
    assert len(constants) > 30
    for node in constants:
        i = node.lineno - 2  # the line above
        commented = False
        while i >= 0 and lines[i].strip():
            if lines[i].lstrip().startswith("#"):
                commented = True
                break
            i -= 1
        name = ast.unparse(node.targets[0] if isinstance(node, ast.Assign) else node.target)
        assert commented, f"{name} has no comment saying why"
        assert name.isupper()
