"""Desktop integration (fast, default suite): the desktop entry and the AppStream metainfo
validate with the freedesktop tools, and everything names the one application id and the
one version (player/__init__.py)."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from player import APP_ID, __version__

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
TOOL_TIMEOUT_S = 60
# Main categories of the freedesktop menu spec: an entry must list exactly one of them.
MAIN_CATEGORIES = {
    "AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics",
    "Network", "Office", "Science", "Settings", "System", "Utility",
}  # fmt: skip
# Video is a main category too, but the spec makes it the usual companion of AudioVideo.
ALLOWED_WITH_AUDIOVIDEO = {"Video", "Audio"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (bootstrap.py installs it: apt-get)")
    return path


def _entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def test_app_id_is_reverse_dns():
    assert re.fullmatch(r"[a-z][a-z0-9]*(\.[A-Za-z0-9_-]+){2,}", APP_ID)


def test_desktop_file_validates():
    r = subprocess.run(
        [_tool("desktop-file-validate"), str(DESKTOP)],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
    )
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_metainfo_validates():
    r = subprocess.run(
        [_tool("appstreamcli"), "validate", "--no-net", "--explain", str(METAINFO)],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    # "clean": no errors and no warnings (pedantic notes such as the uppercase id are fine)
    assert not re.search(r"^[EW]: ", r.stdout, re.M), r.stdout


def test_desktop_entry_names_the_app_id_and_one_main_category():
    entry = _entry()
    assert entry["Icon"] == APP_ID
    assert entry["Exec"] == "stallwatch %U"
    cats = set(filter(None, entry["Categories"].split(";")))
    assert cats & MAIN_CATEGORIES - ALLOWED_WITH_AUDIOVIDEO == {"AudioVideo"}
    assert {"Video", "Player"} <= cats


def test_desktop_entry_opens_video_containers_hls_and_dash():
    mimes = set(filter(None, _entry()["MimeType"].split(";")))
    assert {
        "video/mp4", "video/webm", "video/x-matroska", "video/quicktime", "video/x-msvideo",
        "video/mp2t", "video/ogg",
        "application/vnd.apple.mpegurl", "audio/mpegurl", "application/x-mpegurl",
        "application/dash+xml",
    } <= mimes  # fmt: skip


def test_metainfo_id_launchable_and_release_match_the_product():
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    releases = [r.get("version") for r in root.iter("release")]
    assert releases and releases[0] == __version__, "newest <release> must be player.__version__"
    assert root.find("content_rating") is not None
    assert root.find("description/p") is not None


def test_pyproject_takes_its_version_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "player.__version__"


def test_gui_sets_the_desktop_file_name_to_the_app_id():
    # The GUI start path is the composition root; it must name the entry by the same id.
    source = (ROOT / "player" / "app.py").read_text()
    assert "setDesktopFileName(APP_ID)" in source


def test_packaging_scripts_read_the_same_id_and_version():
    sys.path.insert(0, str(PACKAGING))
    try:
        import appinfo
    finally:
        sys.path.remove(str(PACKAGING))
    assert (appinfo.app_id(), appinfo.version()) == (APP_ID, __version__)
    assert appinfo.desktop_file() == DESKTOP and appinfo.metainfo_file() == METAINFO
    for size in appinfo.ICON_SIZES:
        assert appinfo.icon_png(size).is_file()


def test_user_install_script_puts_entry_and_icons_under_the_app_id(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            str(PACKAGING / "install-desktop-entry.py"),
            "--prefix",
            str(tmp_path),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "applications" / f"{APP_ID}.desktop").read_bytes() == DESKTOP.read_bytes()
    assert (tmp_path / "icons/hicolor/48x48/apps" / f"{APP_ID}.png").is_file()


def test_exec_percent_u_gives_the_player_every_selected_file_in_order(tmp_path):
    """%U is "a list of URLs" (Desktop Entry spec): several files arrive as several file://
    arguments; the command line takes them all and the queue plays them as paths. (The real
    run of the expanded line, with libVLC, is tests/player/test_cli.py.)"""
    import shlex

    from player.app import build_parser
    from player.ui.queue_controller import normalise_source

    files = [tmp_path / "a film.mp4", tmp_path / "b#2.mkv", tmp_path / "ü.webm"]
    exec_args = shlex.split(_entry()["Exec"])
    assert exec_args.count("%U") == 1 and not {"%u", "%f", "%F"} & set(exec_args)
    uris = [f.as_uri() for f in files]
    argv = [a for arg in exec_args[1:] for a in (uris if arg == "%U" else [arg])]
    args = build_parser().parse_args(argv)
    assert [normalise_source(s) for s in args.sources] == [str(f) for f in files]
