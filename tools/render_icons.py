"""Render ``player/data/icon.svg`` to the PNG sizes used by desktop environments.

Uses PyQt6's :class:`QSvgRenderer` on an offscreen Qt platform, so it works
headless (CI, SSH sessions).  Output goes to ``player/data/icons/stallwatch-N.png``.

Usage::

    python tools/render_icons.py [--svg PATH] [--out DIR] [--sizes 16 32 ...]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

# Offline asset tool: Qt is needed here, hence TID251 is silenced below.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import Qt  # noqa: E402, TID251
from PyQt6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402, TID251
from PyQt6.QtSvg import QSvgRenderer  # noqa: E402, TID251

log = logging.getLogger("render_icons")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SVG = ROOT / "player" / "data" / "icon.svg"
DEFAULT_OUT = ROOT / "player" / "data" / "icons"
SIZES: tuple[int, ...] = (16, 32, 48, 64, 128, 256, 512)


def _ensure_app() -> QGuiApplication:
    app = QGuiApplication.instance()
    if app is None:
        app = QGuiApplication(sys.argv[:1])
    return app  # type: ignore[return-value]


def render_image(svg_path: Path, size: int) -> QImage:
    """Render *svg_path* into a transparent ``size`` x ``size`` ARGB image."""
    _ensure_app()
    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        raise ValueError(f"invalid SVG: {svg_path}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        renderer.render(painter)
    finally:
        painter.end()
    return image


def render_all(
    svg_path: Path = DEFAULT_SVG,
    out_dir: Path = DEFAULT_OUT,
    sizes: tuple[int, ...] | list[int] = SIZES,
) -> list[Path]:
    """Render every size, returning the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for size in sizes:
        target = out_dir / f"stallwatch-{size}.png"
        image = render_image(svg_path, size)
        if not image.save(str(target), "PNG"):
            raise OSError(f"could not write {target}")
        log.info("wrote %s (%dx%d)", target, size, size)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=DEFAULT_SVG)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(message)s",
    )
    try:
        render_all(args.svg, args.out, args.sizes)
    except (OSError, ValueError) as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
