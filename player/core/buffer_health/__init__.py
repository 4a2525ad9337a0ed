"""Buffer-health model: playback samples -> states, stalls, glitches and QoE.

- ``events``: what the monitor reports (state changes, startup, stall and glitch events).
- ``signals``: pictures, playhead and buffer ahead, sample by sample.
- ``freezes``: the ongoing glitch or stall and the record of all of them.
- ``accounting``: time per state and the played bitrate (for QoE).
- ``machine``: the playback state and its transitions.
- ``monitor``: :class:`BufferHealthMonitor`, the inputs (samples, pause/seek/end) and QoE.
"""

from player.core.buffer_health.events import (
    Event,
    Glitch,
    GlitchEnded,
    GlitchStarted,
    StallEnded,
    StallStarted,
    StartupComplete,
    StateChanged,
)
from player.core.buffer_health.monitor import BufferHealthMonitor

__all__ = [
    "BufferHealthMonitor",
    "Event",
    "Glitch",
    "GlitchEnded",
    "GlitchStarted",
    "StallEnded",
    "StallStarted",
    "StartupComplete",
    "StateChanged",
]
