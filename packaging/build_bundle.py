#!/usr/bin/env python3
"""Build the one-folder bundle: ``python3 packaging/build_bundle.py`` -> dist/stallwatch/.

Standard library only. It makes a build venv (build/bundle-venv/, reused while
packaging/constraints.txt and pyproject.toml are unchanged) with the system's /usr/bin/python3,
installs the project wheel with the pinned dependencies and PyInstaller into it, and freezes
packaging/bundle_entry.py with packaging/stallwatch.spec. The bundle holds Python, the dependencies, player's package data
(naming table, icons), publicsuffixlist's data and Qt's platform plugins (xcb, offscreen,
wayland). libVLC is NOT bundled: python-vlc loads the system's libvlc.so.5 (with its plugins)
at run time; without it `stallwatch --version` says "libVLC not available" and playing or
`diagnose` exits 3 with a one-line message (see packaging/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import appinfo  # noqa: E402

log = logging.getLogger("build_bundle")

BUILD = appinfo.ROOT / "build"
BUILD_VENV = BUILD / "bundle-venv"
STAMP = BUILD_VENV / ".stallwatch-bundle-deps"
SYSTEM_PYTHON = Path("/usr/bin/python3")  # needs a shared libpython (Debian: libpython3.X)
PIP_TIMEOUT_S = 1800  # first build downloads PyQt6-Qt6, numpy and PyInstaller
FREEZE_TIMEOUT_S = 1800
NAME = "stallwatch"


def run(cmd: list[str], **kw) -> None:  # noqa: ANN003
    log.info("+ %s", " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def inputs_hash() -> str:
    h = hashlib.sha256()
    for path in (appinfo.CONSTRAINTS, appinfo.ROOT / "pyproject.toml"):
        h.update(path.read_bytes())
    h.update(appinfo.PYINSTALLER.encode())
    return h.hexdigest()


def build_venv() -> Path:
    py = BUILD_VENV / "bin" / "python"
    want = inputs_hash()
    if py.exists() and STAMP.exists() and STAMP.read_text().strip() == want:
        return py
    run([str(SYSTEM_PYTHON), "-m", "venv", "--clear", str(BUILD_VENV)])
    run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-c",
            str(appinfo.CONSTRAINTS),
            "-r",
            str(requirements()),
            appinfo.PYINSTALLER,
        ],
        timeout=PIP_TIMEOUT_S,
    )
    STAMP.write_text(want + "\n")
    return py


def requirements() -> Path:
    """pyproject's run-time dependencies as a requirements file (the project itself is added
    as a fresh wheel at each build, so the frozen code is the checkout's)."""
    import tomllib

    deps = tomllib.loads((appinfo.ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    BUILD.mkdir(exist_ok=True)
    path = BUILD / "bundle-requirements.txt"
    path.write_text("\n".join(deps) + "\n")
    return path


def install_project(py: Path, work: Path) -> None:
    src = appinfo.copy_sources(work / "src")
    run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "--force-reinstall",
            str(src),
        ],
        timeout=PIP_TIMEOUT_S,
    )


def freeze(py: Path, work: Path, dist: Path) -> Path:
    spec = appinfo.PACKAGING / "stallwatch.spec"
    run(
        [str(py), "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work / "pyi"), str(spec)],
        timeout=FREEZE_TIMEOUT_S,
    )  # fmt: skip
    return dist / NAME


def check_no_libvlc(bundle: Path) -> None:
    """libVLC must come from the system: a copied libvlc without its plugins cannot play."""
    copied = [p for p in bundle.rglob("libvlc*.so*")]
    if copied:
        sys.exit(f"build_bundle: libVLC was bundled ({copied[0]}); it must come from the system")


def build(dist: Path) -> Path:
    if not SYSTEM_PYTHON.exists():
        sys.exit(f"build_bundle: {SYSTEM_PYTHON} not found")
    py = build_venv()
    with tempfile.TemporaryDirectory(prefix="stallwatch-bundle-") as tmp:
        work = Path(tmp)
        install_project(py, work)
        bundle = freeze(py, work, dist)
    check_no_libvlc(bundle)
    return bundle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=appinfo.DIST, help="output directory (dist/)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="[build_bundle] %(message)s"
    )
    started = time.monotonic()
    bundle = build(args.out)
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    log.warning("built %s (%.0f MB) in %.0f s", bundle, size / 1e6, time.monotonic() - started)
    sys.stdout.write(f"{bundle}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
