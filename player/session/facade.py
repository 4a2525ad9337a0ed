"""The session facade: the owner thread's commands, heartbeat and views over the parts."""

from __future__ import annotations

import logging
from collections.abc import Callable

from player.core import buffer_health as bh
from player.core import evidence
from player.core.attribution import AttributionInput, DeviceEvidence
from player.core.idle_gap import IdleGapPolicy
from player.core.model import PlaybackState, QoE, SessionReport, Verdict
from player.core.tls_origin import TlsOrigin
from player.core.wording import Notice
from player.net.path.monitor import build_namer
from player.net.tls_policy import TlsExemptions
from player.playback.vlc import VlcPlayer
from player.session import metrics
from player.session.events import EventSink, Opening, Snapshot, StatsView
from player.session.factories import (
    GatewayLike,
    PathMonitorLike,
    PathSnapshotLike,
    SessionFactories,
    with_tls,
)
from player.session.idle_gaps import IdleGapDriver
from player.session.lifecycle import PlayerLifecycle
from player.session.media import OpenMedia, title_for
from player.session.network_events import apply_gateway_event
from player.session.opening import Opener
from player.session.rendition_policy import RenditionPolicy
from player.session.reopen_seek import ReopenSeek
from player.session.sampling import SAMPLED_STATES, Sampler
from player.session.stall_tracker import StallTracker

log = logging.getLogger(__name__)

#: A seek by reopening lands within a segment of its target (the gateway's median segment
#: duration, plus half a second of libVLC's coarse time); before the gateway knows it:
SEGMENT_GUESS_S = 6.0  # the common DASH/HLS segment length (Apple recommends 6 s)


def _media_field(name: str) -> property:
    """A read-only view of the current open's ``OpenMedia.<name>``."""
    return property(lambda self: getattr(self.media, name), doc=f"The current open's {name}.")


class Session:
    """Plays one source at a time and reports what happens as plain events."""

    def __init__(
        self,
        player: VlcPlayer,
        clock: Callable[[], float] | None = None,
        *,
        use_gateway: bool = True,
        probe_path: bool = True,
        show_notices: bool = True,
        org_overrides: dict[str, str] | None = None,
        rdap_url: str | None = None,
        factories: SessionFactories | None = None,
        tls: TlsExemptions | None = None,
        idle_gap_policy: IdleGapPolicy | None = None,
    ) -> None:
        """``tls``: origins whose certificates are not verified (``--insecure-tls-origin``);
        the viewer adds more with :meth:`skip_tls_verification`. Verified by default.
        ``idle_gap_policy``: when to pause fetching to sample the path idle (the default's
        thresholds; session/idle_gaps.py)."""
        self.tls = tls if tls is not None else TlsExemptions()
        self.factories = with_tls(factories or SessionFactories(), self.tls)
        self.player = player
        self.clock = clock or self.factories.clock
        self._sink = EventSink(self.clock)
        self.events = self._sink.events
        self.media = OpenMedia()
        self.policy = RenditionPolicy()
        self.tracker = StallTracker(
            self._sink, self.attribution_input, lambda: self.policy.pinned is None, show_notices=show_notices
        )
        self.lifecycle = PlayerLifecycle(player, self._sink, self.tracker, self._length_known)
        self.opening = Opener(
            self.factories,
            self.lifecycle,
            self.policy,
            use_gateway=use_gateway,
            probe_path=probe_path,
            tls=self.tls,
        )
        self.sampler = Sampler(
            player,
            self.factories.cpu(),
            self.tracker,
            self.policy,
            self.factories.traffic(),
        )
        self.reopen_seek = ReopenSeek()  # DASH through the gateway (session/reopen_seek.py)
        self.idle_gaps = IdleGapDriver(idle_gap_policy)  # session/idle_gaps.py
        self.sampler.seek_view = self.reopen_seek.view
        self.configure_naming(org_overrides, rdap_url)

    # -- views of the parts (read by the UI and diagnose) -------------------------------
    source = _media_field("source")
    title = _media_field("title")
    length_s = _media_field("length_s")
    seekable = _media_field("seekable")
    last_position_s = _media_field("last_position_s")
    opened_at = _media_field("opened_at")
    monitor = _media_field("monitor")
    renditions = _media_field("renditions")
    notes = _media_field("notes")
    per_segment_data = _media_field("per_segment_data")
    mode_note = _media_field("mode_note")

    @property
    def state(self) -> PlaybackState:
        return self._sink.state

    @property
    def gateway(self) -> GatewayLike | None:
        return self.opening.gateway

    @property
    def path(self) -> PathMonitorLike | None:
        return self.opening.path

    @property
    def current_notice(self) -> Notice | None:
        return self.tracker.current_notice

    @property
    def current_verdict(self) -> Verdict | None:
        return self.tracker.current_verdict

    @property
    def use_gateway(self) -> bool:
        return self.opening.use_gateway

    @use_gateway.setter
    def use_gateway(self, value: bool) -> None:
        self.opening.use_gateway = value

    @property
    def probe_path(self) -> bool:
        """Diagnostics: probe the path to the media host. Applies live: off stops the
        running open's path monitor (no probe leaves the machine), on starts one."""
        return self.opening.probe_path

    @probe_path.setter
    def probe_path(self, value: bool) -> None:
        self.opening.set_probe_path(bool(value))

    @property
    def show_notices(self) -> bool:
        return self.tracker.show_notices

    @show_notices.setter
    def show_notices(self, value: bool) -> None:
        self.tracker.show_notices = value

    # -- commands (owner thread) --------------------------------------------------------
    def open(self, source: str, prepare: Callable[[], str] | None = None, title: str = "") -> None:
        """Check ``source`` in a worker thread, then hand it to libVLC from ``tick``.

        ``prepare`` (optional, blocking) runs first in the worker and returns the
        real source: the demo uses it to generate and serve its stream.
        """
        gen = self.opening.begin()
        now = self.clock()
        self.media = OpenMedia(
            source=source,
            title=title or title_for(source),
            gen=gen,
            opened_at=now,
            monitor=bh.BufferHealthMonitor(session_start=now),
        )
        self.tracker.reset(self.media)
        self.lifecycle.reset(self.media)
        self.sampler.reset()
        self.reopen_seek.clear()
        self.idle_gaps.reset()
        self._sink.emit(Opening(source=source, title=self.media.title))
        self._sink.set_state(PlaybackState.STARTUP)
        self.opening.check(gen, source, prepare)

    def toggle_pause(self) -> None:
        state = self.state
        if state is PlaybackState.PAUSED:
            self.player.resume()
        elif state in (PlaybackState.PLAYING, PlaybackState.STALLED, PlaybackState.STARTUP):
            self.player.pause()
        elif state is PlaybackState.ENDED and self.media.source:
            self.open(self.media.source)

    def seek_s(self, seconds: float) -> None:
        media = self.media
        if not media.seekable:
            return
        if media.length_s:
            seconds = min(seconds, max(0.0, media.length_s - 0.5))
        seconds = max(0.0, seconds)
        media.last_position_s = seconds
        self.idle_gaps.cancel()  # libVLC's requests after the seek must not wait on a gap
        if self._seeks_by_reopening():  # coalesced; tick() reopens (session/reopen_seek.py)
            self.reopen_seek.request(seconds, self.clock())
            self.tracker.feed(media.monitor.on_seek(self.clock()))
            return
        self.player.seek_s(seconds)
        self.tracker.feed(media.monitor.on_seek(self.clock()))
        self.policy.on_seek()

    def seek_relative(self, delta_s: float) -> None:
        pos = self.reopen_seek.target_s  # a seek in progress: from its target
        if pos is None:
            pos = self.player.time_s() or self.media.last_position_s or 0.0
        self.seek_s(pos + delta_s)

    def set_volume(self, percent: int) -> None:
        self.player.set_volume(percent)

    def set_muted(self, muted: bool) -> None:
        self.player.set_muted(muted)

    def configure_naming(self, org_overrides: dict[str, str] | None, rdap_url: str | None) -> None:
        """The viewer's names for networks and the opt-in RDAP service (next open)."""
        self.opening.namer_key = (tuple(sorted((org_overrides or {}).items())), rdap_url or "")
        self.opening.namer = build_namer(org_overrides, rdap_url) if (org_overrides or rdap_url) else None

    @property
    def pinned_rendition(self) -> int | None:
        return self.policy.pinned

    def skip_tls_verification(self, origin: TlsOrigin) -> None:
        """The viewer's "Open anyway (not secure)": requests to exactly ``origin`` (https,
        host, port) skip certificate verification until the session object goes away
        (this run); every other origin is still verified. Takes effect on the next open."""
        self.tls.exempt(origin)

    @property
    def tls_unverified(self) -> list[str]:
        """``host:port`` of the origins the current open reached without verification."""
        return list(self.media.tls_unverified)

    def pin_rendition(self, index: int | None) -> None:
        """Play only rendition ``index`` (gateway/master order), or None for Auto."""
        self.policy.pin(index)
        self.opening.lock_rendition(index)

    def close(self) -> None:
        """Stop playback; returns quickly even while a stream is stalled."""
        self.opening.close()

    # -- the owner's heartbeat ----------------------------------------------------------
    def tick(self) -> None:
        self.opening.drain_preflight(self.media)
        # the gateway's events first: it reports an upstream failure before it answers
        # libVLC, so libVLC's error that follows is worded with the real reason
        self.opening.drain_net(lambda ev: apply_gateway_event(ev, self.media, self._sink))
        self.lifecycle.drain(self.opening.gen)
        now = self.clock()
        self._reopen_if_due(now)
        self.tracker.expire_notice(now)
        if self.lifecycle.plays(self.opening.gen) and self.state in SAMPLED_STATES:
            t = self.sampler.sample(now, self.state, self.media, self.opening.gateway, self.opening.path)
            # media seconds the gateway handed libVLC in this run (a live stream's run starts
            # far from 0); a gateway without the figure (a fake) leaves streams unjudged
            delivered = getattr(self.opening.gateway, "delivered_media_s", None)
            self.lifecycle.check_undecodable(now, t, delivered() if delivered is not None else None)
        self.idle_gaps.tick(
            self.state,
            seeking=self.reopen_seek.target_s is not None,
            media=self.media,
            gateway=self.opening.gateway if self.lifecycle.plays(self.opening.gen) else None,
            path=self.opening.path,
        )

    # -- views (owner thread) -----------------------------------------------------------
    def snapshot(self) -> Snapshot:
        media = self.media
        pos = self.player.time_s() if self.lifecycle.plays(self.opening.gen) else None
        pos = self.reopen_seek.view(pos)[0]  # a seek in progress shows its target
        if pos is not None and self.state is not PlaybackState.IDLE:
            media.last_position_s = pos
        return Snapshot(
            state=self.state,
            source=media.source,
            title=media.title,
            position_s=media.last_position_s,
            length_s=media.length_s,
            seekable=media.seekable,
            volume=self.player.volume(),
            muted=self.player.muted(),
            frames_distinct=self.player.frames.distinct_frames,
        )

    def qoe(self) -> QoE:
        return metrics.qoe(self.media, self.player.frames.distinct_frames, self.sampler.frames_dropped)

    def stats(self) -> StatsView:
        plays = self.lifecycle.plays(self.opening.gen)
        return metrics.stats_view(
            self.media,
            state=self.state,
            q=self.qoe(),
            history=self.sampler.history,
            pinned=self.policy.pinned is not None,
            video_size=self.player.video_size() if plays else (0, 0),
        )

    def path_snapshot(self) -> PathSnapshotLike | None:
        path = self.opening.path
        return path.snapshot() if path is not None else None

    def report(self) -> SessionReport:
        """The session so far, in the shape of DESIGN.md's ``diagnose --json`` (no side effects:
        a stall in progress is reported with a verdict made from the evidence now)."""
        report = metrics.session_report(
            self.media,
            state=self.state,
            q=self.qoe(),
            stalls=self.tracker.stalls_as_of(self.clock()),
            snap=self.path_snapshot(),
        )
        report.probe.update(self.idle_gaps.report())  # idle gaps: count and seconds
        return report

    def fetch_summary(self) -> dict:
        return metrics.fetch_summary(self.media, self.path_snapshot())

    def attribution_input(self, stall_started_at: float | None = None) -> AttributionInput:
        """All evidence for a verdict now (``stall_started_at``: session clock, or None)."""
        now = self.clock()
        g = self.opening.gateway
        media = self.media
        stall_at = self.tracker.stall_started_at
        rend = media.playing_rendition
        return evidence.attribution_input(
            now=now,
            fetches=media.fetches,
            inflight=g.inflight() if g is not None else (),
            path=self.path_snapshot(),
            device=DeviceEvidence(
                frames_dropped_healthy=media.monitor.frames_dropped_while_healthy,
                frames_displayed=self.player.frames.distinct_frames,
                process_cpu_pct=self.sampler.proc_cpu,
                system_cpu_pct=self.sampler.sys_cpu,
                cpu_count=self.sampler.cpu.count(),
                host_traffic=self.sampler.host.judge(now if stall_at is None else stall_at)
                if g is not None
                else None,
            ),
            stall_started_at=stall_started_at,
            window_end=now if stall_at is None else stall_at,
            rendition_bitrate_bps=float(rend.bandwidth) if rend is not None else None,
            length_s=media.length_s,
            via_gateway=g is not None,
            playback_rate=self.sampler.rate,
        )

    # -- internals ----------------------------------------------------------------------
    def _seeks_by_reopening(self) -> bool:
        """libVLC refuses seeks in DASH served through the gateway (session/reopen_seek.py)."""
        g = self.opening.gateway
        return bool(getattr(g, "serves_dash", False)) and self.lifecycle.plays(self.opening.gen)

    def _reopen_if_due(self, now: float) -> None:
        """Reopen the source at a coalesced seek's target; notice when it has landed."""
        if not self.lifecycle.plays(self.opening.gen):
            self.reopen_seek.clear()
            return
        frames = self.player.frames.distinct_frames
        seg = getattr(self.opening.gateway, "segment_duration_s", lambda: None)()
        self.reopen_seek.observe(self.player.time_s(), frames, (seg or SEGMENT_GUESS_S) + 0.5)
        target = self.reopen_seek.due(now)
        if target is None:
            return
        paused = self.state is PlaybackState.PAUSED
        options = (f":start-time={target:.3f}",) + ((":start-paused",) if paused else ())
        log.info("seek to %.1f s: reopening the stream there", target)
        self.player.open(self.lifecycle.mrl, options, same_source=True)
        reopened = getattr(self.opening.gateway, "reopened", None)
        if reopened is not None:  # after open: libVLC stopped the old input, none of its
            reopened()  # requests follows (the new one asks for playlists first)
        self.reopen_seek.reopened(target, frames)
        self.tracker.feed(self.media.monitor.on_seek(now))
        self.policy.on_seek()

    def _length_known(self, seconds: float) -> None:
        """libVLC knows the length: the gateway needs it for a progressive file's timing."""
        if self.opening.gateway is not None:
            self.opening.gateway.set_media_duration(seconds)
