"""The architecture's import rules (DESIGN.md), checked on the source of every module.

Between our own packages: ``core`` imports nothing of ours outside ``core``; ``net`` does
not import ``report``, ``ui``, ``playback``, ``session`` or ``demo``; ``ui`` reaches the
network only through the session (no ``net``, no ``demo``). Third-party: Qt only in
``ui/`` (and the composition root, lazily), libVLC only in ``playback/vlc.py``, HTTP
libraries only in ``net/``; the product never imports the test-suite. Imports inside
functions and under ``TYPE_CHECKING`` count too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PLAYER = Path(__file__).resolve().parents[1] / "player"
PACKAGE = "player"

# Old-path shims belong to the layer of the module they re-export.
LAYER_ALIASES = {"demo_media": "demo", "headless": "session"}
# Layer -> the layers of ours it must not import (None: everything outside itself).
FORBIDDEN_LAYERS: dict[str, frozenset[str] | None] = {
    "core": None,
    "net": frozenset({"report", "ui", "playback", "session", "demo"}),
    "ui": frozenset({"net", "demo"}),
}
# Third-party (or foreign) top-level name -> where it may be imported (relative path).
THIRD_PARTY = {
    "PyQt6": lambda rel: rel.startswith("ui/") or rel == "app.py",
    "pyqtgraph": lambda rel: rel.startswith("ui/"),
    "vlc": lambda rel: rel == "playback/vlc.py",
    "requests": lambda rel: rel.startswith("net/"),
    "urllib3": lambda rel: rel.startswith("net/"),
    "tests": lambda rel: False,
}


@dataclass(frozen=True)
class Violation:
    module: str  # relative path of the importing file, e.g. "net/gateway.py"
    imported: str  # dotted name, e.g. "player.report.json" or "requests"
    rule: str

    def __str__(self) -> str:
        return f"{self.module} imports {self.imported}: {self.rule}"


def module_name(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def layer_of(dotted: str) -> str:
    """``player.net.gateway`` -> ``net``; the package root itself -> ``""``."""
    parts = dotted.split(".")
    if len(parts) < 2:
        return ""
    name = parts[1].removesuffix(".py")
    return LAYER_ALIASES.get(name, name)


def imported_names(source: str, rel: str, root: Path) -> set[str]:
    """Dotted names ``source`` (the file ``rel`` under ``root``) imports; relative imports
    resolved; ``from pkg import mod`` gives ``pkg.mod`` when ``mod`` is a module of ours."""
    this = module_name(rel)
    package = this if rel.endswith("__init__.py") else this.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                names.add(candidate if _is_our_module(candidate, root) else module)
    return names


def _is_our_module(dotted: str, root: Path) -> bool:
    parts = dotted.split(".")
    if parts[0] != PACKAGE:
        return False
    path = root.joinpath(*parts[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def check_source(source: str, rel: str, root: Path = PLAYER) -> list[Violation]:
    """Every rule the module ``rel`` (path under ``root``) with this source breaks."""
    found: list[Violation] = []
    own_layer = layer_of(module_name(rel))
    forbidden = FORBIDDEN_LAYERS.get(own_layer, frozenset())
    for name in sorted(imported_names(source, rel, root)):
        top = name.split(".")[0]
        if top == PACKAGE:
            target = layer_of(name)
            if target == own_layer:
                continue
            if forbidden is None:
                found.append(Violation(rel, name, f"{own_layer} imports nothing of ours outside {own_layer}"))
            elif target in forbidden:
                found.append(Violation(rel, name, f"{own_layer} must not import {target}"))
        elif top in THIRD_PARTY and not THIRD_PARTY[top](rel):
            found.append(Violation(rel, name, f"{top} is not allowed in {rel}"))
    return found


def check_tree(root: Path = PLAYER) -> list[Violation]:
    found: list[Violation] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        found += check_source(path.read_text(encoding="utf-8"), rel, root)
    return found


# --- the product ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(PLAYER.rglob("*.py")), ids=lambda p: str(p.relative_to(PLAYER)))
def test_imports_stay_in_their_layer(path: Path) -> None:
    rel = path.relative_to(PLAYER).as_posix()
    found = check_source(path.read_text(encoding="utf-8"), rel)
    assert not found, "\n".join(map(str, found))


def test_the_checker_sees_every_module() -> None:
    rels = {p.relative_to(PLAYER).as_posix() for p in PLAYER.rglob("*.py")}
    assert {"core/model.py", "app.py", "playback/vlc.py"} <= rels
    assert any(r.startswith("net/") for r in rels) and any(r.startswith("ui/") for r in rels)


# --- the checker catches what it must (so it cannot silently pass) ------------------------------
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / PACKAGE
    for rel in ("__init__.py", "core/__init__.py", "net/__init__.py", "ui/__init__.py",
                "report/__init__.py", "demo/__init__.py", "session/__init__.py"):  # fmt: skip
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text('"""x"""\n')
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize(
    ("rel", "source", "imported"),
    [
        ("core/abr.py", "from player.net import fetch\n", "player.net.fetch"),
        ("core/abr.py", "import player.net.fetch\n", "player.net.fetch"),
        ("core/abr.py", "from player import data\n", "player.data"),
        ("core/abr.py", "from ..net.fetch import get\n", "player.net.fetch"),
        ("core/abr.py", "def f():\n    from player.session import Session\n", "player.session"),
        ("net/fetch.py", "from player import report\n", "player.report"),
        ("net/fetch.py", "from player.report.json import hop_json\n", "player.report.json"),
        ("net/fetch.py", "from player.ui.main_window import MainWindow\n", "player.ui.main_window"),
        ("net/fetch.py", "from player.playback.vlc import VlcPlayer\n", "player.playback.vlc"),
        ("net/path/monitor.py", "from player.session import Session\n", "player.session"),
        ("net/fetch.py", "from player.demo.origin import ThrottledOrigin\n", "player.demo.origin"),
        ("ui/main_window.py", "from player.net import gateway\n", "player.net.gateway"),
        ("ui/main_window.py", "from player.demo import Demo\n", "player.demo"),
        ("ui/main_window.py", "from player.demo_media import make_hls\n", "player.demo_media"),
        ("ui/main_window.py", "from player.demo.origin import ThrottledOrigin\n", "player.demo.origin"),
        ("core/model.py", "import requests\n", "requests"),
        ("net/fetch.py", "from PyQt6.QtCore import QTimer\n", "PyQt6.QtCore"),
        ("session/__init__.py", "import vlc\n", "vlc"),
        ("demo/origin.py", "from tests.support.origin import OriginServer\n", "tests.support.origin"),
    ],
)
def test_the_checker_reports_a_bad_import(tmp_path: Path, rel: str, source: str, imported: str) -> None:
    root = _tree(tmp_path, {
        "net/fetch.py": '"""x"""\n', "net/gateway.py": '"""x"""\n', "data/__init__.py": '"""x"""\n',
        "report/json.py": '"""x"""\n', "ui/main_window.py": '"""x"""\n', "demo/origin.py": '"""x"""\n',
        "playback/vlc.py": '"""x"""\n', "demo_media.py": '"""x"""\n', rel: source,
    })  # fmt: skip
    found = check_tree(root)
    assert [(v.module, v.imported) for v in found] == [(rel, imported)], found


@pytest.mark.parametrize(
    ("rel", "source"),
    [
        ("core/abr.py", "from player.core.model import Hop\nfrom . import stats\n"),
        ("net/fetch.py", "from player.core.model import Hop\nimport requests\n"),
        ("ui/main_window.py", "from player.session import Session\nfrom PyQt6.QtCore import Qt\n"),
        ("app.py", "from player.demo import Demo\nfrom player.net import fetch\nimport PyQt6\n"),
        ("demo/stream.py", "from player.net.loopback_http import LoopbackHTTPServer\n"),
    ],
)
def test_the_checker_accepts_allowed_imports(tmp_path: Path, rel: str, source: str) -> None:
    root = _tree(tmp_path, {"net/fetch.py": '"""x"""\n', "net/loopback_http.py": '"""x"""\n',
                            "core/stats.py": '"""x"""\n', rel: source})  # fmt: skip
    assert check_tree(root) == []
