"""The transport bar under the video: play/pause, position, seek slider, volume, fullscreen."""

from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QIcon
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from player.core.model import PlaybackState
from player.core.units import fmt_clock

SLIDER_STEPS = 10_000  # seek slider resolution: finer than a pixel on any screen
VOLUME_SLIDER_WIDTH = 110
# states in which the button offers "Pause" (playback is wanted, even while it waits)
_RUNNING = (PlaybackState.PLAYING, PlaybackState.STALLED, PlaybackState.STARTUP)


def tool_button(icon: QIcon, tip: str) -> QToolButton:
    """A flat icon button that never takes the keyboard focus (keys belong to the window)."""
    b = QToolButton()
    b.setIcon(icon)
    b.setToolTip(tip)
    b.setAutoRaise(True)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return b


class ControlsBar(QWidget):
    """Shows a session snapshot and turns clicks into requests; holds no playback state.

    Signals: ``play_clicked``, ``seek_requested(fraction 0..1)`` (on release of a drag, or
    at once for a click on the groove), ``volume_changed(percent)``, ``mute_toggled(muted)``,
    ``fullscreen_clicked``."""

    play_clicked = pyqtSignal()
    seek_requested = pyqtSignal(float)
    volume_changed = pyqtSignal(int)
    mute_toggled = pyqtSignal(bool)
    fullscreen_clicked = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controls")
        self._dragging = False
        st = self.style()
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.play_button = tool_button(st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play (Space)")
        self.play_button.clicked.connect(self.play_clicked)
        self.elapsed_label = QLabel("0:00")
        self.seek_slider = QSlider(Qt.Orientation.Horizontal)
        self.seek_slider.setRange(0, SLIDER_STEPS)
        self.seek_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.seek_slider.setToolTip("Seek")
        self.seek_slider.sliderPressed.connect(self._on_slider_pressed)
        self.seek_slider.sliderReleased.connect(self._on_slider_released)
        self.seek_slider.actionTriggered.connect(self._on_slider_action)
        self.total_label = QLabel("0:00")
        self.mute_button = tool_button(st.standardIcon(QStyle.StandardPixmap.SP_MediaVolume), "Mute (M)")
        self.mute_button.setCheckable(True)
        self.mute_button.toggled.connect(self.mute_toggled)
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setFixedWidth(VOLUME_SLIDER_WIDTH)
        self.volume_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume_slider.setToolTip("Volume (Up/Down)")
        self.volume_slider.valueChanged.connect(self.volume_changed)
        self.fullscreen_button = tool_button(
            st.standardIcon(QStyle.StandardPixmap.SP_TitleBarMaxButton), "Fullscreen (F)"
        )
        self.fullscreen_button.clicked.connect(self.fullscreen_clicked)
        for w in (self.play_button, self.elapsed_label):
            row.addWidget(w)
        row.addWidget(self.seek_slider, 1)
        for w in (self.total_label, self.mute_button, self.volume_slider, self.fullscreen_button):
            row.addWidget(w)

    # -- showing state (no signals are emitted) ---------------------------------------------
    def show_snapshot(self, snap) -> None:  # noqa: ANN001 - the session's Snapshot
        running = snap.state in _RUNNING
        icon = QStyle.StandardPixmap.SP_MediaPause if running else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setToolTip("Pause (Space)" if running else "Play (Space)")
        live = snap.length_s is None and snap.state in (PlaybackState.PLAYING, PlaybackState.STALLED)
        self.seek_slider.setEnabled(bool(snap.seekable and snap.length_s))
        self.elapsed_label.setText(fmt_clock(snap.position_s or 0.0))
        self.total_label.setText("LIVE" if live else fmt_clock(snap.length_s) if snap.length_s else "--:--")
        if not self._dragging:
            value = 0
            if snap.length_s and snap.position_s is not None:
                value = int(min(1.0, snap.position_s / snap.length_s) * SLIDER_STEPS)
            _set_quietly(self.seek_slider, value)

    def show_volume(self, percent: int) -> None:
        if self.volume_slider.value() != percent:
            _set_quietly(self.volume_slider, percent)
        self.volume_slider.setToolTip(f"Volume {percent} %")

    def show_muted(self, muted: bool) -> None:
        if self.mute_button.isChecked() != muted:
            self.mute_button.blockSignals(True)
            self.mute_button.setChecked(muted)
            self.mute_button.blockSignals(False)
        icon = QStyle.StandardPixmap.SP_MediaVolumeMuted if muted else QStyle.StandardPixmap.SP_MediaVolume
        self.mute_button.setIcon(self.style().standardIcon(icon))

    # -- seeking ------------------------------------------------------------------------------
    def _on_slider_pressed(self) -> None:
        self._dragging = True

    def _on_slider_released(self) -> None:
        self._dragging = False
        self._request_seek()

    def _on_slider_action(self, action: int) -> None:
        # Clicks on the groove (page steps) seek at once; drags seek on release.
        if not self._dragging and action in (
            QSlider.SliderAction.SliderPageStepAdd.value,
            QSlider.SliderAction.SliderPageStepSub.value,
        ):
            QTimer.singleShot(0, self._request_seek)

    def _request_seek(self) -> None:
        self.seek_requested.emit(self.seek_slider.value() / SLIDER_STEPS)


def _set_quietly(slider: QSlider, value: int) -> None:
    slider.blockSignals(True)
    slider.setValue(value)
    slider.blockSignals(False)
