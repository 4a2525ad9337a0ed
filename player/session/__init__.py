"""One viewing session: wires playback, the gateway, the buffer model, ABR, path
probing and attribution; emits plain events.

Threading: a Session is owned by one thread (the GUI thread, or the headless
``diagnose`` loop) that calls :meth:`Session.tick` about 20 times a second. Blocking
work (preflight HTTP requests, file sniffing, the gateway's fetches, path probing)
runs in named worker threads that hand their results back through queues read in
``tick``. libVLC events arrive through the player's own queue. The only code run on
another thread is the rendition policy (the gateway's ``rendition_chooser``, under one
lock) and the prober's ``is_loaded``. Nothing here imports Qt. The GUI and ``diagnose``
drive this same class, so the window's notice and the CLI's verdict never disagree.

The :class:`Session` facade is small; each job has its part:

``events``            the events, the snapshot and the stats view; the event sink
``media``             the record of one open (replaced on every open)
``factories``         gateway, path monitor, CPU sampler, preflight, clock, threads (fakeable)
``opening``           open/teardown order, the generation counter, the network parts
``lifecycle``         libVLC events -> playing / ended / ended early / failed
``rendition_policy``  ABR + pin + buffer level under one lock (the gateway thread's door)
``network_events``    the gateway's events -> fetches, renditions, stream notes
``sampling``          one heartbeat's measurements (buffer sample, CPU, stats history)
``stall_tracker``     stalls, verdict refresh, latencies, notice linger
``metrics``           QoE, stats, report and fetch summary, without side effects
``headless``          the plain loop ``diagnose``, the benchmarks and the tests play with

Evidence assembly for a verdict is pure and lives in :mod:`player.core.evidence`; the
session's sentences live in :mod:`player.core.wording.playback`.
"""

from player.session.events import (
    CertificateUnverified,
    Ended,
    EndedEarly,
    MediaInfo,
    NoticeChanged,
    Opening,
    PlaybackFailed,
    RenditionsKnown,
    SessionEvent,
    Snapshot,
    StallBegan,
    StallFinished,
    StateChanged,
    StatsView,
    StreamNote,
)
from player.session.facade import Session
from player.session.factories import SessionFactories
from player.session.media import is_url, title_for

# The marker the testbed harness waits for (attribution is wired into diagnose).
ATTRIBUTION_WIRED = True

__all__ = [
    "ATTRIBUTION_WIRED",
    "CertificateUnverified",
    "Ended",
    "EndedEarly",
    "MediaInfo",
    "NoticeChanged",
    "Opening",
    "PlaybackFailed",
    "RenditionsKnown",
    "Session",
    "SessionEvent",
    "SessionFactories",
    "Snapshot",
    "StallBegan",
    "StallFinished",
    "StateChanged",
    "StatsView",
    "StreamNote",
    "is_url",
    "title_for",
]
