"""A rig that drives a real Session with fakes (tests/support/fakes.py) on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from player.core.evidence import InFlightTransfer
from player.session import Session, SessionEvent
from tests.support.fakes import FakeClock, FakeGateway, FakeNetwork, FakePlayer

URL = "https://cdn.example/show/master.m3u8"
# (bandwidth, height) in master-playlist order: deliberately not sorted by bitrate, so
# the gateway <-> ABR index mapping is exercised.
RENDITIONS = [(2_000_000, 720), (400_000, 240), (800_000, 360)]
SEGMENT_S = 2.0
TICK_S = 0.0625  # about the GUI's 50 ms heartbeat; a power of two, so fake times add up exactly
WAIT_BEFORE_STARVING_S = 0.3  # the real gateway's STARVING_AFTER_S


class Rig:
    """One session, one fake player, fake network parts and the events seen so far.

    :meth:`step` is one heartbeat: the clock moves, the player plays what was delivered,
    the gateway serves the segments VLC would ask for (unless :attr:`feeding` is off: then
    VLC's next request hangs without a byte), and the session ticks."""

    def __init__(self, *, probe_path: bool = False, buffer_target_s: float = 6.0) -> None:
        self.clock = FakeClock()
        self.player = FakePlayer(self.clock)
        self.net = FakeNetwork(self.clock)
        self.session = Session(self.player, factories=self.net.factories(), probe_path=probe_path)
        self.seen: list[SessionEvent] = []
        self.buffer_target_s = buffer_target_s
        self.feeding = True
        self._next_seq = 0

    @property
    def gateway(self) -> FakeGateway:
        return self.net.gateways[-1]

    def events(self, kind: type) -> list:
        return [e for e in self.seen if isinstance(e, kind)]

    def tick(self) -> None:
        self.session.tick()
        while not self.session.events.empty():
            self.seen.append(self.session.events.get_nowait())

    def open(self, url: str = URL) -> FakeGateway:
        """Open ``url`` and let the session hand it to the (fake) gateway and player."""
        self.session.open(url)
        self.tick()
        self._next_seq = 0
        return self.gateway

    def start(self, url: str = URL, length_s: float | None = 40.0, startup_s: float = 0.3) -> FakeGateway:
        """Open, load the master, and start playing after ``startup_s`` of fetching."""
        g = self.open(url)
        g.load_playlist(RENDITIONS, SEGMENT_S)
        g.delivered_s = 0.0
        self._serve_ahead(g, 0.0)
        self.clock.advance(startup_s)
        self.player.playing(length_s)
        self.tick()
        return g

    def step(self, dt: float = TICK_S) -> None:
        self.clock.advance(dt)
        g = self.session.gateway
        self.player.advance(dt, g.delivered_s if g is not None else None)
        if isinstance(g, FakeGateway) and self.player.position is not None:
            if self.feeding:
                g.flights = []
                g.is_starving = False
                self._serve_ahead(g, self.player.position)
            elif self.player.position >= (g.delivered_s or 0.0):
                # The buffer is empty: VLC asks for the next segment, no byte comes.
                if not g.flights:
                    g.flights = [InFlightTransfer(started_at=self.clock(), first_byte_at=None)]
                g.is_starving = self.clock() - g.flights[0].started_at > WAIT_BEFORE_STARVING_S
        self.tick()

    def run(self, seconds: float, dt: float = TICK_S) -> None:
        for _ in range(round(seconds / dt)):
            self.step(dt)

    def run_until(self, done, limit_s: float = 30.0, dt: float = TICK_S) -> float:  # noqa: ANN001
        """Step until ``done()`` (fake time; fails after ``limit_s``); returns the fake time taken."""
        t0 = self.clock()
        while not done():
            assert self.clock() - t0 < limit_s, "condition not reached in fake time"
            self.step(dt)
        return self.clock() - t0

    def _serve_ahead(self, g: FakeGateway, position: float) -> None:
        while (g.delivered_s or 0.0) < position + self.buffer_target_s:
            g.serve_segment(self._next_seq)
            self._next_seq += 1
            g.delivered_s = (g.delivered_s or 0.0) + SEGMENT_S


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.session.close()
