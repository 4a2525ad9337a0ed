"""Take the README screenshot: the real window on a real (virtual) X screen.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python tools/screenshot.py \
        assets/screenshots/main-window.png --source demo --at 12

Runs the GUI with the xcb platform (not offscreen), waits, then grabs the X screen
area of the window (QScreen.grabWindow), which is what a screenshot tool would see.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("screenshot")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--source", default="demo", help="'demo' or a file/URL")
    ap.add_argument("--at", type=float, default=12.0, help="seconds after start")
    ap.add_argument("--size", default="960x600")
    ap.add_argument("--stats", action="store_true", help="show the statistics panel")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from player.demo import Demo
    from player.playback.vlc import VlcPlayer, libvlc_version
    from player.session import Session
    from player.store.prefs import PrefsStore
    from player.ui.main_window import MainWindow

    logging.basicConfig(level=logging.INFO)
    app = QApplication(sys.argv[:1])
    player = VlcPlayer(audio=False)
    demo = Demo()
    window = MainWindow(Session(player), PrefsStore(), libvlc_version=libvlc_version(), demo=demo.prepare)
    window.add_closing_hook(demo.stop)
    window.add_closing_hook(player.release)
    w, h = (int(x) for x in args.size.split("x"))
    window.resize(w, h)
    window.move(40, 40)
    window.show()
    if args.stats:
        window.set_stats_visible(True)
    if args.source == "demo":
        window.play_demo_again()
    else:
        window.open_source(args.source)

    def shoot() -> None:
        screen = window.screen()
        geo = window.frameGeometry()
        pix = screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        ok = pix.save(str(args.out), "PNG")
        log.info("saved %s (%dx%d): %s", args.out, pix.width(), pix.height(), ok)
        window.close()

    QTimer.singleShot(int(args.at * 1000), shoot)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
