"""Turns a session's events into history rows (runs on the session owner's thread).

Only cheap work happens here: it reads the session's report (in memory) and queues writes
on the :class:`~player.store.history.HistoryStore` writer thread. A session row is written
at ``Opening``; a stall row at ``StallBegan`` (so a crash mid-stall still leaves it) and
updated with its verdict and length as they become known; the session row is refreshed at
each stall's end, every :data:`UPDATE_EVERY_S` while playing, and at the end.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from player.core.model import Segment, SessionReport
from player.core.redact import redact_source
from player.core.wording.notices import evidence_summary, notice_text
from player.report.json import to_json
from player.session.events import (
    Ended,
    EndedEarly,
    NoticeChanged,
    Opening,
    PlaybackFailed,
    SessionEvent,
    StallBegan,
    StallFinished,
)
from player.store.history import HistoryStore

log = logging.getLogger(__name__)

UPDATE_EVERY_S = 10.0  # a crash loses at most this much of a session's duration and QoE


class ReportSource(Protocol):
    def report(self) -> SessionReport: ...


def network_names(report: SessionReport) -> tuple[str | None, str | None]:
    """(the ISP's name, the video's network name) from the named hops of the path."""
    isp = next((h.org for h in report.path if h.segment is Segment.ISP and h.org), None)
    far = [h.org for h in report.path if h.org and h.segment in (Segment.SERVER, Segment.INTERCONNECT)]
    return isp, (far[-1] if far else None)


def session_fields(report: SessionReport, duration_s: float) -> dict[str, Any]:
    q = report.qoe
    isp, video_network = network_names(report)
    verdict = report.verdict.segment.value if report.stalls else None
    return {
        "duration_s": round(duration_s, 2),
        "stall_count": q.stall_count,
        "stall_s": round(q.stall_s, 2),
        "startup_s": q.startup_s,
        "rebuffer_ratio": q.rebuffer_ratio,
        "bitrate_kbps": q.avg_bitrate_kbps,
        "throughput_kbps": report.fetches.get("throughput_kbps_median"),
        "isp": isp,
        "video_network": video_network,
        "verdict": verdict,
        "report_json": _report_json(report),
    }


def _report_json(report: SessionReport) -> str | None:
    try:
        data = to_json(report)
        data["url"] = redact_source(report.url)[1]  # no query strings or tokens at rest
        return json.dumps(data)
    except Exception:  # noqa: BLE001 - the history row matters more than the blob
        log.exception("could not serialise the session report")
        return None


class HistoryRecorder:
    """Feeds one window's sessions into the history."""

    def __init__(
        self,
        store: HistoryStore,
        session: ReportSource,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.session = session
        self.wall = wall
        self.clock = clock
        self.sid: str | None = None
        self._started_wall = 0.0
        self._started_mono = 0.0
        self._last_update = 0.0
        self._stall_index = -1

    def on_event(self, ev: SessionEvent) -> None:
        try:
            self._on_event(ev)
        except Exception:  # recording must never break playback
            log.exception("history recorder failed on %s", type(ev).__name__)

    def _on_event(self, ev: SessionEvent) -> None:
        if isinstance(ev, Opening):
            if self.sid is not None:  # the owner did not finish() it: the report is the new one's now
                self.store.update_session(self.sid, ended=1)
            self._started_wall, self._started_mono = self.wall(), self.clock()
            self._last_update = self._started_mono
            self._stall_index = -1
            self.sid = self.store.start_session(started_at=self._started_wall, source=ev.source, title=ev.title)
            return
        if self.sid is None:
            return
        if isinstance(ev, StallBegan):
            self._stall_index += 1
            self.store.put_stall(
                self.sid, self._stall_index, started_at=self.wall(), segment=Segment.UNKNOWN.value
            )
            self.store.update_session(self.sid, stall_count=self._stall_index + 1)
        elif isinstance(ev, NoticeChanged) and ev.verdict is not None and self._stall_index >= 0:
            v = ev.verdict
            self.store.put_stall(
                self.sid,
                self._stall_index,
                segment=v.segment.value,
                confidence=round(v.confidence, 3),
                headline=notice_text(v, adjusting=False),
                evidence=evidence_summary(v),
            )
        elif isinstance(ev, StallFinished) and self._stall_index >= 0:
            self.store.put_stall(self.sid, self._stall_index, duration_s=round(ev.duration_s, 2))
            self.update()
        elif isinstance(ev, (Ended, EndedEarly, PlaybackFailed)):
            self.update(ended=True)

    def tick(self) -> None:
        """Called by the owner now and then: refresh the row every UPDATE_EVERY_S."""
        if self.sid is not None and self.clock() - self._last_update >= UPDATE_EVERY_S:
            self.update()

    def update(self, ended: bool = False) -> None:
        """Write the session's numbers and every stall's verdict as the report says now."""
        if self.sid is None:
            return
        self._last_update = self.clock()
        report = self.session.report()
        fields = session_fields(report, self.clock() - self._started_mono)
        if ended:
            fields["ended"] = 1
        self.store.update_session(self.sid, **fields)
        for i, stall in enumerate(report.stalls):
            extra: dict[str, Any] = {"started_at": self._started_wall + stall.start_s}
            if stall.duration_s is not None:
                extra["duration_s"] = round(stall.duration_s, 2)
            if stall.verdict is not None:
                extra.update(
                    segment=stall.verdict.segment.value,
                    confidence=round(stall.verdict.confidence, 3),
                    headline=notice_text(stall.verdict, adjusting=False),
                    evidence=evidence_summary(stall.verdict),
                )
            self.store.put_stall(self.sid, i, **extra)

    def finish(self) -> None:
        """The current session is over (another open, or the window closes)."""
        if self.sid is not None:
            self.update(ended=True)
            self.sid = None
