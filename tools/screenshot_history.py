"""Screenshots of Settings, the first-run explanation and History (30 synthetic days).

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python tools/screenshot_history.py assets/screenshots

Writes settings.png, first-run.png and history.png into the folder (real windows on the
X screen, grabbed as the window system shows them).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "assets/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PyQt6.QtWidgets import QApplication

    from player.store.history import DB_NAME, HistoryStore
    from player.store.prefs import Prefs
    from player.ui.first_run import FirstRunDialog
    from player.ui.history_window import HistoryWindow
    from player.ui.settings_dialog import SettingsDialog
    from tests.support.history_days import fill_store, synthetic_days

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Stallwatch")

    def settle(ms: int = 400) -> None:
        from PyQt6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    prefs = Prefs(screenshot_dir="/home/you/Pictures/Stallwatch")  # not the build machine's home
    dlg = SettingsDialog(prefs, renditions=["240p", "360p", "720p"])
    dlg.show()
    settle()
    dlg.grab().save(str(out / "settings.png"))
    dlg.close()

    first = FirstRunDialog(prefs)
    first.show()
    settle()
    first.grab().save(str(out / "first-run.png"))
    first.close()

    with tempfile.TemporaryDirectory() as tmp:
        store = HistoryStore(Path(tmp) / DB_NAME)
        fill_store(store, synthetic_days(30))
        win = HistoryWindow(store)
        win.resize(1200, 720)
        win.show()
        win.refresh()
        while not win.status.text().endswith("sessions"):
            settle(50)
        settle()
        win.grab().save(str(out / "history.png"))
        win.tabs.setCurrentIndex(1)
        settle()
        win.grab().save(str(out / "history-sessions.png"))
        win.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
