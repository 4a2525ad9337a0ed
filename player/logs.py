"""Where log lines go: a rotating file in the user's log folder, and stderr.

``setup_logging(verbosity, log_file)``: stderr shows warnings (``-v`` info, ``-vv`` debug);
the file (``--log-file PATH``, else :func:`default_log_file`) keeps info and up (debug
with ``-vv``), so a viewer can send it after something went wrong without re-running.
Every line, on both, goes through :func:`redact_line`: URLs lose their credentials,
query strings, fragments and token-like path segments (:func:`player.core.redact.redact_urls_in_text`;
the gateway's per-run secret is such a segment), so nothing secret reaches a log. The
file and its folder are readable by the user only: the lines name the videos watched.
The file is written by one background thread (:class:`BackgroundFileHandler`): a line
logged on the GUI thread only joins a queue, it never waits for the disk.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import queue
import re
import sys
import time
from pathlib import Path

import platformdirs

from player.core.redact import TOKEN, looks_like_token, redact_urls_in_text

APP_NAME = "stallwatch"
LOG_DIR_ENV = "STALLWATCH_LOG_DIR"  # tests and portable setups point it elsewhere
LOG_NAME = "stallwatch.log"
FILE_MODE = 0o600  # the lines name the videos watched: only the user may read them
DIR_MODE = 0o700
# One file of 1 MB and three older ones: days of normal use (a session logs a few dozen
# info lines), and small enough to attach to a bug report.
MAX_BYTES = 1_000_000
BACKUP_COUNT = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Lines waiting for the disk: a burst of debug output fits; a disk that hangs (an NFS home)
# costs at most this many records of memory, later lines are dropped and counted.
QUEUE_MAX_LINES = 10_000
FLUSH_TIMEOUT_S = 5.0  # flush() waits this long for the writer, then gives up (exit goes on)
FLUSH_POLL_S = 0.01
_OURS = "_stallwatch_handler"  # marks the handlers this module installed (replaced on re-setup)

# A request path's query: "/x/v.mp4?a=b" (after white space, a quote or a bracket) keeps
# "/x/v.mp4"; a word this long may be a token (checked with redact.looks_like_token).
_PATH_QUERY = re.compile(r"(?<![^\s\"'(\[])(/[^\s?#\"']*)[?#][^\s\"']*")
_WORD = re.compile(r"[A-Za-z0-9_\-=~%+]{16,}")


def log_dir() -> Path:
    """``$STALLWATCH_LOG_DIR``, else the platform's user log folder
    (``$XDG_STATE_HOME/stallwatch/log``, i.e. ``~/.local/state/stallwatch/log`` on Linux)."""
    return Path(os.environ.get(LOG_DIR_ENV) or platformdirs.user_log_dir(APP_NAME))


def default_log_file() -> Path:
    return log_dir() / LOG_NAME


def redact_line(text: str) -> str:
    """``text`` with every URL in it redacted (credentials, query, fragment, tokens): the
    player's one log policy, :func:`player.core.redact.redact_urls_in_text`; then the
    query of a bare request path (urllib3 logs ``"GET /v.mp4?token=… HTTP/1.1"``) and any
    token-like word (the gateway's secret, a signature) wherever it stands."""
    text = redact_urls_in_text(text)
    if "?" in text or "#" in text:
        text = _PATH_QUERY.sub(lambda m: m.group(1), text)
    return _WORD.sub(lambda m: TOKEN if looks_like_token(m.group(0)) else m.group(0), text)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then redacts the whole line (message, arguments and traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_line(super().format(record))


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (as logging's last-resort
    handler does), not the stream of the moment it was installed."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # noqa: ANN201 - a text stream
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file (the new one after a rollover too) is mode 0600."""

    def _open(self):  # noqa: ANN202 - the base class's signature
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its old mode through O_CREAT
        return os.fdopen(
            fd, self.mode.replace("w", "a"), encoding=self.encoding, errors=self.errors
        )


class BackgroundFileHandler(logging.handlers.QueueHandler):
    """Hands each record to a queue that one thread (a :class:`logging.handlers.QueueListener`)
    writes to ``target``: the logging thread (often the GUI's) never blocks on the disk.
    ``flush`` waits until every queued line is written (tests, exit); ``close`` stops the
    thread after the last line and closes the file."""

    def __init__(self, target: logging.Handler) -> None:
        super().__init__(queue.Queue(QUEUE_MAX_LINES))
        self.target = target
        self.dropped = 0  # lines lost because the disk did not keep up (said in the file)
        self.setLevel(target.level)
        self.listener = logging.handlers.QueueListener(
            self.queue, target, respect_handler_level=True
        )
        self.listener.start()

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:  # a hung disk: drop the line rather than block or grow memory
            self.dropped += 1

    def flush(self) -> None:
        """Wait (at most FLUSH_TIMEOUT_S: a dead writer must not hang the exit) until every
        queued line is written."""
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        if self.listener._thread is not None:  # noqa: SLF001 - stopped: nothing is queued
            while self.queue.unfinished_tasks and time.monotonic() < deadline:
                time.sleep(FLUSH_POLL_S)
        if self.dropped:
            n, self.dropped = self.dropped, 0
            self.target.handle(
                logging.makeLogRecord(
                    {"name": __name__, "levelno": logging.WARNING, "levelname": "WARNING",
                     "msg": f"{n} log lines were dropped: the disk did not keep up"}
                )
            )  # fmt: skip
        self.target.flush()

    def close(self) -> None:
        if self.listener._thread is not None:  # noqa: SLF001
            self.flush()
            try:
                self.listener.stop()  # writes what is queued, then ends the thread
            except queue.Full:  # the writer is stuck: leave its (daemon) thread be
                pass
        self.target.close()
        super().close()


def stderr_level(verbosity: int) -> int:
    return logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG


def file_level(verbosity: int) -> int:
    return logging.DEBUG if verbosity >= 2 else logging.INFO


def open_log_file(path: Path, verbosity: int) -> logging.Handler:
    """The file handler for ``path`` (written from a background thread), its folder made
    (0700) when missing; OSError when it cannot be written."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=DIR_MODE)
    handler = PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    handler.setLevel(file_level(verbosity))
    handler.setFormatter(RedactingFormatter(FORMAT))
    return BackgroundFileHandler(handler)


def setup_logging(
    verbosity: int, log_file: Path | str | None = None, *, to_file: bool = True
) -> Path | None:
    """Install the stderr and file handlers on the root logger; return the log file's path
    (None without one). ``log_file`` that cannot be written raises OSError; the default
    one that cannot is skipped with one line on stderr. Called again (tests call ``main``
    repeatedly), it replaces the handlers it installed before and leaves others alone."""
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(h)
        h.close()
    formatter = RedactingFormatter(FORMAT)  # the file handler's own is the same
    console = StderrHandler()
    console.setLevel(stderr_level(verbosity))
    handlers: list[logging.Handler] = [console]
    path: Path | None = None
    if log_file:  # asked for: a file that cannot be written is the caller's error (OSError)
        path = Path(log_file).expanduser()
        handlers.append(open_log_file(path, verbosity))
    elif to_file:  # the default: without it the player runs on, saying so once
        try:
            handlers.append(open_log_file(default_log_file(), verbosity))
            path = default_log_file()
        except OSError as exc:
            sys.stderr.write(f"stallwatch: not writing a log file ({exc})\n")
    console.setFormatter(formatter)
    for h in handlers:
        setattr(h, _OURS, True)
        root.addHandler(h)
    root.setLevel(min(h.level for h in handlers))
    return path


def flush() -> None:
    """Wait until every line logged so far is in the log file."""
    for h in logging.getLogger().handlers:
        h.flush()
