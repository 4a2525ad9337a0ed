"""Checks for the application icon and the freedesktop desktop entry."""

from __future__ import annotations

import configparser
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from player import APP_ID

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import Qt  # noqa: E402
from PyQt6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PyQt6.QtSvg import QSvgRenderer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "player" / "data" / "icon.svg"
ICON_DIR = ROOT / "player" / "data" / "icons"
DESKTOP = ROOT / "packaging" / f"{APP_ID}.desktop"
SIZES = (16, 32, 48, 64, 128, 256, 512)


@pytest.fixture(scope="module")
def qapp():
    app = QGuiApplication.instance() or QGuiApplication([])
    yield app


def _opaque_pixels(image: QImage) -> int:
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            if image.pixelColor(x, y).alpha() > 0:
                count += 1
    return count


def test_svg_is_well_formed_xml():
    root = ET.parse(SVG).getroot()
    assert root.tag.endswith("svg")
    assert root.get("viewBox")
    # Hand-written, self-contained: no text (fonts) and no external references.
    text = SVG.read_text(encoding="utf-8")
    assert "<text" not in text
    assert "xlink:href" not in text and "<image" not in text


def test_svg_renders_non_empty(qapp):
    renderer = QSvgRenderer(str(SVG))
    assert renderer.isValid()
    assert not renderer.defaultSize().isEmpty()
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    assert _opaque_pixels(image) > 64 * 64 // 2


@pytest.mark.parametrize("size", SIZES)
def test_png_icon(qapp, size):
    path = ICON_DIR / f"stallwatch-{size}.png"
    assert path.is_file(), f"{path} missing; run tools/render_icons.py"
    image = QImage(str(path))
    assert not image.isNull()
    assert (image.width(), image.height()) == (size, size)
    small = image if size <= 64 else image.scaled(64, 64)
    assert _opaque_pixels(small) > 0, "icon is fully transparent"


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    assert parser.sections()[0] == "Desktop Entry"
    return parser["Desktop Entry"]


def test_desktop_entry_required_keys():
    entry = _desktop_entry()
    for key in ("Type", "Name", "GenericName", "Comment", "Exec", "Icon", "Categories", "MimeType"):
        assert entry.get(key), f"missing {key}"
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Stallwatch"
    assert entry["Icon"] == APP_ID
    assert entry["Exec"].split()[0] == "stallwatch"
    assert entry["Exec"] == "stallwatch %U"


def test_desktop_entry_lists():
    entry = _desktop_entry()
    categories = entry["Categories"]
    mimes = entry["MimeType"]
    assert categories.endswith(";") and mimes.endswith(";")
    assert {"AudioVideo", "Video", "Player"} <= set(filter(None, categories.split(";")))
    assert {
        "video/mp4",
        "video/webm",
        "video/x-matroska",
        "application/vnd.apple.mpegurl",
        "application/x-mpegurl",
        "application/dash+xml",
    } <= set(filter(None, mimes.split(";")))
