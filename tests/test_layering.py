"""The architecture's import rules (DESIGN.md): Qt only in ui/, vlc only in
playback/vlc.py, requests only in net/; the core imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PLAYER = Path(__file__).resolve().parents[1] / "player"
RULES = {
    "PyQt6": lambda rel: rel.startswith("ui/"),
    "pyqtgraph": lambda rel: rel.startswith("ui/"),
    "vlc": lambda rel: rel == "playback/vlc.py",
    "requests": lambda rel: rel.startswith("net/"),
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(PLAYER.rglob("*.py")), ids=lambda p: str(p.relative_to(PLAYER)))
def test_imports_stay_in_their_layer(path: Path) -> None:
    rel = path.relative_to(PLAYER).as_posix()
    if rel == "app.py":  # the composition root imports the GUI lazily to run it
        allowed_extra = {"PyQt6"}
    else:
        allowed_extra = set()
    for root in imported_roots(path):
        rule = RULES.get(root)
        if rule is not None and root not in allowed_extra:
            assert rule(rel), f"{rel} imports {root}"
