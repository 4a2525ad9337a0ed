"""Resume in the real window: real libVLC on a 100 s ffmpeg-made file, the real resume store
(its file in the test's data dir, written by its own thread). Nothing is mocked; the offer's
lifetime is shortened in the one test that waits for it to go away by itself."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from player.core.model import PlaybackState
from player.core.resume import MIN_POSITION_S
from player.store.resume import ResumeStore, source_key
from player.ui import resume_prompt
from tests.player.conftest import MIN_WAIT_S, PlayerHarness
from tests.support.media import make_mp4

pytestmark = [pytest.mark.gui, pytest.mark.vlc]

LONG_S = 100
MIDDLE_S = 50.0
# libVLC's clock after a seek lands within a frame or two of the target; the test allows
# for the time that passes between "seeked" and the switch (it never bounds speed)
SLACK_S = 5.0


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("resume")
    return make_mp4(
        d / "film.mp4", seconds=LONG_S, size=(160, 120), fps=10, pattern="color", color="red"
    )


@pytest.fixture(scope="module")
def other_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("resume-other")
    return make_mp4(
        d / "other.mp4", seconds=3, size=(160, 120), fps=10, pattern="color", color="blue"
    )


@pytest.fixture
def store(harness: PlayerHarness) -> ResumeStore:
    s = ResumeStore()  # the test's own data dir (tests/conftest.py isolates it)
    assert s.wait_loaded(MIN_WAIT_S)
    harness.window.resume.set_store(s)
    harness.window.add_closing_hook(s.close)
    return s


def vlc_time(h: PlayerHarness) -> float:
    return h.player.time_s() or 0.0


def play_to_middle(h: PlayerHarness, path: Path | str) -> None:
    h.window.open_source(str(path))
    h.wait(
        lambda: h.session.state is PlaybackState.PLAYING and h.session.seekable,
        20,
        "playing, seekable",
    )
    h.session.seek_s(MIDDLE_S)
    h.wait(lambda: vlc_time(h) >= MIDDLE_S, 20, "libVLC at the middle")


def test_the_middle_is_remembered_offered_and_resumed(
    harness, store, long_clip, other_clip
) -> None:  # noqa: ANN001
    play_to_middle(harness, long_clip)
    harness.window.open_source(str(other_clip))  # switching item keeps the position
    point = store.get(str(long_clip))
    assert point is not None and MIDDLE_S <= point.position_s <= MIDDLE_S + SLACK_S
    assert point.length_s == pytest.approx(LONG_S, abs=1)
    assert store.flush(MIN_WAIT_S)
    path = store.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert "film" not in text and str(long_clip.parent) not in text
    assert source_key(str(long_clip)) in text

    harness.window.open_source(str(long_clip))  # reopen: offered, not forced
    resume = harness.window.resume
    harness.wait(lambda: resume.offered_at is not None, 20, "the resume offer")
    assert resume.offer.label.text() == f"Resume from 0:{int(point.position_s):02d}?"
    assert vlc_time(harness) < MIN_POSITION_S  # it plays from the start meanwhile
    resume.offer.resume_button.click()
    assert not resume.offer.isVisible()
    harness.wait(
        lambda: vlc_time(harness) >= point.position_s - 1, 20, "libVLC at the remembered point"
    )
    assert vlc_time(harness) <= point.position_s + SLACK_S


def test_start_over_plays_from_zero_and_forgets(harness, store, long_clip) -> None:  # noqa: ANN001
    store.put(str(long_clip), 42.0, float(LONG_S))
    harness.window.open_source(str(long_clip))
    resume = harness.window.resume
    harness.wait(lambda: resume.offered_at == 42.0, 20, "the resume offer")
    resume.offer.start_over_button.click()
    assert not resume.offer.isVisible() and store.get(str(long_clip)) is None
    t0 = vlc_time(harness)
    harness.wait(lambda: vlc_time(harness) > t0 + 0.5, MIN_WAIT_S, "playing on")
    assert vlc_time(harness) < MIN_POSITION_S


def test_an_unanswered_offer_goes_away_and_playback_stays_at_the_start(
    harness, store, long_clip, monkeypatch
) -> None:  # noqa: ANN001
    monkeypatch.setattr(resume_prompt, "OFFER_MS", 300)
    store.put(str(long_clip), 42.0, float(LONG_S))
    harness.window.open_source(str(long_clip))
    resume = harness.window.resume
    harness.wait(lambda: resume.offer.isVisible(), 20, "the resume offer")
    harness.wait(lambda: not resume.offer.isVisible(), MIN_WAIT_S, "the offer gone by itself")
    assert vlc_time(harness) < MIN_POSITION_S
    assert store.get(str(long_clip)).position_s == 42.0  # still there for the next time


def test_played_to_the_end_is_forgotten(harness, store, long_clip) -> None:  # noqa: ANN001
    store.put(str(long_clip), 42.0, float(LONG_S))
    harness.window.open_source(str(long_clip))
    resume = harness.window.resume
    harness.wait(lambda: resume.offered_at is not None, 20, "the resume offer")
    resume.accept()
    harness.wait(lambda: vlc_time(harness) >= 41, 20, "resumed")
    harness.session.seek_s(LONG_S - 1.5)
    harness.wait(lambda: harness.session.state is PlaybackState.ENDED, 30, "the end")
    assert store.get(str(long_clip)) is None
    assert store.flush(MIN_WAIT_S)
    assert source_key(str(long_clip)) not in store.path.read_text()


def test_quitting_remembers_the_position(harness, store, long_clip) -> None:  # noqa: ANN001
    play_to_middle(harness, long_clip)
    harness.close()
    point = store.get(str(long_clip))
    assert point is not None and MIDDLE_S <= point.position_s <= MIDDLE_S + SLACK_S
    again = ResumeStore(store.path)  # closing flushed it to disk
    assert again.wait_loaded(MIN_WAIT_S)
    assert again.get(str(long_clip)) == point
    again.close()


def test_the_demo_is_not_remembered(harness, store, long_clip) -> None:  # noqa: ANN001
    # The window's real demo path, its stream replaced by the long file (``prepare`` is what
    # makes and serves the demo; here it just names the file).
    harness.window.open_demo(lambda: str(long_clip))
    harness.wait(
        lambda: harness.session.state is PlaybackState.PLAYING and harness.session.seekable, 20
    )
    harness.session.seek_s(MIDDLE_S)
    harness.wait(lambda: vlc_time(harness) >= MIDDLE_S, 20, "libVLC at the middle")
    harness.window.resume.remember()
    harness.close()
    assert len(store) == 0


def test_a_vod_stream_is_resumed_and_its_url_is_not_stored(
    harness, store, long_clip, other_clip
) -> None:  # noqa: ANN001
    from tests.support.origin import OriginServer

    with OriginServer(long_clip.parent) as srv:
        url = srv.url("film.mp4") + "?token=s3cr3t-T0KEN"
        play_to_middle(harness, url)
        harness.window.open_source(str(other_clip))
        point = store.get(url)
        assert point is not None and MIDDLE_S <= point.position_s <= MIDDLE_S + SLACK_S
        assert store.flush(MIN_WAIT_S)
        text = store.path.read_text()
        assert "s3cr3t" not in text and "127.0.0.1" not in text and "film" not in text
        harness.window.open_source(url)
        resume = harness.window.resume
        harness.wait(lambda: resume.offered_at is not None, 20, "the resume offer")
        resume.accept()
        harness.wait(
            lambda: vlc_time(harness) >= point.position_s - 1, 20, "libVLC at the remembered point"
        )


def test_pausing_keeps_the_position(harness, store, long_clip) -> None:  # noqa: ANN001
    play_to_middle(harness, long_clip)
    assert store.get(str(long_clip)) is None  # nothing kept while it plays (until the 15 s save)
    harness.window.toggle_pause()
    harness.wait(lambda: harness.session.state is PlaybackState.PAUSED, MIN_WAIT_S, "paused")
    point = store.get(str(long_clip))
    assert point is not None and MIDDLE_S <= point.position_s <= MIDDLE_S + SLACK_S


class HeldLoad(ResumeStore):
    """A store whose file read waits for the test (a slow disk at start-up); everything
    else (the thread, the table, the loaded callback) is the real store."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate
        super().__init__()

    def _load(self) -> dict:
        assert self.gate.wait(60), "the test never released the load"
        return super()._load()


def test_the_offer_waits_for_a_store_still_loading(harness, long_clip) -> None:  # noqa: ANN001
    first = ResumeStore()
    assert first.wait_loaded(MIN_WAIT_S)
    first.put(str(long_clip), 42.0, float(LONG_S))
    assert first.flush(MIN_WAIT_S)
    first.close()
    gate = threading.Event()
    store = HeldLoad(gate)
    harness.window.resume.set_store(store)
    harness.window.add_closing_hook(store.close)
    harness.window.add_closing_hook(gate.set)
    resume = harness.window.resume
    harness.window.open_source(str(long_clip))
    # Playing, seekable and past the first second: the offer was looked for already.
    harness.wait(
        lambda: (
            harness.session.state is PlaybackState.PLAYING
            and harness.session.seekable
            and vlc_time(harness) >= 1.0
        ),
        MIN_WAIT_S,
        "playing, seekable",
    )
    assert resume.offered_at is None and not store.wait_loaded(0)
    gate.set()  # the file is read now
    harness.wait(lambda: resume.offered_at == 42.0, MIN_WAIT_S, "the offer once the store loaded")
