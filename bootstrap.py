#!/usr/bin/env python3
"""Set up everything Stallwatch needs on Debian/Ubuntu, then run it or its tests.

    python3 bootstrap.py demo        # set up, then play the built-in demo
    python3 bootstrap.py test [ARGS] # set up, then run the whole test suite (ARGS go to pytest)
    python3 bootstrap.py test-packaging [ARGS]
                                     # set up, then build the .deb and the bundle and test them
                                     # (slow: pytest -m packaging; needs root for the chroot)
    python3 bootstrap.py setup       # set up only
    python3 bootstrap.py run [ARGS]  # set up, then run `stallwatch ARGS`

Needs nothing but python3 (standard library only): it installs the system
packages with apt-get when run as root (or tells you the exact command when
not), creates the virtual environment `.venv/` and installs the project with
its test extras into it. Re-running is cheap: each step is skipped when done.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".stallwatch-installed"

# libVLC with its plugin cache, media tools, a virtual X server for screenshots,
# the Qt runtime libraries a bare system lacks, the network tools of the testbed, and a
# D-Bus daemon and client (the MPRIS, inhibit and single-instance tests start a private bus).
APT_PACKAGES = [
    "libvlc5", "vlc-plugin-base", "libvlc-bin",
    "ffmpeg", "openssl",
    "xvfb", "xauth",
    "libegl1", "libgl1", "libglib2.0-0", "libfontconfig1", "libfreetype6", "libdbus-1-3",
    "libxkbcommon0", "libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-icccm4", "libxcb-image0",
    "libxcb-keysyms1", "libxcb-randr0", "libxcb-render-util0", "libxcb-shape0",
    "libxcb-xinerama0", "libxcb-xkb1", "libxcb-xfixes0", "libx11-xcb1", "fonts-dejavu-core",
    "iproute2", "iputils-ping", "iputils-tracepath", "procps", "util-linux",
    "desktop-file-utils", "appstream",
    "dbus-daemon", "dbus-bin",
]  # fmt: skip
# Only for `test-packaging` (and packaging/build_*.py): the system Python with venv and its
# shared library (PyInstaller), dpkg-deb, and debootstrap for the test's clean Debian root.
PACKAGING_APT_PACKAGES = ["python3-venv", "libpython3-dev", "dpkg-dev", "debootstrap"]


def say(msg: str) -> None:
    print(f"[stallwatch setup] {msg}", flush=True)


def missing_apt_packages(packages: list[str]) -> list[str]:
    if not shutil.which("dpkg-query"):
        return []
    missing = []
    for pkg in packages:
        r = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if "install ok installed" not in r.stdout:
            missing.append(pkg)
    return missing


def venv_package() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}-venv"


def python_can_make_venvs() -> bool:
    r = subprocess.run(
        [sys.executable, "-c", "import venv, ensurepip"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return r.returncode == 0


def apt_install(packages: list[str]) -> None:
    if not packages:
        return
    cmd = "apt-get update && apt-get install -y --no-install-recommends " + " ".join(packages)
    if not shutil.which("apt-get"):
        say("This system has no apt-get. Install the equivalents of these packages, then re-run:")
        say("  " + " ".join(packages))
        sys.exit(1)
    if os.geteuid() != 0:
        say("Some system packages are missing. As root (or with sudo), run:")
        say(f"  {cmd}")
        say("then run this command again.")
        sys.exit(1)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    say("installing system packages: " + " ".join(packages))
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], check=True, env=env
    )


def ensure_system() -> None:
    missing = missing_apt_packages(APT_PACKAGES)
    if not python_can_make_venvs():
        missing.append(venv_package())
    apt_install(missing)


def project_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def venv_has_pip(py: Path) -> bool:
    if not py.exists():
        return False
    r = subprocess.run(
        [str(py), "-m", "pip", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return r.returncode == 0


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    if not venv_has_pip(py):
        # Also repairs a half-made .venv/ (no pip, or a dangling python): what a plain
        # `python3 -m venv .venv` leaves behind on Debian/Ubuntu without python3-venv.
        if VENV.exists():
            say("rebuilding the incomplete virtual environment .venv/")
        else:
            say("creating the virtual environment .venv/")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    want = project_hash()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return py
    say("installing Stallwatch and its test tools into .venv/")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(want + "\n")
    return py


def setup() -> Path:
    ensure_system()
    return ensure_venv()


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "demo"
    rest = argv[1:]
    if cmd in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if cmd not in ("demo", "test", "test-packaging", "setup", "run"):
        print(__doc__)
        return 2
    py = setup()
    exe = str(VENV / "bin" / "stallwatch")
    if cmd == "setup":
        say("ready: .venv/bin/stallwatch")
        return 0
    if cmd in ("test", "test-packaging"):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
        args = [str(py), "-m", "pytest", *rest]
        if cmd == "test-packaging":
            apt_install(missing_apt_packages(PACKAGING_APT_PACKAGES))
            args = [str(py), "-m", "pytest", "-m", "packaging", "--durations=0", *rest]
        say("running: " + " ".join(args[1:]))
        return subprocess.run(args, cwd=ROOT, env=env).returncode
    args = [exe, "--demo"] if cmd == "demo" else [exe, *rest]
    if not has_display():
        say("no display found: starting a virtual one (xvfb-run); screenshots go to ./demo-screenshots")
        args = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *args]
        if cmd == "demo":
            args += ["--auto-screenshot", str(ROOT / "demo-screenshots"), "--quit-after", "75"]
    os.chdir(ROOT)
    os.execvp(args[0], args)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
