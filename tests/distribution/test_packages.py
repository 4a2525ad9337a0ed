"""The .deb installs with apt in a clean Debian 12 root and runs; the one-folder bundle runs
from a folder outside the repository, and in a root with no Python at all it still starts
and says in one line that libVLC is missing.

Real parts throughout: the real build scripts, dpkg-deb, PyInstaller, a debootstrap'd root,
apt-get against the Debian mirror, libVLC decoding an ffmpeg-made HLS stream served on
loopback. Nothing is mocked.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from player import APP_ID, __version__
from tests.distribution.chroot import Chroot
from tests.distribution.conftest import headless_env

pytestmark = pytest.mark.packaging

DIAGNOSE_S = 4  # seconds of playback: enough to start, play and report
RUN_TIMEOUT_S = 180  # diagnose also probes the path; generous on a loaded 2-core machine
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
EXIT_NO_LIBVLC = 3  # player/app.py


def _check_report(stdout: str) -> dict:
    report = json.loads(stdout)
    assert "verdict" in report and "qoe" in report, report
    assert report["verdict"]["segment"], report["verdict"]
    assert report["played_s"] > 0, report
    assert report["qoe"]["frames_displayed"] > 0, report["qoe"]
    return report


def _dpkg_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


# --- the .deb ---------------------------------------------------------------------------------


def test_deb_declares_libvlc_qt_runtime_and_its_own_python(deb: Path) -> None:
    assert deb.name == f"stallwatch_{__version__}_amd64.deb"
    assert _dpkg_field(deb, "Version") == __version__
    depends = {d.strip().split(" ")[0] for d in _dpkg_field(deb, "Depends").split(",")}
    assert {"python3", "libvlc5", "vlc-plugin-base", "libvlc-bin", "libxcb-cursor0",
            "libegl1", "libfontconfig1"} <= depends  # fmt: skip
    assert re.search(r"python3 \(>= 3\.11\)", _dpkg_field(deb, "Depends"))
    assert "ffmpeg" in _dpkg_field(deb, "Recommends")
    assert "python3-venv" not in depends  # the venv is made at build time, not on install


def test_deb_contents(deb: Path) -> None:
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    paths = {line.split()[-1].removeprefix(".") for line in listing.splitlines()}
    expected = {
        "/usr/bin/stallwatch",
        f"/usr/share/applications/{APP_ID}.desktop",
        f"/usr/share/metainfo/{APP_ID}.metainfo.xml",
        f"/usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
        "/opt/stallwatch/venv/pyvenv.cfg",
        *(f"/usr/share/icons/hicolor/{s}x{s}/apps/{APP_ID}.png" for s in ICON_SIZES),
    }
    assert expected <= paths, expected - paths
    assert any(p.startswith("/opt/stallwatch/venv/lib/python3.11/site-packages/PyQt6/")
               for p in paths)  # fmt: skip
    assert not any("/site-packages/pip/" in p for p in paths)  # no build tools shipped


def test_deb_installs_with_apt_in_a_clean_debian_root(deb_root: Chroot) -> None:
    status = deb_root.run("dpkg-query", "-W", "-f=${Status} ${Version}", "stallwatch").stdout
    assert status == f"install ok installed {__version__}"
    for pkg in ("libvlc5", "vlc-plugin-base", "python3.11"):
        assert (
            "install ok installed" in deb_root.run("dpkg-query", "-W", "-f=${Status}", pkg).stdout
        )
    # the venv names its final location only: nothing from the build machine's staging dir
    cfg = (deb_root.root / "opt/stallwatch/venv/pyvenv.cfg").read_text()
    assert "stallwatch-deb-" not in cfg and "home = /usr/bin" in cfg
    assert (deb_root.root / "opt/stallwatch/venv/bin/python").resolve(strict=False)


def test_installed_launcher_prints_both_versions(deb_root: Chroot) -> None:
    r = deb_root.run("stallwatch", "--version")
    assert r.returncode == 0, r.stderr
    assert f"stallwatch {__version__}" in r.stdout
    assert re.search(r"^libVLC 3\.\d+\.\d+", r.stdout, re.M), r.stdout
    assert re.search(r"^Python 3\.11\.", r.stdout, re.M), r.stdout  # Debian's, not ours


def test_installed_launcher_diagnoses_a_loopback_stream(deb_root: Chroot, stream_url: str) -> None:
    r = deb_root.run("stallwatch", "diagnose", "--json", "--duration", str(DIAGNOSE_S), stream_url,
                     timeout=RUN_TIMEOUT_S, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    report = _check_report(r.stdout)
    assert report["url"] == stream_url


def test_installed_desktop_entry_and_icons(deb_root: Chroot) -> None:
    share = deb_root.root / "usr/share"
    desktop = share / "applications" / f"{APP_ID}.desktop"
    assert f"Icon={APP_ID}" in desktop.read_text()
    for s in ICON_SIZES:
        assert (share / f"icons/hicolor/{s}x{s}/apps/{APP_ID}.png").stat().st_size > 0
    if shutil.which("desktop-file-validate"):
        r = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout


def test_zz_apt_remove_leaves_nothing_behind(deb_root: Chroot) -> None:
    # Runs last in this module (name): removing ends the session root's use.
    r = deb_root.run("apt-get", "remove", "-y", "-q", "stallwatch", check=False)
    assert r.returncode == 0, r.stderr
    assert not (deb_root.root / "usr/bin/stallwatch").exists()
    assert not (deb_root.root / "opt/stallwatch").exists(), "files left in /opt/stallwatch"


# --- the one-folder bundle --------------------------------------------------------------------


def test_bundle_holds_data_plugins_and_no_libvlc(bundle_dir: Path) -> None:
    files = [p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*") if p.is_file()]
    assert any(f.endswith("player/data/icons/stallwatch-48.png") for f in files)
    assert any(re.search(r"player/data/[^/]+\.json$", f) for f in files), "naming table missing"
    assert any(re.search(r"publicsuffixlist/.*public_suffix_list\.dat$", f) for f in files)
    for plugin in ("libqxcb.so", "libqoffscreen.so"):
        assert any(f.endswith(f"platforms/{plugin}") for f in files), plugin
    assert not any(re.search(r"(^|/)libvlc(core)?\.so", f) for f in files), "libVLC bundled"


def test_bundle_runs_from_outside_the_repository(bundle_dir: Path, stream_url: str) -> None:
    exe = bundle_dir / "stallwatch"
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True,
                       timeout=RUN_TIMEOUT_S, cwd=bundle_dir.parent, env=headless_env())  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"stallwatch {__version__}" in r.stdout
    assert re.search(r"^libVLC 3\.\d+\.\d+", r.stdout, re.M), r.stdout
    r = subprocess.run(
        [str(exe), "diagnose", "--json", "--duration", str(DIAGNOSE_S), stream_url],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=bundle_dir.parent,
        env=headless_env(),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    _check_report(r.stdout)


def test_bundle_without_python_or_libvlc_says_so_in_one_line(
    bundle_dir: Path, bare_root: Chroot
) -> None:
    assert bare_root.run("sh", "-c", "command -v python3", check=False).returncode != 0
    inside = bare_root.root / "opt/stallwatch-bundle"
    shutil.copytree(bundle_dir, inside, symlinks=True)
    exe = "/opt/stallwatch-bundle/stallwatch"
    r = bare_root.run(exe, "--version", check=False)
    assert r.returncode == 0, r.stderr
    assert f"stallwatch {__version__}" in r.stdout
    assert re.search(r"^libVLC not available", r.stdout, re.M), r.stdout
    r = bare_root.run(exe, "diagnose", "--json", "http://127.0.0.1:9/x.m3u8", check=False)
    assert r.returncode == EXIT_NO_LIBVLC, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "libVLC not found" in lines[0] and "libvlc5" in lines[0], lines
