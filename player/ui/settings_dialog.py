"""Settings (Ctrl+,): diagnostics, notices, screenshots, playback and network names.

The dialog edits a copy of the preferences; OK writes them back and the window applies
them at once (diagnostics and notices act on the running video; network caching from the
next one)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QActionGroup
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from player.store.prefs import Prefs
from player.ui import menus
from player.ui.first_run import FirstRunDialog

if TYPE_CHECKING:
    from player.ui.main_window import MainWindow

AUTO = "auto"
CACHING_MIN_MS = 100  # below this libVLC stutters on any real network
CACHING_MAX_MS = 20000  # 20 s: more only delays the start
CACHING_STEP_MS = 100
OVERRIDES_HEIGHT = 70  # px: three lines of names are the usual case
PROBE_HELP = (
    "Sends small UDP, ICMP or TCP packets, most with a limited lifetime, toward the video's server, "
    "a few per second and only while a video plays, to time each router on the way and the server; "
    "asks your system's DNS resolver for the names of those routers' addresses. RDAP look-ups "
    "(below) only if you turn them on. Nothing is sent to us. Off: notices rely on what playback "
    "itself shows."
)


def parse_overrides(text: str) -> tuple[dict[str, str], list[str]]:
    """``domain-or-prefix = Name`` lines -> mapping, plus the lines that did not parse."""
    out: dict[str, str] = {}
    bad: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, name = line.partition("=")
        key, name = key.strip().lower(), name.strip()
        if not sep or not key or not name or " " in key:
            bad.append(raw)
            continue
        out[key] = name
    return out, bad


def format_overrides(mapping: dict[str, str]) -> str:
    return "\n".join(f"{k} = {v}" for k, v in sorted(mapping.items()))


def _hint(text: str, *, rich: bool = False) -> QLabel:
    """A small grey hint. Plain text unless ``rich`` (our own constant markup only): hints
    may hold values from the preferences file, such as the RDAP URL."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setStyleSheet("color: #5d6166; font-size: 11px;")
    return label


class SettingsDialog(QDialog):
    """``renditions``: the labels of the playing video's qualities (for the pinned choice)."""

    def __init__(self, prefs: Prefs, parent: QWidget | None = None, renditions: list[str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Stallwatch Settings")
        self.setMinimumWidth(760)
        self.prefs = prefs
        p = prefs
        grid = QGridLayout()

        diag = QGroupBox("Diagnostics")
        dl = QVBoxLayout(diag)
        self.probe_path = QCheckBox("Measure the network path while a video plays")
        self.probe_path.setChecked(p.probe_path)
        dl.addWidget(self.probe_path)
        dl.addWidget(_hint(PROBE_HELP))
        self.rdap = QCheckBox("Look up unknown networks' names online")
        self.rdap.setChecked(p.rdap_lookup)
        dl.addWidget(self.rdap)
        dl.addWidget(_hint(f"Opt-in: asks {p.rdap_url} (RDAP) which network holds an address on the path."))
        dl.addStretch(1)
        grid.addWidget(diag, 0, 0)

        notices = QGroupBox("Notices and screenshots")
        nl = QVBoxLayout(notices)
        self.show_notices = QCheckBox("Show a notice naming the bottleneck when playback stalls")
        self.show_notices.setChecked(p.show_notices)
        self.evidence_card = QCheckBox("Add an evidence card under screenshots")
        self.evidence_card.setChecked(p.evidence_card)
        self.redact = QCheckBox("Hide addresses, home names and URL tokens in screenshots")
        self.redact.setChecked(p.redact)
        self.auto_screenshot = QCheckBox("Take a screenshot of every notice")
        self.auto_screenshot.setChecked(p.auto_screenshot)
        for w in (self.show_notices, self.evidence_card, self.redact, self.auto_screenshot):
            nl.addWidget(w)
        row = QHBoxLayout()
        row.addWidget(QLabel("Folder:"))
        self.screenshot_dir = QLineEdit(p.screenshot_dir)
        row.addWidget(self.screenshot_dir, 1)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose_folder)
        row.addWidget(choose)
        nl.addLayout(row)
        nl.addStretch(1)
        grid.addWidget(notices, 0, 1)

        playback = QGroupBox("Playback")
        pf = QFormLayout(playback)
        self.rendition = QComboBox()
        self.rendition.addItem("Auto (Stallwatch chooses)", AUTO)
        labels = list(renditions or [])
        if p.rendition != AUTO and p.rendition not in labels:
            labels.append(p.rendition)
        for label in sorted(labels):
            self.rendition.addItem(label, label)
        self.rendition.setCurrentIndex(max(0, self.rendition.findData(p.rendition)))
        pf.addRow("Quality:", self.rendition)
        self.caching = QSpinBox()
        self.caching.setRange(CACHING_MIN_MS, CACHING_MAX_MS)
        self.caching.setSingleStep(CACHING_STEP_MS)
        self.caching.setSuffix(" ms")
        self.caching.setValue(max(CACHING_MIN_MS, min(CACHING_MAX_MS, p.network_caching_ms)))
        pf.addRow("Network caching:", self.caching)
        pf.addRow("", _hint("Caching applies from the next video you open."))
        self.single_instance = QCheckBox("Open new files in the running player")
        self.single_instance.setChecked(p.single_instance)
        pf.addRow("", self.single_instance)
        pf.addRow("", _hint("Off: every launch is a separate player (applies from the next launch)."))
        grid.addWidget(playback, 1, 0)

        names = QGroupBox("Network names")
        nml = QVBoxLayout(names)
        nml.addWidget(_hint("Your own names, one per line: <i>domain or address prefix</i> = <i>Name</i>", rich=True))
        self.overrides = QPlainTextEdit(format_overrides(p.org_overrides))
        self.overrides.setPlaceholderText("example-isp.net = My ISP\n203.0.113.0/24 = Office uplink")
        self.overrides.setFixedHeight(OVERRIDES_HEIGHT)
        nml.addWidget(self.overrides)
        self.error = QLabel("")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # quotes the viewer's own line
        self.error.setStyleSheet("color: #c0392b;")
        nml.addWidget(self.error)
        grid.addWidget(names, 1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Screenshots folder", self.screenshot_dir.text())
        if path:
            self.screenshot_dir.setText(path)

    def edited(self) -> Prefs | None:
        """The preferences as the dialog shows them (None: a line of names does not parse)."""
        mapping, bad = parse_overrides(self.overrides.toPlainText())
        if bad:
            self.error.setText(f"Cannot read: {bad[0].strip()!r} (use: name = Display Name)")
            return None
        return replace(
            self.prefs,
            show_notices=self.show_notices.isChecked(),
            probe_path=self.probe_path.isChecked(),
            rdap_lookup=self.rdap.isChecked(),
            org_overrides=mapping,
            evidence_card=self.evidence_card.isChecked(),
            redact=self.redact.isChecked(),
            auto_screenshot=self.auto_screenshot.isChecked(),
            screenshot_dir=self.screenshot_dir.text().strip() or self.prefs.screenshot_dir,
            rendition=self.rendition.currentData() or AUTO,
            network_caching_ms=self.caching.value(),
            single_instance=self.single_instance.isChecked(),
        )

    def _accept(self) -> None:
        edited = self.edited()
        if edited is None:
            return
        for name in edited.__dataclass_fields__:
            setattr(self.prefs, name, getattr(edited, name))
        self.accept()


class SettingsController:
    """Applies the viewer's settings to the window's session: Settings' OK, the first-run
    switch, and Playback → Quality (one setting with Settings' quality, kept in the prefs)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.session = window.session
        self.store = window.prefs_store
        self.prefs = window.prefs
        self.rendition_labels: list[str] = []  # the playing video's qualities, as the menu shows them
        self._quality_group: QActionGroup | None = None

    def open(self) -> None:
        dlg = SettingsDialog(self.prefs, self.window, renditions=self.rendition_labels)
        if dlg.exec():
            self.changed()

    def changed(self) -> None:
        """Save and apply the prefs at once (Settings' OK, the first-run switch)."""
        self.store.save()
        self.apply()
        if not self.prefs.show_notices:
            self.window.video.set_notice(None)
        labels, wanted = self.rendition_labels, self.prefs.rendition
        index = labels.index(wanted) if wanted in labels else None
        if labels and index != self.session.pinned_rendition:
            self.pin_rendition(index)
            self.fill_quality_menu(labels)

    def apply(self) -> None:
        """Hand the viewer's settings to the session: notices and diagnostics act on the
        running video (diagnostics off stops its probes), naming and caching from the next open."""
        self.session.show_notices = self.prefs.show_notices
        self.session.configure_naming(
            self.prefs.org_overrides, self.prefs.rdap_url if self.prefs.rdap_lookup else None
        )
        self.session.probe_path = self.prefs.probe_path
        self.session.player.network_caching_ms = self.prefs.network_caching_ms

    def show_first_run(self) -> FirstRunDialog:
        """The one-time explanation of what the probes send (window-modal, not blocking)."""
        dlg = FirstRunDialog(self.prefs, self.window)
        dlg.finished.connect(lambda _r: self.changed())
        dlg.open()
        return dlg

    def fill_quality_menu(self, labels: list[str]) -> None:
        self.rendition_labels = list(labels)
        wanted = self.prefs.rendition
        if wanted != AUTO and wanted in labels and self.session.pinned_rendition is None:
            self.session.pin_rendition(labels.index(wanted))  # the Settings' pinned quality
        old = self._quality_group
        self._quality_group = menus.fill_quality_menu(
            self.window.quality_menu, labels, self.session.pinned_rendition, self.pin_rendition
        )
        if old is not None:
            old.deleteLater()

    def pin_rendition(self, index: int | None) -> None:
        """Playback → Quality and Settings' quality are one setting (kept in the prefs)."""
        self.session.pin_rendition(index)
        labels = self.rendition_labels
        self.prefs.rendition = labels[index] if index is not None and index < len(labels) else AUTO
        self.store.save()
