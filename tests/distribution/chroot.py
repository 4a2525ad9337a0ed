"""A clean Debian 12 root for installing the .deb: a debootstrap'd minbase chroot.

The base system is made once and cached (``$STALLWATCH_CHROOT_CACHE`` or
``/var/tmp/stallwatch-test-chroot``); each test session copies it to a fresh directory, so
every install starts from a system that has never seen Stallwatch. Downloaded .debs are kept
in the cache too (bind-mounted as the chroot's apt archive) so re-runs do not fetch them again.
Needs root and debootstrap (the test skips, saying why, without them).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

SUITE = "bookworm"  # Debian 12: the release the .deb targets
MIRROR = "http://deb.debian.org/debian"
CACHE = Path(os.environ.get("STALLWATCH_CHROOT_CACHE", "/var/tmp/stallwatch-test-chroot"))
DEBOOTSTRAP_TIMEOUT_S = 1800  # a minbase bootstrap downloads ~40 MB; generous for slow mirrors
APT_TIMEOUT_S = 1800  # installing the .deb pulls libVLC and the Qt runtime libraries (~150 MB)

SOURCES = f"""deb {MIRROR} {SUITE} main
deb {MIRROR} {SUITE}-updates main
deb http://deb.debian.org/debian-security {SUITE}-security main
"""


def cannot_run_reason() -> str | None:
    """Why a chroot cannot be made here, or None."""
    if os.geteuid() != 0:
        return "making a chroot needs root"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (apt-get install debootstrap)"
    return None


def ensure_base() -> Path:
    """The cached, bootstrapped base system (made on first use)."""
    base = CACHE / f"{SUITE}-minbase"
    stamp = CACHE / f"{SUITE}-minbase.done"
    if stamp.exists() and base.is_dir():
        return base
    if base.exists():
        shutil.rmtree(base)  # an interrupted bootstrap: start over
    CACHE.mkdir(parents=True, exist_ok=True)
    log.info("debootstrapping %s into %s", SUITE, base)
    subprocess.run(
        ["debootstrap", "--variant=minbase", SUITE, str(base), MIRROR],
        check=True,
        timeout=DEBOOTSTRAP_TIMEOUT_S,
        stdout=subprocess.DEVNULL,
    )
    (base / "etc/apt/sources.list").write_text(SOURCES)
    stamp.write_text(SUITE + "\n")
    return base


def _env() -> dict[str, str]:
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "DEBIAN_FRONTEND": "noninteractive",
        "LANG": "C.UTF-8",
        "HOME": "/root",
    }


class Chroot:
    """A fresh copy of the base system with /proc, /dev and the apt cache mounted."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._mounts: list[Path] = []

    @classmethod
    def fresh(cls, parent: Path) -> Chroot:
        base = ensure_base()
        root = parent / "root"
        subprocess.run(["cp", "-a", str(base), str(root)], check=True)
        shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
        chroot = cls(root)
        chroot._mount_all()
        return chroot

    def _mount(self, args: list[str], target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", *args, str(target)], check=True)
        self._mounts.append(target)

    def _mount_all(self) -> None:
        self._mount(["-t", "proc", "proc"], self.root / "proc")
        self._mount(["--rbind", "/dev"], self.root / "dev")  # with /dev/shm, /dev/pts
        self._mount(["-t", "tmpfs", "tmpfs"], self.root / "tmp")
        archives = CACHE / "apt-archives"
        (archives / "partial").mkdir(parents=True, exist_ok=True)
        self._mount(["--bind", str(archives)], self.root / "var/cache/apt/archives")

    def run(
        self, *cmd: str, timeout: float = 120, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` inside the chroot; output captured as text."""
        return subprocess.run(
            ["chroot", str(self.root), *cmd],
            env={**_env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def install_deb(self, deb: Path) -> subprocess.CompletedProcess[str]:
        """``apt-get install ./that.deb`` inside the chroot (dependencies from the mirror)."""
        shutil.copyfile(deb, self.root / "tmp" / deb.name)
        self.run("apt-get", "update", "-q", timeout=APT_TIMEOUT_S)
        return self.run(
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            f"/tmp/{deb.name}",
            timeout=APT_TIMEOUT_S,
        )

    def mounted_inside(self) -> list[str]:
        """Mount points still under the root (from /proc/self/mountinfo)."""
        prefix = str(self.root.resolve()) + "/"
        points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        return [p for p in points if p.startswith(prefix)]

    def close(self) -> None:
        """Unmount everything (innermost first), then delete the copy.

        Never deletes while anything is still mounted inside: with /dev bound in, a
        recursive delete would reach the host's device nodes."""
        for target in reversed(self._mounts):
            subprocess.run(["umount", "-R", "-l", str(target)], check=False)
        self._mounts.clear()
        left = self.mounted_inside()
        if left:
            log.error("not deleting %s: still mounted inside: %s", self.root, left)
            return
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
