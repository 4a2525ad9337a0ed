"""What the packaging scripts need to know about the product, read without importing it.

The build scripts run with nothing but the standard library (any python3), so the version
and the application id are read from ``player/__init__.py`` (the one source) by parsing it.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
ICON_DIR = ROOT / "player" / "data" / "icons"
# hicolor sizes we ship PNGs for (player/data/icons/stallwatch-N.png), plus the SVG as scalable
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
SVG_ICON = ROOT / "player" / "data" / "icon.svg"
CONSTRAINTS = PACKAGING / "constraints.txt"
# The dependencies' closure pinned in constraints.txt; PyInstaller's own pin for the bundle.
PYINSTALLER = "pyinstaller==6.22.3"


def _constants() -> dict[str, str]:
    tree = ast.parse((ROOT / "player" / "__init__.py").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    out[target.id] = node.value.value
    return out


def version() -> str:
    return _constants()["__version__"]


def app_id() -> str:
    return _constants()["APP_ID"]


def desktop_file() -> Path:
    return PACKAGING / f"{app_id()}.desktop"


def metainfo_file() -> Path:
    return PACKAGING / f"{app_id()}.metainfo.xml"


def icon_png(size: int) -> Path:
    return ICON_DIR / f"stallwatch-{size}.png"


def copy_sources(dest: Path) -> Path:
    """Copy what a wheel is built from (the package, pyproject, README) to ``dest``, so
    builds never write into the checkout; returns ``dest``."""
    shutil.copytree(
        ROOT / "player", dest / "player", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    return dest
