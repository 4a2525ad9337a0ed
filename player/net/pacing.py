"""Long pure-Python loops on network threads give the GIL away every few milliseconds.

A thread that runs Python without blocking keeps the GIL until another thread has waited
for it a whole switch interval (5 ms), and the GUI thread waits that long each time it
takes the GIL back: it releases and retakes it dozens of times a turn of its event loop
(every call into libVLC through ctypes, every Qt slot, every sleep), so one gateway thread
reading a 50 000-segment playlist made the window's heartbeat 50-200 ms late (issue 12).
A loop over every segment of a playlist calls a :class:`Pacer` once an item: every
``SLICE_S`` of work it sleeps for a moment, which hands the GIL to a waiting thread at once
(``time.sleep(0)`` would not: the sleeper may take the GIL back before the waiter wakes).
"""

from __future__ import annotations

import time

# Work between two pauses: under the 5 ms switch interval, so a GUI thread waiting for the
# GIL gets it sooner than the interpreter would hand it over.
SLICE_S = 0.002
# Long enough for a waiting thread to be scheduled (a woken thread may wait for a core on a
# loaded machine), take the GIL and make its short Python calls: on the 50 000-segment
# fault (2 shared cores) a 0.1 ms pause left the heartbeat's p99 at 38-109 ms, 1 ms at
# 22-76 ms. The cost is wall time, not CPU: a paced loop takes ~1.5x as long (+~0.5 s
# before a 2 x 50 000-segment master plays).
PAUSE_S = 0.001


class Pacer:
    """``pace()`` once per item of a long loop: pauses every SLICE_S (see module doc)."""

    __slots__ = ("_next", "_slice_s")

    def __init__(self, slice_s: float = SLICE_S) -> None:
        self._slice_s = slice_s
        self._next = time.monotonic() + slice_s

    def __call__(self) -> None:
        if time.monotonic() >= self._next:
            time.sleep(PAUSE_S)
            self._next = time.monotonic() + self._slice_s
