"""One heartbeat's measurements: the buffer sample, CPU and dropped pictures, the stats history.

Reads libVLC and the gateway, feeds the buffer-health monitor, and hands its events to the
stall tracker and its buffer level to the rendition policy. Owner thread only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from player.core import evidence
from player.core.host_traffic import HostTrafficWindow
from player.core.model import BufferSample, PlaybackState
from player.net import gateway as gw
from player.playback.vlc import VlcPlayer
from player.session.factories import CpuSampler, GatewayLike, PathMonitorLike, TrafficSource
from player.session.media import OpenMedia
from player.session.rendition_policy import RenditionPolicy
from player.session.stall_tracker import StallTracker

HISTORY_EVERY_S = 0.5  # stats graph sampling
HISTORY_SPAN_S = 120.0
DEVICE_EVERY_S = 1.0  # CPU sampling
SAMPLED_STATES = (PlaybackState.PLAYING, PlaybackState.STALLED, PlaybackState.STARTUP)

HistoryPoint = tuple[float, float | None, float | None, float | None]  # at, buffer, tput, bitrate


class Sampler:
    """The session's measurements, taken by :meth:`sample` on every heartbeat while playing."""

    def __init__(
        self,
        player: VlcPlayer,
        cpu: CpuSampler,
        tracker: StallTracker,
        policy: RenditionPolicy,
        traffic: TrafficSource | None = None,
    ) -> None:
        self.player = player
        self.cpu = cpu
        self._traffic = traffic
        # this computer's other traffic: interface counters vs the player's own bytes
        self.host = HostTrafficWindow()
        self._tracker = tracker
        self._policy = policy
        self.history: deque[HistoryPoint] = deque(maxlen=int(HISTORY_SPAN_S / HISTORY_EVERY_S) + 1)
        self._last_history_at = 0.0
        self.proc_cpu: float | None = None
        self.sys_cpu: float | None = None
        self._last_device_at = 0.0
        self.frames_dropped = 0  # libVLC's lost pictures, cumulative
        self.rate = 1.0  # libVLC's playback rate at the last sample (2.0: twice normal)
        # libVLC's playhead -> (the playhead to use, seeking?): a seek that reopens the
        # source (session/reopen_seek.py) is at its target and seeking until it landed
        self.seek_view: Callable[[float | None], tuple[float | None, bool]] = lambda t: (t, False)

    def reset(self) -> None:
        """A new open: the stats graph and the traffic counters start empty."""
        self.history.clear()
        self.host.clear()

    def sample(
        self,
        now: float,
        state: PlaybackState,
        media: OpenMedia,
        gateway: GatewayLike | None,
        path: PathMonitorLike | None,
    ) -> float | None:
        """Measure once (``state``: the session's); returns libVLC's playhead, if any."""
        t, seeking = self.seek_view(self.player.time_s())
        # Part of the measured state: at 2x playback needs twice the video's bitrate.
        self.rate = self.player.rate()
        if t is not None and state is not PlaybackState.STARTUP:
            media.last_position_s = t
        if now - self._last_device_at >= DEVICE_EVERY_S:
            self._sample_device(now, media, path)
            self._sample_traffic(now, media, gateway)
        g = gateway
        # For a progressive file the gateway can only estimate media time from bytes
        # (constant bitrate): too rough to call a freeze a glitch, so it is not used.
        delivered = (
            g.delivered_until_s() if g is not None and g.mode is not gw.Mode.PROGRESSIVE else None
        )
        sample = BufferSample(
            starving=g.starving() if g is not None else None,
            at=now,
            playhead_s=t if state is not PlaybackState.STARTUP or (t or 0) > 0 else None,
            delivered_media_s=delivered,
            frames_displayed=self.player.frames.distinct_frames,
            frames_dropped=self.frames_dropped,
            bytes_delivered=g.bytes_delivered() if g is not None else 0,
            seeking=seeking,
        )
        if g is not None:
            cur = g.current_rendition()
            if cur is not None and cur != media.current_rendition:
                media.current_rendition = cur
                rend = media.rendition(cur)
                if rend is not None:
                    media.monitor.on_rendition(rend.bandwidth, now)
        self._tracker.feed(media.monitor.feed(sample))
        self._policy.observe(media.monitor.buffer_ahead_s, media.current_rendition)
        self._tracker.refresh(now)
        if now - self._last_history_at >= HISTORY_EVERY_S:
            self._last_history_at = now
            rend = media.playing_rendition
            self.history.append(
                (
                    now,
                    media.monitor.buffer_ahead_s,
                    evidence.recent_throughput(media.fetches),
                    float(rend.bandwidth) if rend else None,
                )
            )
        return t

    def _sample_traffic(self, now: float, media: OpenMedia, gateway: GatewayLike | None) -> None:
        """One reading of the interface toward the video's server and the player's own
        bytes, only while the gateway fetches the video itself (when libVLC does, its bytes
        are not the player's count: the readings start again)."""
        fetching = (
            gateway is not None
            and media.per_segment_data
            and gateway.mode not in (gw.Mode.PENDING, gw.Mode.DIRECT)
        )
        reading = self._traffic.read() if fetching and self._traffic is not None else None
        if reading is None:
            self.host.clear()
            return
        self.host.add(
            now,
            reading.host_rx_bytes,
            reading.player_rx_bytes,
            reading.multicast_packets,
            reading.forwarding,
        )

    def _sample_device(self, now: float, media: OpenMedia, path: PathMonitorLike | None) -> None:
        self._last_device_at = now
        if path is not None:
            path.fit_budget(media.fetches.totals.bytes)
        cpu = self.cpu.sample()
        if cpu is not None:
            self.proc_cpu, self.sys_cpu = cpu
        stats = self.player.stats()
        self.frames_dropped = int(stats.get("lost_pictures", 0) or 0)
