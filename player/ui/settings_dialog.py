"""Settings: notices, diagnostics (path probing), the opt-in RDAP lookup, and the
viewer's own names for networks (organisation overrides)."""

from __future__ import annotations

from PyQt6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from player.store.prefs import Prefs


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


class SettingsDialog(QDialog):
    def __init__(self, prefs: Prefs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Stallwatch Settings")
        self.setMinimumWidth(480)
        self.prefs = prefs
        layout = QVBoxLayout(self)

        notices = QGroupBox("Notices")
        nl = QVBoxLayout(notices)
        self.show_notices = QCheckBox("Show a notice naming the bottleneck when playback stalls")
        self.show_notices.setChecked(prefs.show_notices)
        nl.addWidget(self.show_notices)
        layout.addWidget(notices)

        diag = QGroupBox("Diagnostics")
        dl = QVBoxLayout(diag)
        self.probe_path = QCheckBox("Probe the network path to the video server (hop round-trip times)")
        self.probe_path.setChecked(prefs.probe_path)
        self.probe_path.setToolTip("Without it, Stallwatch can blame the server or this computer, but never a network.")
        self.rdap = QCheckBox("Look up unknown networks' names online (RDAP)")
        self.rdap.setChecked(prefs.rdap_lookup)
        dl.addWidget(self.probe_path)
        dl.addWidget(self.rdap)
        layout.addWidget(diag)

        names = QGroupBox("Network names")
        nml = QVBoxLayout(names)
        nml.addWidget(QLabel("Your own names, one per line: <i>domain or address prefix</i> = <i>Name</i>"))
        self.overrides = QPlainTextEdit(format_overrides(prefs.org_overrides))
        self.overrides.setPlaceholderText("example-isp.net = My ISP\n203.0.113.0/24 = Office uplink")
        nml.addWidget(self.overrides)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c0392b;")
        nml.addWidget(self.error)
        layout.addWidget(names)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _accept(self) -> None:
        mapping, bad = parse_overrides(self.overrides.toPlainText())
        if bad:
            self.error.setText(f"Cannot read: {bad[0].strip()!r} (use: name = Display Name)")
            return
        self.prefs.show_notices = self.show_notices.isChecked()
        self.prefs.probe_path = self.probe_path.isChecked()
        self.prefs.rdap_lookup = self.rdap.isChecked()
        self.prefs.org_overrides = mapping
        self.accept()
