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


MODULES = sorted(CORE.rglob("*.py"))


def _modules(path: Path) -> set[str]:
    """Every module ``path`` imports, in full (relative imports are not used in core)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            if node.module:
                names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_nothing_impure(path: Path) -> None:
    imported = _modules(path)
    assert not ({m.split(".")[0] for m in imported} & FORBIDDEN)
    ours = {m for m in imported if m == "player" or m.startswith("player.")}
    outside = {m for m in ours if m != "player.core" and not m.startswith("player.core.")}
    assert not outside, f"core imports {sorted(outside)} from outside player.core"
    text = path.read_text()
    assert "print(" not in text and "open(" not in text


def test_core_is_a_tree_of_packages() -> None:
    assert len(MODULES) > 10
    assert all((p.parent / "__init__.py").exists() for p in MODULES)


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
