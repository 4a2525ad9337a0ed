"""Composition root: parses the command line, builds objects, runs the GUI.

``stallwatch [URL|FILE]``, ``stallwatch --demo``, ``stallwatch diagnose URL``
(see DESIGN.md, "Command line"). Qt is imported only when the GUI runs, so
``--version``, ``--help`` and ``diagnose`` work without a display.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from player import APP_ID, __version__

log = logging.getLogger("player")

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_NO_LIBVLC = 3  # libVLC (the system's VLC library) could not be loaded: nothing can play


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stallwatch",
        description=(
            "A video player that watches buffer health and, when playback stalls, names the "
            "network segment to blame: this computer, the home network, the ISP, the interconnect "
            "or the video server."
        ),
        epilog="Headless report: stallwatch diagnose URL [--duration S] [--json]",
    )
    p.add_argument("source", nargs="?", help="a video file or an http(s) URL (MP4, HLS .m3u8, DASH .mpd)")
    p.add_argument("--demo", action="store_true", help="play the built-in demo stream (generated on first use)")
    p.add_argument("--auto-screenshot", metavar="DIR", type=Path, help="save a PNG into DIR each time a notice appears")
    p.add_argument("--quit-after", metavar="SECONDS", type=float, help="quit after this many seconds")
    p.add_argument("--version", action="store_true", help="print the Stallwatch and libVLC versions and exit")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    return p


def build_diagnose_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stallwatch diagnose",
        description="Play a stream headlessly (decoded, not shown), monitor, probe and attribute stalls.",
    )
    p.add_argument("url", help="the stream or file to diagnose")
    p.add_argument("--duration", type=float, default=30.0, metavar="SECONDS", help="how long to play (default 30)")
    p.add_argument("--json", action="store_true", help="print the JSON report (DESIGN.md contract)")
    p.add_argument("-v", "--verbose", action="count", default=0)
    return p


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "diagnose":
        args = build_diagnose_parser().parse_args(argv[1:])
        setup_logging(args.verbose)
        if (missing := libvlc_missing()) is not None:
            return missing
        from player.cli import run_diagnose

        return run_diagnose(args.url, duration=args.duration, as_json=args.json)
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    if args.version:
        from player.cli import print_version

        print_version()
        return EXIT_OK
    if args.quit_after is not None and args.quit_after <= 0:
        build_parser().error("--quit-after needs a positive number of seconds")
    if (missing := libvlc_missing()) is not None:
        return missing
    return run_gui(args)


def libvlc_missing() -> int | None:
    """None when libVLC loads; else say so in one line on stderr and return EXIT_NO_LIBVLC.

    python-vlc looks for libvlc.so.5 / libvlc.dylib / libvlc.dll when imported and raises
    (NotImplementedError or OSError) when there is none, except on Linux without an ldconfig
    match: there it "loads" the running program instead, and the first call fails with
    NameError; so one real call decides."""
    try:
        from player.playback.vlc import libvlc_version

        libvlc_version()
    except (OSError, ImportError, NotImplementedError, NameError) as exc:
        why = "no libvlc library on this system" if isinstance(exc, NameError) else str(exc)
        sys.stderr.write(
            f"stallwatch: libVLC not found ({why}); install VLC "
            "(Debian/Ubuntu: apt install libvlc5 vlc-plugin-base libvlc-bin)\n"
        )
        return EXIT_NO_LIBVLC
    return None


def install_excepthook() -> None:
    """Log exceptions raised in Qt slots instead of aborting (PyQt6's default).

    A bug in one handler must not take the viewer's window down with it."""

    def hook(exc_type, exc, tb) -> None:  # noqa: ANN001
        log.error("unhandled exception in the GUI", exc_info=(exc_type, exc, tb))

    sys.excepthook = hook


def run_gui(args: argparse.Namespace) -> int:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and not os.environ.get(
        "QT_QPA_PLATFORM"
    ):
        # No screen: run offscreen rather than abort (screenshots and --quit-after still work).
        log.warning("no display found: running offscreen (set DISPLAY to see the window)")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from player.demo import Demo
    from player.playback.vlc import VlcPlayer, libvlc_version
    from player.session import Session
    from player.store.history import HistoryStore
    from player.store.prefs import PrefsStore
    from player.ui.main_window import MainWindow
    from player.ui.screenshots import AutoScreenshotter

    install_excepthook()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Stallwatch")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    player = VlcPlayer(audio=os.environ.get("QT_QPA_PLATFORM") != "offscreen")
    session = Session(player)
    prefs = PrefsStore()
    demo = Demo()  # cheap until played: makes and serves its stream on first use
    history = HistoryStore()  # opens (and migrates) on its own writer thread
    window = MainWindow(session, prefs, libvlc_version=libvlc_version(), demo=demo.prepare, history=history)
    window.add_closing_hook(demo.stop)
    window.add_closing_hook(player.release)
    window.add_closing_hook(history.close)
    if args.auto_screenshot:
        shots = AutoScreenshotter(window, args.auto_screenshot)
        window.notice_shown.connect(shots.capture_soon)
    window.show()

    def start() -> None:
        if args.demo:
            window.play_demo_again()
        elif args.source:
            window.open_source(args.source)

    scripted = args.auto_screenshot or args.quit_after
    if not prefs.prefs.first_run_done and not scripted:
        # What the probes send, with the switch; shown once. Nothing plays (or probes)
        # before the viewer has answered.
        window.show_first_run().finished.connect(lambda _r: start())
    else:
        start()
    if args.quit_after:
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
