"""Packaging tests: build the .deb and the one-folder bundle, install and run them.

Slow (minutes: a venv of ~300 MB, a zstd-compressed .deb, a PyInstaller freeze and a
debootstrap'd Debian 12 root), so they run only when selected with ``-m packaging``
(``python3 bootstrap.py test-packaging``); in the default run they are skipped, saying so.
With ``STALLWATCH_REQUIRE_PACKAGING=1`` (CI sets it) a missing tool or privilege fails the
run instead of skipping it: CI must never pass with the packages untested.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distribution.chroot import Chroot, cannot_run_reason
from tests.support.origin import OriginServer

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 2400  # first builds download ~150 MB of wheels, then zstd-compress ~300 MB (xz: 7 min)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "packaging" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(
        reason="slow packaging build: run `python3 bootstrap.py test-packaging`"
    )
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


REQUIRE_ENV = "STALLWATCH_REQUIRE_PACKAGING"


def cannot_test(why: str) -> None:
    """Skip, saying why; or fail where the packages must be tested (CI)."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"packaging tests required ({REQUIRE_ENV}=1) but cannot run: {why}")
    pytest.skip(why)


def _build(script: str, tmp: Path) -> Path:
    """Run a packaging/ build script into ``tmp``; return what it printed (the artefact)."""
    started = time.monotonic()
    r = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / script), "--out", str(tmp), "-q"],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        cwd=ROOT,
    )
    assert r.returncode == 0, f"{script} failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
    log.warning("%s took %.0f s", script, time.monotonic() - started)
    return Path(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb built by ``packaging/build_deb.py`` (the one command the README gives)."""
    if shutil.which("dpkg-deb") is None:
        cannot_test("dpkg-deb is not installed")
    return _build("build_deb.py", tmp_path_factory.mktemp("deb"))


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/stallwatch/ built by ``packaging/build_bundle.py``, then copied to a folder
    outside the repository (so nothing can be found through the checkout)."""
    built = _build("build_bundle.py", tmp_path_factory.mktemp("bundle-build"))
    outside = tmp_path_factory.mktemp("elsewhere") / "stallwatch"
    shutil.copytree(built, outside, symlinks=True)
    assert ROOT not in outside.parents
    return outside


def _fresh_chroot(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Chroot]:
    why = cannot_run_reason()
    if why:
        cannot_test(why)
    root = Chroot.fresh(tmp_path_factory.mktemp(name, numbered=True))
    try:
        yield root
    finally:
        root.close()


@pytest.fixture(scope="session")
def bare_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chroot]:
    """A clean Debian 12 minbase root: no Python, no libVLC."""
    yield from _fresh_chroot(tmp_path_factory, "bare-root")


@pytest.fixture(scope="session")
def deb_root(tmp_path_factory: pytest.TempPathFactory, deb: Path) -> Iterator[Chroot]:
    """A clean Debian 12 minbase root with the .deb installed by ``apt-get install ./x.deb``."""
    for root in _fresh_chroot(tmp_path_factory, "deb-root"):
        started = time.monotonic()
        r = root.install_deb(deb)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        log.warning(
            "apt-get install of the .deb in the chroot took %.0f s", time.monotonic() - started
        )
        yield root


@pytest.fixture(scope="session")
def stream_url(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Iterator[str]:
    """A loopback HLS stream served from the host: a chroot shares the host's network
    namespace, so 127.0.0.1 reaches it from inside too."""
    with OriginServer(media_dir) as origin:
        yield origin.url("hls/master.m3u8")


def headless_env() -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=os.environ.get("HOME", "/root"))
