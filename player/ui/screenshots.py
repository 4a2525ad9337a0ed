"""``--auto-screenshot DIR``: save the window as a PNG each time a notice appears."""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QWidget

log = logging.getLogger(__name__)

SETTLE_MS = 150  # let the overlay paint before grabbing


class AutoScreenshotter(QObject):
    def __init__(self, window: QWidget, directory: Path) -> None:
        super().__init__(window)
        self.window = window
        self.directory = Path(directory)
        self.saved: list[Path] = []
        self._count = 0
        self._writers: list[threading.Thread] = []

    def capture_soon(self, text: str = "") -> None:
        QTimer.singleShot(SETTLE_MS, lambda: self.capture(text))

    def capture(self, text: str = "") -> Path | None:
        self._count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", text.lower())[:40].strip("-") or "notice"
        path = self.directory / f"stallwatch-{time.strftime('%Y%m%d-%H%M%S')}-{self._count:02d}-{slug}.png"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("cannot create screenshot folder %s: %s", self.directory, exc)
            return None
        image = self.window.grab().toImage()  # must happen on the GUI thread
        # Encoding and writing the PNG happen off the GUI thread (QImage is shareable).
        writer = threading.Thread(
            target=self._write, args=(image, path), name="stallwatch-screenshot", daemon=True
        )
        self._writers.append(writer)
        writer.start()
        return path

    def _write(self, image: QImage, path: Path) -> None:
        if not image.save(str(path), "PNG"):
            log.warning("could not save screenshot %s", path)
            return
        self.saved.append(path)
        log.info("screenshot saved: %s", path)

    def flush(self, timeout: float = 2.0) -> None:
        """Wait for pending writes (tests, and before quitting)."""
        for w in self._writers:
            w.join(timeout)
        self._writers = [w for w in self._writers if w.is_alive()]
