"""``--log-file``, the default log in the user log folder (0600), redaction of secrets in
every log line, and the exit codes under ``--help``."""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from player import logs
from player.app import main

ROOT = Path(__file__).resolve().parents[2]
SECRET = "SeCrEt0123456789xyzQ"
RUN_TIMEOUT_S = 120  # ends a hang only


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    logs.setup_logging(0, to_file=False)  # drop the test's file handler


def test_redact_line_hides_url_and_request_secrets() -> None:
    line = logs.redact_line(
        f"GET https://viewer:hunter2@cdn.example/v/{SECRET}/index.m3u8?token={SECRET}#t=1 failed"
    )
    assert SECRET not in line and "hunter2" not in line and "cdn.example" in line


def test_log_file_is_redacted_and_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "logs" / "run.log"
    assert logs.setup_logging(2, path) == path
    logging.getLogger("player.test").info(
        "opening http://u:pw@example.com/clip.mp4?token=%s", SECRET
    )
    try:
        raise ValueError(f"bad https://example.com/x?sig={SECRET}")
    except ValueError:
        logging.getLogger("player.test").exception("failed")
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text()
    assert "example.com/clip.mp4" in text and "Traceback" in text
    assert SECRET not in text and ":pw@" not in text
    assert SECRET not in capsys.readouterr().err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rotated_files_stay_private(tmp_path: Path) -> None:
    h = logs.PrivateRotatingFileHandler(tmp_path / "r.log", maxBytes=200, backupCount=2)
    h.setFormatter(logs.RedactingFormatter(logs.FORMAT))
    for i in range(20):
        h.emit(
            logging.makeLogRecord(
                {"msg": f"line {i} " + "x" * 40, "levelno": 20, "levelname": "INFO"}
            )
        )
    h.close()
    files = sorted(tmp_path.glob("r.log*"))
    assert len(files) == 3
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_default_log_in_the_user_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(logs.LOG_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = logs.setup_logging(0)
    assert path == tmp_path / "state" / "stallwatch" / "log" / "stallwatch.log"
    logging.getLogger("player.test").warning("hello")
    logs.flush()  # the file is written by a background thread
    assert "hello" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_unwritable_log_file_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diagnose", "http://127.0.0.1:9/x.mp4", "--log-file", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write the log file" in err[0]


@pytest.mark.parametrize("argv", [["--help"], ["diagnose", "--help"]])
def test_help_lists_exit_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for code in ("Exit status: 0", "2 bad input", "3 libVLC is missing", "--log-file"):
        assert code in out


@pytest.mark.gui
@pytest.mark.vlc
def test_gui_run_logs_to_the_file_without_the_token(origin, tmp_path: Path) -> None:  # noqa: ANN001
    log_file = tmp_path / "gui.log"
    url = origin.url("clip.mp4") + f"?token={SECRET}"
    env = {
        **__import__("os").environ,
        "QT_QPA_PLATFORM": "offscreen",
        "STALLWATCH_LOG_DIR": str(tmp_path / "d"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "player", "-vv", "--log-file", str(log_file), url, "--quit-after", "4"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = log_file.read_text()
    assert "clip.mp4" in text  # it did log the playing
    assert SECRET not in text and SECRET not in run.stderr
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert not (tmp_path / "d").exists()  # --log-file replaces the default file


def test_a_stuck_disk_drops_lines_instead_of_blocking_or_growing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "QUEUE_MAX_LINES", 5)
    release = threading.Event()

    class StuckFile(logs.PrivateRotatingFileHandler):
        def emit(self, record: logging.LogRecord) -> None:
            release.wait(30)  # the disk hangs until the test lets it go
            super().emit(record)

    target = StuckFile(tmp_path / "stuck.log")
    target.setFormatter(logs.RedactingFormatter(logs.FORMAT))
    handler = logs.BackgroundFileHandler(target)
    try:
        records = [logging.makeLogRecord({"msg": f"line {i}", "levelno": 20}) for i in range(50)]
        for r in records:
            handler.handle(r)  # returns at once although nothing can be written
        assert handler.dropped >= 50 - 5 - 1  # the queue holds 5, the writer holds one
        release.set()
        handler.flush()
        text = (tmp_path / "stuck.log").read_text()
        assert "line 0" in text and "log lines were dropped" in text
    finally:
        release.set()
        handler.close()
