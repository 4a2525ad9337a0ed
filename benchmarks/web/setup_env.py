"""The web-player benchmark's own set-up: Debian's Chromium and its driver, Selenium in the
running venv, and the pinned npm players in a cache dir (never in the repo tree).

None of this is a product dependency: the product never imports Selenium or a browser.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
APT_PACKAGES = ("chromium", "chromium-driver")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# 4.52.0 needs a certifi newer than the package index here has; 4.51.0 installs cleanly.
SELENIUM_PIN = "selenium==4.51.0"
APT_TIMEOUT_S = 900.0  # chromium is ~130 MB to fetch and unpack
NPM_TIMEOUT_S = 300.0
PIP_TIMEOUT_S = 300.0
LOCK_STAMP = ".stallwatch-lock-sha256"  # the lock a cache dir was installed from

#: The player builds copied next to the pages (package path -> name served under lib/).
PLAYER_FILES = {
    "hls.js/dist/hls.min.js": "hls.min.js",
    "dashjs/dist/modern/umd/dash.all.min.js": "dash.all.min.js",
    "shaka-player/dist/shaka-player.compiled.js": "shaka-player.compiled.js",
}


class SetupError(RuntimeError):
    """The environment cannot be prepared; ``exit_code`` 2 means "run this as root"."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Environment:
    chromium: str
    chromedriver: str
    players_dir: Path  # node_modules of the pinned players
    versions: dict[str, str]  # npm package -> installed version


def ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver with apt-get when missing (root only)."""
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES]
    if os.geteuid() != 0:
        raise SetupError(
            "Chromium is missing; install it as root, then rerun:\n"
            f"  apt-get update && {' '.join(cmd)}",
            exit_code=2,
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update"], cmd):
        log.info("running %s", " ".join(step))
        proc = subprocess.run(
            step, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S, check=False
        )
        if proc.returncode != 0:
            raise SetupError(f"{' '.join(step)} failed: {proc.stderr.strip()[-1000:]}")


def ensure_selenium() -> None:
    """Import Selenium, installing the pinned version into this interpreter's venv first."""
    try:
        importlib.import_module("selenium.webdriver")
        return
    except ImportError:
        pass
    if sys.prefix == sys.base_prefix:
        raise SetupError(
            f"Selenium is missing and {sys.executable} is not a venv; run with .venv/bin/python"
        )
    cmd = [sys.executable, "-m", "pip", "install", "-q", SELENIUM_PIN]
    log.info("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise SetupError(f"pip install {SELENIUM_PIN} failed: {proc.stderr.strip()[-1000:]}")
    importlib.invalidate_caches()
    importlib.import_module("selenium.webdriver")


def cache_dir() -> Path:
    """$STALLWATCH_CACHE_DIR/web-players, else ~/.cache/stallwatch/web-players."""
    base = os.environ.get("STALLWATCH_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "stallwatch"
    return root / "web-players"


def ensure_players(target: Path | None = None) -> tuple[Path, dict[str, str]]:
    """``npm ci`` the committed package-lock.json into ``target`` unless it already holds
    that exact lock; return (node_modules, {package: version})."""
    target = target or cache_dir()
    lock = (HERE / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock).hexdigest()
    stamp = target / LOCK_STAMP
    modules = target / "node_modules"
    fresh = stamp.exists() and stamp.read_text().strip() == digest
    if not (fresh and all((modules / f).is_file() for f in PLAYER_FILES)):
        npm = shutil.which("npm")
        if npm is None:
            raise SetupError("npm is missing (Debian: apt-get install npm)")
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(HERE / name, target / name)
        cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        log.info("running %s in %s", " ".join(cmd), target)
        proc = subprocess.run(
            cmd, cwd=target, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
        )
        if proc.returncode != 0:
            raise SetupError(f"npm ci failed: {proc.stderr.strip()[-1000:]}")
        stamp.write_text(digest + "\n")
    versions = {}
    for pkg in ("hls.js", "dashjs", "shaka-player"):
        meta = (modules / pkg / "package.json").read_text(encoding="utf-8")
        versions[pkg] = str(json.loads(meta).get("version", "?"))
    return modules, versions


def prepare() -> Environment:
    """Everything the benchmark needs, installed when missing (see the module doc)."""
    ensure_chromium()
    ensure_selenium()
    modules, versions = ensure_players()
    return Environment(CHROMIUM, CHROMEDRIVER, modules, versions)


def copy_pages(modules: Path, dest: Path) -> None:
    """The player pages, the monitor and the player builds into ``dest`` (served from the
    same origin as the media: no CORS)."""
    dest.mkdir(parents=True, exist_ok=True)
    for page in (HERE / "pages").iterdir():
        shutil.copyfile(page, dest / page.name)
    (dest / "lib").mkdir(exist_ok=True)
    for src, name in PLAYER_FILES.items():
        shutil.copyfile(modules / src, dest / "lib" / name)
