"""Screenshots: what the viewer sees (the video view's picture and notice), with an optional
evidence card, saved off the GUI thread, put on the clipboard, confirmed by a toast.

``--auto-screenshot DIR`` (:class:`AutoScreenshotter`) saves the video view (picture and
notice) each time a notice appears; the S key / Ctrl+Shift+S / the band's "Screenshot" control
and the ``auto_screenshot`` preference use :class:`Screenshotter`. Both grab the view with
every text it paints redacted (:func:`grab_view`) when the ``redact`` preference is on: the
band, error messages (which name hosts and URLs) and stream notes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QObject, QRectF, Qt, QTimer, QUrl, pyqtSignal
from PyQt6.QtGui import (
    QColor,
    QDesktopServices,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
)
from PyQt6.QtWidgets import QWidget

from player import __version__
from player.core.model import Segment
from player.core.redact import redact_text
from player.core.units import fmt_bitrate
from player.core.wording.evidence import plain_lines, segment_label
from player.store.prefs import default_screenshot_dir

log = logging.getLogger(__name__)

SETTLE_MS = 150  # let the overlay paint before grabbing
CARD_BG = QColor(18, 20, 26)
CARD_FG = QColor(236, 238, 242)
CARD_DIM = QColor(160, 168, 182)
CARD_ACCENT = QColor(255, 184, 48)


def shot_name(text: str = "", count: int = 1, when: float | None = None) -> str:
    """'stallwatch-20261201-113012-01-buffering.png' (no address: the slug is redacted)."""
    slug = re.sub(r"[^a-z0-9]+", "-", redact_text(text).lower())[:40].strip("-") or "notice"
    return f"stallwatch-{time.strftime('%Y%m%d-%H%M%S', time.localtime(when))}-{count:02d}-{slug}.png"


def write_png(image: QImage, path: Path) -> str | None:
    """Encode and write ``image`` (any thread); None on success, else why it failed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        if not image.save(str(tmp), "PNG"):
            tmp.unlink(missing_ok=True)
            return "the picture could not be written (is the disk full?)"
        tmp.replace(path)
    except PermissionError:
        return f"no permission to write in {path.parent}"
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


@dataclass(slots=True)
class Card:
    """The evidence card under a screenshot: a headline and a few facts, all redacted."""

    headline: str
    facts: list[str]
    footer: str

    def lines(self) -> list[str]:
        return [self.headline, *self.facts, self.footer]

    def redacted(self, home_names: tuple[str, ...] = ()) -> Card:
        return Card(
            redact_text(self.headline, home_names=home_names),
            [redact_text(f, home_names=home_names) for f in self.facts],
            redact_text(self.footer, home_names=home_names),
        )


def with_card(image: QImage, card: Card) -> QImage:
    """``image`` with ``card`` painted in a strip under it (same width)."""
    w = image.width()
    base = QFont()
    head_px = max(15, min(26, w // 48))
    head = QFont(base)
    head.setPixelSize(head_px)
    head.setBold(True)
    body = QFont(base)
    body.setPixelSize(max(12, round(head_px * 0.72)))
    pad = max(12, head_px)
    flags = int(Qt.TextFlag.TextWordWrap)
    inner = w - 2 * pad
    hm, bm = QFontMetricsF(head), QFontMetricsF(body)
    head_h = hm.boundingRect(QRectF(0, 0, inner, 10_000), flags, card.headline).height()
    fact_hs = [bm.boundingRect(QRectF(0, 0, inner, 10_000), flags, f).height() for f in card.facts]
    foot_h = bm.height()
    gap = bm.height() * 0.35
    card_h = int(pad + head_h + gap + sum(h + gap for h in fact_hs) + gap + foot_h + pad)
    out = QImage(w, image.height() + card_h, QImage.Format.Format_RGB32)
    out.fill(CARD_BG)
    p = QPainter(out)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    p.drawImage(0, 0, image)
    y = image.height()
    p.fillRect(QRectF(0, y, w, 3), CARD_ACCENT)
    y += pad
    p.setFont(head)
    p.setPen(CARD_FG)
    p.drawText(QRectF(pad, y, inner, head_h), flags, card.headline)
    y += head_h + gap
    p.setFont(body)
    for fact, h in zip(card.facts, fact_hs, strict=True):
        p.setPen(CARD_FG)
        p.drawText(QRectF(pad, y, inner, h), flags, f"\u2022 {fact}")
        y += h + gap
    p.setPen(CARD_DIM)
    p.drawText(QRectF(pad, y + gap, inner, foot_h), flags, card.footer)
    p.end()
    return out


class _Writer(QObject):
    """Writes PNGs on worker threads; reports back through queued signals."""

    saved = pyqtSignal(object)  # Path
    failed = pyqtSignal(object, str)  # Path, reason

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: list[threading.Thread] = []

    def write(self, image: QImage, path: Path) -> None:
        t = threading.Thread(target=self._run, args=(image, path), name="stallwatch-screenshot", daemon=True)
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    def _run(self, image: QImage, path: Path) -> None:
        error = write_png(image, path)
        if error is None:
            log.info("screenshot saved: %s", path)
            self.saved.emit(path)
        else:
            log.warning("could not save screenshot %s: %s", path, error)
            self.failed.emit(path, error)

    def flush(self, timeout: float = 2.0) -> None:
        for t in self._threads:
            t.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]


def redactor(session: object, prefs: object) -> Callable[[str], str] | None:
    """What the view's texts go through in a screenshot (None: redaction is off)."""
    if not getattr(prefs, "redact", True):
        return None
    names = home_names(session)
    return lambda text: redact_text(text, home_names=names)


def grab_view(view: QWidget, session: object, prefs: object) -> QImage:
    """The video view as the viewer sees it, redacted as the preferences say (GUI thread)."""
    return view.grab_redacted(redactor(session, prefs))


class AutoScreenshotter(QObject):
    """``--auto-screenshot DIR``: the window's video view (picture and notice, redacted as
    the preferences say) as a PNG each time a notice appears."""

    def __init__(self, window: QWidget, directory: Path) -> None:
        super().__init__(window)
        self.window = window
        self.directory = Path(directory)
        self.saved: list[Path] = []
        self._count = 0
        self._writer = _Writer(self)
        self._writer.saved.connect(self.saved.append)

    def capture_soon(self, text: str = "") -> None:
        QTimer.singleShot(SETTLE_MS, lambda: self.capture(text))

    def capture(self, text: str = "") -> Path | None:
        self._count += 1
        path = self.directory / shot_name(text, self._count)
        w = self.window
        image = grab_view(w.video, w.session, w.prefs)  # must happen on the GUI thread
        self._writer.write(image, path)  # encoding and writing happen off it
        return path

    def flush(self, timeout: float = 2.0) -> None:
        """Wait for pending writes (tests, and before quitting)."""
        self._writer.flush(timeout)


# --- the viewer's screenshot ---------------------------------------------------------------
def home_names(session: object) -> tuple[str, ...]:
    """Names of the hops in the home network (never shown on a redacted card)."""
    path = getattr(session, "path", None)
    try:
        hops = path.snapshot().hops if path is not None else []
    except Exception:  # noqa: BLE001 - a stopping monitor: no names then
        hops = []
    return tuple(h.name for h in hops if h.name and h.segment is Segment.HOME_NETWORK)


def card_for(session: object, when: float | None = None) -> Card:
    """Date and time, the culprit, two or three key measurements, the app version."""
    notice = getattr(session, "current_notice", None)
    verdict = getattr(session, "current_verdict", None)
    stats = session.stats()
    if notice is not None and notice.segment:
        headline = notice.title
    elif verdict is not None and verdict.message:
        headline = verdict.message
    elif stats.stall_count:
        headline = "Playing again."
    else:
        headline = "Playing smoothly: no stall to explain."
    facts: list[str] = []
    if verdict is not None and verdict.segment is not Segment.NONE:
        where = segment_label(verdict.segment)
        who = verdict.culprit or where
        generic = who.lower().startswith(("the ", "your ", "this ")) or who == where
        facts.append(f"Culprit: {who}" + (f" ({where})" if where and not generic else ""))
        facts += plain_lines(verdict, 2)  # the stall's own measurements, as the notice says them
    elif stats.throughput_bps:
        need = f" for a {fmt_bitrate(stats.bitrate_bps)} video" if stats.bitrate_bps else ""
        facts.append(f"Download speed {fmt_bitrate(stats.throughput_bps)}{need}")
    if stats.stall_count:
        facts.append(f"{stats.stall_count} stall{'s' if stats.stall_count != 1 else ''}, {stats.stall_s:.1f} s in all")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
    return Card(headline, facts[:4], f"{stamp} \u00b7 Stallwatch {__version__}")


class Screenshotter(QObject):
    """S / Ctrl+Shift+S / the band's control: the video view as the viewer sees it."""

    taken = pyqtSignal(object)  # Path: written to disk
    failed = pyqtSignal(str)  # why it could not be written

    def __init__(self, view: QWidget, session: object, prefs: object, toast: object | None = None) -> None:
        super().__init__(view)
        self.view = view
        self.session = session
        self.prefs = prefs
        self.toast = toast
        self.last_image: QImage | None = None  # what went to the clipboard and the file
        self.last_card: Card | None = None
        self.last_texts: list[str] = []  # the texts painted into the last grab (tests)
        self._count = 0
        self._writer = _Writer(self)
        self._writer.saved.connect(self._saved)
        self._writer.failed.connect(self._failed)

    def directory(self) -> Path:
        chosen = getattr(self.prefs, "screenshot_dir", "") or ""
        return Path(chosen).expanduser() if chosen else default_screenshot_dir()

    def take(self) -> Path:
        """Grab now (GUI thread), clipboard now, write in a worker; returns the file's path."""
        self._count += 1
        image = grab_view(self.view, self.session, self.prefs)
        self.last_texts = list(getattr(self.view, "painted_texts", []))
        card = None
        if getattr(self.prefs, "evidence_card", True):
            card = card_for(self.session)
            if getattr(self.prefs, "redact", True):
                card = card.redacted(home_names(self.session))
            image = with_card(image, card)
        self.last_image, self.last_card = image, card
        QGuiApplication.clipboard().setImage(image)
        notice = getattr(self.session, "current_notice", None)
        path = self.directory() / shot_name(notice.title if notice else "screenshot", self._count)
        self._writer.write(image, path)
        return path

    def flush(self, timeout: float = 2.0) -> None:
        self._writer.flush(timeout)

    def _saved(self, path: Path) -> None:
        self.taken.emit(path)
        if self.toast is not None:
            folder = path.parent
            self.toast.show_message(
                "Screenshot saved and copied", "Open folder",
                lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))),
            )  # fmt: skip

    def _failed(self, path: Path, reason: str) -> None:
        self.failed.emit(reason)
        if self.toast is not None:
            self.toast.show_message(f"Screenshot not saved: {reason}. It is on the clipboard.", error=True)
