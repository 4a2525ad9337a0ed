"""The first-run explanation: what the probes send and to where, with the switch right there."""

from __future__ import annotations

from PyQt6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from player.store.prefs import Prefs

EXPLANATION = (
    "<h3>Before you watch: what Stallwatch sends</h3>"
    "<p>When a video buffers, Stallwatch tells you where the slowdown is: this computer, your "
    "home network, your internet provider, the link between networks, or the video's server.</p>"
    "<p>To tell them apart it times the routers on the way. While a video plays, it sends a few "
    "small UDP, ICMP or TCP packets per second toward <b>the video's server</b>, set to expire "
    "after a limited number of hops so the routers on the way answer, and times connection "
    "attempts to that server itself.</p>"
    "<p>To name the networks on the way it asks <b>your system's DNS resolver</b> for the names "
    "of those routers' addresses (reverse name look-ups). Only if you turn it on in Settings "
    "does it also ask a public RDAP directory who holds an address that has no usable name.</p>"
    "<p><b>That is all the measuring sends, and nothing is ever sent to us.</b> Your viewing "
    "history stays in a private file on this computer.</p>"
    "<p>Without these measurements Stallwatch can still blame this computer or the server, but "
    "it will say when it cannot tell which network is at fault.</p>"
)


class FirstRunDialog(QDialog):
    """Shown once; OK stores the choice and ``first_run_done`` in ``prefs``."""

    def __init__(self, prefs: Prefs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Stallwatch")
        self.setMinimumWidth(520)
        self.prefs = prefs
        layout = QVBoxLayout(self)
        text = QLabel(EXPLANATION)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.probe_path = QCheckBox("Measure the network path while a video plays (you can change this in Settings)")
        self.probe_path.setChecked(prefs.probe_path)
        layout.addWidget(self.probe_path)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start watching")
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)

    def done(self, result: int) -> None:  # accepted or closed: either way, asked once
        self.prefs.probe_path = self.probe_path.isChecked()
        self.prefs.first_run_done = True
        super().done(result)
