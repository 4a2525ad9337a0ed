#!/usr/bin/env python3
"""Build the Debian package: ``python3 packaging/build_deb.py`` -> dist/stallwatch_<v>_<arch>.deb.

Standard library only. What goes in (see packaging/README.md):

- a private virtual environment at /opt/stallwatch/venv, made with the system's own
  /usr/bin/python3.X (the one the package depends on) and holding the project wheel and
  the exact dependency versions of packaging/constraints.txt;
- /usr/bin/stallwatch, a two-line launcher into that venv;
- the desktop entry, the hicolor icons (PNG sizes and SVG) and the AppStream metainfo.

The venv is made in a staging directory and then made relocatable to its final path: the
text files in bin/ and pyvenv.cfg name the final path, and the bytecode is compiled with the
final path as its source location. Nothing on the build machine outside the staging
directory and dist/ is touched, and building needs no root (dpkg-deb --root-owner-group).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import appinfo  # noqa: E402

log = logging.getLogger("build_deb")

PACKAGE = "stallwatch"
PREFIX = Path("/opt/stallwatch")
VENV = PREFIX / "venv"
SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's interpreter, never a pyenv/conda one
MAINTAINER = "Stallwatch developers <stallwatch@users.noreply.github.com>"
# Run-time libraries: libVLC with its plugins and plugin cache tool, and what Qt's xcb
# platform plugin and fonts need on a system without a desktop (bootstrap.py's list).
DEPENDS_LIBS = [
    "libvlc5", "vlc-plugin-base", "libvlc-bin",
    "libegl1", "libgl1", "libglib2.0-0", "libfontconfig1", "libfreetype6", "libdbus-1-3",
    "libxkbcommon0", "libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-icccm4", "libxcb-image0",
    "libxcb-keysyms1", "libxcb-randr0", "libxcb-render-util0", "libxcb-shape0",
    "libxcb-xinerama0", "libxcb-xkb1", "libxcb-xfixes0", "libx11-xcb1", "fonts-dejavu-core",
]  # fmt: skip
RECOMMENDS = ["ffmpeg"]  # the demo makes its stream with ffmpeg; playback does not need it
PIP_TIMEOUT_S = 1800  # first build downloads PyQt6-Qt6 and numpy (~150 MB)

LAUNCHER = f"""#!/bin/sh
# Stallwatch launcher (Debian package): the app lives in a private venv.
exec {VENV}/bin/python -m player "$@"
"""

DESCRIPTION = """\
video player that tells you why your video is buffering
 Stallwatch plays files and network streams (MP4, WebM, Matroska, HLS, DASH)
 with libVLC. When playback stalls it names the network segment to blame:
 this computer, the home network, the ISP, the interconnect or the server.
 .
 The Python dependencies (PyQt6, requests, ...) are newer than Debian's own
 packages, so they ship in a private virtual environment in /opt/stallwatch.
"""


def run(cmd: list[str], **kw) -> None:  # noqa: ANN003
    log.info("+ %s", " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def system_python() -> Path:
    """The versioned system interpreter (/usr/bin/python3.11), so the venv keeps working when
    /usr/bin/python3 later points to another minor version."""
    out = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    versioned = Path(f"/usr/bin/python{out}")
    if not versioned.exists():
        sys.exit(f"build_deb: {versioned} not found (install python3 and python3-venv)")
    return versioned


def build_wheel(py: Path, work: Path) -> Path:
    """Build the project wheel from a copy of the sources (the checkout is left clean)."""
    src = appinfo.copy_sources(work / "src")
    wheels = work / "wheels"
    run(
        [str(py), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(src)],
        timeout=PIP_TIMEOUT_S,
    )
    (wheel,) = wheels.glob("stallwatch-*.whl")
    return wheel


def make_venv(python: Path, staging: Path, work: Path) -> None:
    venv = staging / VENV.relative_to("/")
    run([str(python), "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    wheel = build_wheel(py, work)
    run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            "--disable-pip-version-check",
            "-c",
            str(appinfo.CONSTRAINTS),
            str(wheel),
        ],
        timeout=PIP_TIMEOUT_S,
    )
    # pip and setuptools are build tools: the package never installs anything at run time.
    run([str(py), "-m", "pip", "uninstall", "-q", "-y", "pip", "setuptools"])
    relocate(venv)
    # Bytecode naming the final paths (tracebacks show source lines), written now because
    # users cannot write into /opt.
    run(
        [
            str(python),
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "-s",
            str(staging),
            "-p",
            "/",
            str(venv / "lib"),
        ]
    )


def relocate(venv: Path) -> None:
    """Make the staged venv name its final path in bin/ scripts and pyvenv.cfg."""
    old, new = str(venv).encode(), str(VENV).encode()
    for path in [*sorted((venv / "bin").iterdir()), venv / "pyvenv.cfg"]:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" not in data and old in data:
            path.write_bytes(data.replace(old, new))


def install_desktop_files(staging: Path) -> None:
    app_id = appinfo.app_id()
    share = staging / "usr" / "share"
    put(appinfo.desktop_file(), share / "applications" / f"{app_id}.desktop")
    put(appinfo.metainfo_file(), share / "metainfo" / f"{app_id}.metainfo.xml")
    for size in appinfo.ICON_SIZES:
        put(appinfo.icon_png(size), share / "icons/hicolor" / f"{size}x{size}/apps/{app_id}.png")
    put(appinfo.SVG_ICON, share / "icons/hicolor/scalable/apps" / f"{app_id}.svg")
    doc = share / "doc" / PACKAGE
    put(appinfo.PACKAGING / "copyright", doc / "copyright")


def put(src: Path, dst: Path, mode: int = 0o644) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    dst.chmod(mode)


def control(staging: Path, python: Path, arch: str) -> str:
    size_kib = sum(p.lstat().st_size for p in staging.rglob("*") if not p.is_dir()) // 1024
    pyver = python.name.removeprefix("python")
    depends = [f"python3 (>= {pyver})", f"python{pyver}", *DEPENDS_LIBS]
    return (
        f"Package: {PACKAGE}\n"
        f"Version: {appinfo.version()}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {size_kib}\n"
        f"Depends: {', '.join(depends)}\n"
        f"Recommends: {', '.join(RECOMMENDS)}\n"
        "Section: video\n"
        "Priority: optional\n"
        "Homepage: https://github.com/stallwatch/stallwatch\n"
        f"Description: {DESCRIPTION}"
    )


def build(out_dir: Path, compression: str) -> Path:
    if shutil.which("dpkg-deb") is None:
        sys.exit("build_deb: dpkg-deb not found (apt-get install dpkg-dev)")
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
    ).stdout.strip()
    python = system_python()
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{PACKAGE}_{appinfo.version()}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="stallwatch-deb-") as tmp:
        work = Path(tmp)
        staging = work / "root"
        make_venv(python, staging, work)
        put_launcher = staging / "usr/bin/stallwatch"
        put_launcher.parent.mkdir(parents=True, exist_ok=True)
        put_launcher.write_text(LAUNCHER)
        put_launcher.chmod(0o755)
        install_desktop_files(staging)
        debian = staging / "DEBIAN"
        debian.mkdir()
        (debian / "control").write_text(control(staging, python, arch))
        run(
            [
                "dpkg-deb",
                "--root-owner-group",
                f"-Z{compression}",
                "--build",
                str(staging),
                str(deb),
            ]
        )
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=appinfo.DIST, help="output directory (dist/)")
    parser.add_argument(
        "--compression",
        default="zstd",
        choices=["zstd", "xz", "gzip"],
        help="dpkg-deb compression: zstd (default; dpkg >= 1.21.18, Debian 12 and Ubuntu 22.04+"
        " read it): the whole build took 47 s here (112 MB); xz makes it ~27%% smaller (82 MB)"
        " but took 7 min on 2 cores",
    )
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="[build_deb] %(message)s"
    )
    started = time.monotonic()
    deb = build(args.out, args.compression)
    log.warning(
        "built %s (%.1f MB) in %.0f s", deb, deb.stat().st_size / 1e6, time.monotonic() - started
    )
    sys.stdout.write(f"{deb}\n")
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
