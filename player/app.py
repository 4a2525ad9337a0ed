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
# Shown under --help (argparse exits 2 on a bad command line too: bad input as well).
EXIT_CODES_HELP = (
    "Exit status: 0 when it ran (also when the files went to the Stallwatch already running); "
    "2 bad input (a bad command line or --log-file; diagnose: unreachable host, HTTP error, "
    "not a video); 3 libVLC is missing; 1 an unexpected error (a bug: a traceback on stderr)."
)
LOGGING_HELP = "Log: stallwatch.log in the user log folder (~/.local/state/stallwatch/log on Linux) unless --log-file."
INSECURE_TLS_HELP = (
    "do NOT verify the TLS certificate of this exact https origin (scheme, host and port, e.g. "
    "https://192.168.1.20:8443) for this run, through Stallwatch's gateway only; other origins "
    "and redirects elsewhere are still verified; the window and the report say so (repeatable)"
)


def tls_origin_arg(text: str):  # noqa: ANN201 - a TlsOrigin (imported lazily)
    """``--insecure-tls-origin`` value: an https URL; only its host and port are kept."""
    from player.core.tls_origin import TlsOrigin

    origin = TlsOrigin.of(text)
    if origin is None:
        raise argparse.ArgumentTypeError(f"needs an https URL such as https://host:8443, not {text!r}")
    return origin


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stallwatch",
        description=(
            "A video player that watches buffer health and, when playback stalls, names the "
            "network segment to blame: this computer, the home network, the ISP, the interconnect "
            "or the video server."
        ),
        epilog=f"Headless report: stallwatch diagnose URL [--duration S] [--json]. {EXIT_CODES_HELP} {LOGGING_HELP}",
    )
    p.add_argument(
        "sources", nargs="*", metavar="URL|FILE",
        help="video files, file:// URIs or http(s) URLs (MP4, HLS .m3u8, DASH .mpd): played in order, as a queue",
    )  # fmt: skip
    p.add_argument("--demo", action="store_true", help="play the built-in demo stream (generated on first use)")
    p.add_argument("--auto-screenshot", metavar="DIR", type=Path, help="save a PNG into DIR each time a notice appears")
    p.add_argument("--quit-after", metavar="SECONDS", type=float, help="quit after this many seconds")
    p.add_argument("--version", action="store_true", help="print the Stallwatch and libVLC versions and exit")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    p.add_argument("--log-file", metavar="PATH", type=Path, help="write the log here instead of the user log folder")
    p.add_argument("--new-instance", action="store_true", help="run a separate player even if one is running")
    p.add_argument("--enqueue", action="store_true", help="give the files to the running player's queue, not play them now")
    p.add_argument("--insecure-tls-origin", metavar="URL", type=tls_origin_arg, action="append", default=[], help=INSECURE_TLS_HELP)
    return p


def build_diagnose_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stallwatch diagnose",
        description="Play a stream headlessly (decoded, not shown), monitor, probe and attribute stalls.",
        epilog=f"{EXIT_CODES_HELP} {LOGGING_HELP}",
    )
    p.add_argument("url", help="the stream or file to diagnose")
    p.add_argument("--duration", type=float, default=30.0, metavar="SECONDS", help="how long to play (default 30)")
    p.add_argument("--json", action="store_true", help="print the JSON report (DESIGN.md contract)")
    p.add_argument("--insecure-tls-origin", metavar="URL", type=tls_origin_arg, action="append", default=[], help=INSECURE_TLS_HELP)
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    p.add_argument("--log-file", metavar="PATH", type=Path, help="write the log here instead of the user log folder")
    return p


def setup_logging(verbosity: int, log_file: Path | None = None, to_file: bool = True) -> bool:
    """stderr at the verbosity, and the log file (player/logs.py); False (said on stderr)
    when the --log-file given cannot be written."""
    from player.logs import setup_logging as install

    try:
        install(verbosity, log_file, to_file=to_file)
    except OSError as exc:
        sys.stderr.write(f"stallwatch: cannot write the log file {log_file}: {exc.strerror or exc}\n")
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "diagnose":
        args = build_diagnose_parser().parse_args(argv[1:])
        if not setup_logging(args.verbose, args.log_file):
            return EXIT_BAD_INPUT
        if (missing := libvlc_missing()) is not None:
            return missing
        from player.cli import run_diagnose

        return run_diagnose(
            args.url, duration=args.duration, as_json=args.json, insecure_origins=args.insecure_tls_origin
        )
    args = build_parser().parse_args(argv)
    if not setup_logging(args.verbose, args.log_file, to_file=not args.version):
        return EXIT_BAD_INPUT
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
    from player.net.tls_policy import TlsExemptions
    from player.playback.vlc import VlcPlayer, libvlc_version
    from player.session import Session
    from player.store.history import HistoryStore
    from player.store.prefs import PrefsStore
    from player.store.recently_used import RecentlyUsed
    from player.store.resume import ResumeStore
    from player.ui import desktop
    from player.ui.main_window import MainWindow
    from player.ui.screenshots import AutoScreenshotter

    install_excepthook()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Stallwatch")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    prefs = PrefsStore()
    # A second launch gives its files to the running player and is done (player/ui/desktop).
    handed_off, instance = desktop.hand_off(args, prefs.prefs.single_instance, prefs.path.parent)
    if handed_off:
        return EXIT_OK
    player = VlcPlayer(audio=os.environ.get("QT_QPA_PLATFORM") != "offscreen")
    session = Session(player, tls=TlsExemptions(args.insecure_tls_origin))
    demo = Demo()  # cheap until played: makes and serves its stream on first use
    history = HistoryStore()  # opens (and migrates) on its own writer thread
    window = MainWindow(session, prefs, libvlc_version=libvlc_version(), demo=demo.prepare, history=history)
    window.add_closing_hook(demo.stop)
    window.add_closing_hook(player.release)
    window.add_closing_hook(history.close)
    desktop.install(window, instance)  # MPRIS, screen-saver inhibit, the single-instance server
    resume = ResumeStore()  # loads on its own thread
    window.resume.set_store(resume)
    window.add_closing_hook(resume.close)
    window.queue.recently_used = recently_used = RecentlyUsed()  # the desktop's recent files
    window.add_closing_hook(recently_used.close)
    if args.auto_screenshot:
        shots = AutoScreenshotter(window, args.auto_screenshot)
        window.notice_shown.connect(shots.capture_soon)
    window.show()

    def start() -> None:
        if args.demo:
            window.play_demo_again()
        elif args.sources:
            window.enqueue(args.sources, play_now=True)

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
