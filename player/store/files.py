"""The one way the stores replace a file: atomically, readable by the user only."""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600  # the stores name the videos watched: only the user may read them
DIR_MODE = 0o700


def write_atomic(
    path: Path, data: bytes, *, mode: int = FILE_MODE, dir_mode: int | None = DIR_MODE
) -> None:
    """Replace ``path`` with ``data``: written to a temporary file beside it (with ``mode``
    from the first byte) and renamed over it, so a reader or a crash never sees half a file.
    ``dir_mode``: the folder is made, and kept, with that mode (None: a shared folder such
    as ``~/.local/share`` is made if missing and otherwise left alone). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=dir_mode or 0o755)
    if dir_mode is not None:
        os.chmod(path.parent, dir_mode)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # an old temporary file keeps its mode through O_CREAT
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
