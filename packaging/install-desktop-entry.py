#!/usr/bin/env python3
"""Install (or remove) the Stallwatch desktop entry and icons for this user.

Copies ``packaging/<APP_ID>.desktop`` to ``$XDG_DATA_HOME/applications/`` and
``player/data/icons/stallwatch-N.png`` to ``$XDG_DATA_HOME/icons/hicolor/NxN/apps/<APP_ID>.png``
(APP_ID: the reverse-DNS id in ``player/__init__.py``)
(``$XDG_DATA_HOME`` defaults to ``~/.local/share``).  Running it again is
harmless; ``--uninstall`` removes exactly the files it installs.  Afterwards
it refreshes the desktop and icon caches if the usual tools are available.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import appinfo  # noqa: E402

log = logging.getLogger("install-desktop-entry")

DESKTOP_SRC = appinfo.desktop_file()
APP_ID = appinfo.app_id()
SIZES = appinfo.ICON_SIZES


def data_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    return Path(xdg) if xdg else Path.home() / ".local" / "share"


def planned_files(base: Path) -> list[tuple[Path, Path]]:
    """(source, destination) pairs this script manages."""
    pairs = [(DESKTOP_SRC, base / "applications" / f"{APP_ID}.desktop")]
    for size in SIZES:
        src = appinfo.icon_png(size)
        dst = base / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        pairs.append((src, dst))
    return pairs


def _same(src: Path, dst: Path) -> bool:
    return dst.is_file() and dst.read_bytes() == src.read_bytes()


def install(base: Path, dry_run: bool = False) -> int:
    missing = [src for src, _ in planned_files(base) if not src.is_file()]
    if missing:
        for src in missing:
            log.error("missing source file: %s", src)
        log.error("run tools/render_icons.py to (re)create the PNG icons")
        return 1
    for src, dst in planned_files(base):
        if _same(src, dst):
            log.info("up to date: %s", dst)
            continue
        log.info("install: %s", dst)
        if not dry_run:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            dst.chmod(0o644)
    return 0


def uninstall(base: Path, dry_run: bool = False) -> int:
    for _, dst in planned_files(base):
        if dst.is_file() or dst.is_symlink():
            log.info("remove: %s", dst)
            if not dry_run:
                dst.unlink()
    return 0


def refresh_caches(base: Path) -> None:
    """Best effort; missing tools or failures are not errors."""
    hicolor = base / "icons" / "hicolor"
    commands = [["update-desktop-database", "-q", str(base / "applications")]]
    if (hicolor / "icon-theme.cache").is_file():
        # Only refresh a cache that already exists; creating one in a user
        # directory could hide icons that other apps install later.
        commands.append(["gtk-update-icon-cache", "-q", "-t", "-f", str(hicolor)])
    elif hicolor.is_dir():
        os.utime(hicolor)  # bump mtime so icon lookups rescan the theme
    for cmd in commands:
        if shutil.which(cmd[0]) is None:
            continue
        try:
            subprocess.run(
                cmd, check=False, timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.debug("%s failed: %s", cmd[0], exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--uninstall", action="store_true", help="remove the desktop entry and icons"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change without touching files"
    )
    parser.add_argument(
        "--prefix",
        type=Path,
        default=None,
        help="data directory to use instead of $XDG_DATA_HOME or ~/.local/share",
    )
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")

    base = args.prefix if args.prefix is not None else data_home()
    rc = uninstall(base, args.dry_run) if args.uninstall else install(base, args.dry_run)
    if rc == 0 and not args.dry_run:
        refresh_caches(base)
        if not args.uninstall and shutil.which("stallwatch") is None:
            log.warning(
                "note: 'stallwatch' is not on PATH; install the package "
                "(pip install .) so the menu entry can launch it"
            )
    return rc


if __name__ == "__main__":
    sys.exit(main())
