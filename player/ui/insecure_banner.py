"""The certificate exception in the window: the offer after a failed verification, and the
persistent warning while the video comes from an origin that is not verified.

When a stream's certificate fails verification, the session's ``PlaybackFailed`` carries
the exact origin (``https://host:port``); the band under the video then explains it and
offers "Open anyway (not secure)". That button exempts exactly that origin for this run
(:meth:`player.session.Session.skip_tls_verification`, nothing remembered) and opens the
source again. While the current open reached an exempted origin (``CertificateUnverified``
events), a red band and a red status-bar label say "Certificate not verified for
host:port", and the Why? window's and the statistics panel's titles say it too, until
another source opens. Remote text (host names) is shown as plain text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PyQt6.QtCore import QObject, Qt
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMainWindow, QPushButton, QWidget

from player.core.tls_origin import TlsOrigin
from player.core.wording import tls as say
from player.session import CertificateUnverified, Opening, PlaybackFailed, Session, SessionEvent

log = logging.getLogger(__name__)

# Red for "not secure" (as browsers mark it), amber for the question before it; white text
# on both keeps the contrast above WCAG AA.
ACTIVE_STYLE = "background: #b3261e; color: white; padding: 6px 10px;"
OFFER_STYLE = "background: #8a5a00; color: white; padding: 6px 10px;"
STATUS_STYLE = "background: #b3261e; color: white; padding: 1px 6px; font-weight: bold;"
WHY_TITLE = "Why? — Stallwatch"  # WhyWindow's own title, kept in front of the warning
STATS_TITLE = "Statistics"  # StatsPanel's own title


def _plain(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # host names are remote text
    label.setWordWrap(True)
    return label


class TlsBand(QFrame):
    """The band between the video and the controls: hidden, the offer, or the warning."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tls-band")
        self.kind = ""  # "", "offer" or "active" (what tests and tools read)
        self.text = _plain()
        self.text.setStyleSheet("color: white;")
        self.open_anyway = QPushButton(say.OPEN_ANYWAY)
        self.dismiss = QPushButton(say.NOT_NOW)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.text, 1)
        row.addWidget(self.open_anyway)
        row.addWidget(self.dismiss)
        self.dismiss.clicked.connect(self.clear)
        self.hide()

    def show_offer(self, label: str) -> None:
        self.kind = "offer"
        self.setStyleSheet(OFFER_STYLE)
        self.text.setText(say.offer(label))
        self.open_anyway.show()
        self.dismiss.show()
        self.show()

    def show_active(self, labels: list[str]) -> None:
        self.kind = "active"
        self.setStyleSheet(ACTIVE_STYLE)
        self.text.setText("\n".join(say.active(lab) for lab in labels))
        self.open_anyway.hide()
        self.dismiss.hide()  # persistent: it goes when another source opens
        self.show()

    def clear(self) -> None:
        self.kind = ""
        self.text.setText("")
        self.hide()


class InsecureTlsController(QObject):
    """Feeds the band, the status label and the titles from the session's events."""

    def __init__(
        self,
        window: QMainWindow,
        session: Session,
        bridge: QObject,
        band: TlsBand,
        reopen: Callable[[str], None],
    ) -> None:
        """``reopen(source)`` opens the failed source again (the window's queue decides how)."""
        super().__init__(window)
        self.window = window
        self.session = session
        self.band = band
        self._reopen = reopen
        self.status = QLabel()
        self.status.setObjectName("tls-status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setStyleSheet(STATUS_STYLE)
        self.status.hide()
        window.statusBar().addPermanentWidget(self.status)
        self.unverified: list[str] = []  # host:port the current open reached unverified
        self._offer: tuple[str, str] | None = None  # (origin URL, source) on offer
        band.open_anyway.clicked.connect(self.open_anyway)
        bridge.session_event.connect(self.on_event)
        bridge.ticked.connect(self.sync_titles)

    @property
    def warning(self) -> str:
        """The short warning shown now ('' while every origin is verified)."""
        return "; ".join(say.not_verified(lab) for lab in self.unverified)

    def on_event(self, ev: SessionEvent) -> None:
        if isinstance(ev, Opening):
            self.unverified = []
            self._offer = None
            self.band.clear()
            self._show_warning()
        elif isinstance(ev, PlaybackFailed) and ev.tls_origin:
            origin = TlsOrigin.of(ev.tls_origin)
            if origin is not None:
                self._offer = (origin.url, ev.source)
                self.band.show_offer(origin.label)
        elif isinstance(ev, CertificateUnverified) and ev.origin not in self.unverified:
            self.unverified.append(ev.origin)
            self.band.show_active(self.unverified)
            self._show_warning()

    def open_anyway(self) -> None:
        """The viewer's "Open anyway (not secure)": exempt that origin, open the source again."""
        if self._offer is None:
            return
        origin_url, source = self._offer
        origin = TlsOrigin.of(origin_url)
        self._offer = None
        self.band.clear()
        if origin is None or not source:
            return
        log.warning("the viewer opens %s without verifying its certificate", origin.label)
        self.session.skip_tls_verification(origin)
        self._reopen(source)

    def _show_warning(self) -> None:
        text = self.warning
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setVisible(bool(text))
        self.sync_titles()

    def sync_titles(self) -> None:
        """The Why? window (made on demand) and the statistics panel carry the warning."""
        suffix = f" — {self.warning}" if self.warning else ""
        why = getattr(getattr(self.window, "why", None), "window", None)
        if why is not None and why.windowTitle() != WHY_TITLE + suffix:
            why.setWindowTitle(WHY_TITLE + suffix)
        stats = getattr(self.window, "stats_panel", None)
        if stats is not None and stats.windowTitle() != STATS_TITLE + suffix:
            stats.setWindowTitle(STATS_TITLE + suffix)
