"""Fixtures of the fault campaign: Qt offscreen, the player tests' qapp and slot-exception
check, short HLS made once by ffmpeg, and the real window of :mod:`tests.faults.harness`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.faults.harness import FAULT_HLS_SECONDS, FAULT_RENDITIONS, SEGMENT_S, fault_window  # noqa: E402, F401
from tests.faults.sandbox import require_or_skip  # noqa: E402
from tests.player.conftest import fail_on_slot_exceptions, qapp  # noqa: E402, F401 - fixtures
from tests.support.media import ffmpeg_available, make_hls  # noqa: E402


@pytest.fixture(scope="session")
def fault_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``hls/`` (12 s, 1 s segments, 2 renditions) for the fault origin."""
    if not ffmpeg_available():
        require_or_skip("ffmpeg is not installed")
    d = tmp_path_factory.mktemp("fault-media")
    make_hls(d / "hls", seconds=FAULT_HLS_SECONDS, renditions=FAULT_RENDITIONS, segment_s=SEGMENT_S)
    return d


@pytest.fixture
def fault_hls(fault_media: Path) -> Path:
    """The stream's ``master.m3u8`` (serve ``fault_media`` with the ``origin`` fixture)."""
    return fault_media / "hls" / "master.m3u8"


@pytest.fixture
def origin(fault_media: Path):  # noqa: ANN201 - an OriginServer
    """A started loopback :class:`~tests.support.origin.OriginServer` over ``fault_media``."""
    from tests.support.origin import OriginServer

    with OriginServer(fault_media) as srv:
        yield srv
