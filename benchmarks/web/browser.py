"""Headless Chromium driven by Selenium: load a player page, start it, poll its monitor.

Imported only after :func:`benchmarks.web.setup_env.ensure_selenium` has run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

log = logging.getLogger(__name__)

POLL_S = 0.25  # how often the monitor is read while playing
READY_TIMEOUT_S = 30.0  # page + player library load (unthrottled loopback: well under 1 s)
CHROMIUM_ARGS = (
    "--headless=new",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    # a headless page is never "hidden", but keep timers and the renderer at full speed
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--window-size=1280,800",
)


@dataclass
class PageRun:
    snapshot: dict  # the page monitor's last snapshot (see pages/monitor.js)
    wall_s: float
    error: str | None


class Browser:
    """One Chromium for the whole benchmark; a page per playback."""

    def __init__(self, chromium: str, chromedriver: str) -> None:
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for a in CHROMIUM_ARGS:
            opts.add_argument(a)
        if os.geteuid() == 0:
            opts.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
        self._driver = webdriver.Chrome(
            options=opts, service=Service(chromedriver, log_output=os.devnull)
        )
        self.version = str(self._driver.capabilities.get("browserVersion", "?"))

    def supports(self, mime: str) -> bool:
        """``MediaSource.isTypeSupported(mime)`` in this browser."""
        self._driver.get("about:blank")
        return bool(
            self._driver.execute_script("return MediaSource.isTypeSupported(arguments[0])", mime)
        )

    def play(
        self,
        page_url: str,
        manifest_url: str,
        options: dict,
        *,
        duration_s: float,
        max_wall_s: float,
        freeze_min_s: float,
        before_start: Callable[[], None],
    ) -> PageRun:
        """Load ``page_url``, call ``before_start`` (the caller starts its bandwidth trace),
        start the page's player on ``manifest_url`` and poll until ``duration_s`` of media
        have played, the media ended, the player failed, or ``max_wall_s`` passed."""
        d = self._driver
        d.get(page_url)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not d.execute_script("return !!(window.bench && window.bench.ready)"):
            errors = d.execute_script("return window.bench ? window.bench.errors : ['no monitor']")
            if errors or time.monotonic() > deadline:
                return PageRun({}, 0.0, f"page did not get ready: {errors}")
            time.sleep(0.05)
        before_start()
        t0 = time.monotonic()
        d.execute_script(
            "window.benchStart(arguments[0], arguments[1], arguments[2])",
            manifest_url,
            freeze_min_s,
            options,
        )
        snap: dict = {}
        error = None
        try:
            while True:
                snap = d.execute_script("return window.bench.snapshot()")
                if snap["errors"]:
                    error = "; ".join(str(e[1]) for e in snap["errors"])
                    break
                if snap["position_s"] >= duration_s or snap["ended"]:
                    break
                if time.monotonic() - t0 > max_wall_s:
                    log.warning(
                        "%s: wall-time cap reached at %.1f s played", page_url, snap["position_s"]
                    )
                    break
                time.sleep(POLL_S)
        except WebDriverException as exc:
            error = f"browser: {exc.msg}"
        wall = time.monotonic() - t0
        try:
            d.get("about:blank")  # stop the player's downloads before the next run
        except WebDriverException:
            log.exception("could not leave the page")
        return PageRun(snap, wall, error)

    def close(self) -> None:
        try:
            self._driver.quit()
        except WebDriverException:
            log.exception("closing Chromium")
