"""When the stall notice may appear and disappear: repeated stalls merge, never a storm.

Pure and clock-free (times are passed in). The rule:

- the band opens at most ``NOTICE_MAX_PER_WINDOW`` times in any ``NOTICE_WINDOW_S``;
- a stall that begins while the band is up joins it (same notice, one more stall);
- the band is always hidden ``NOTICE_LINGER_S`` after the recovery (gone within 3 s);
- a stall that begins while the band is down and the budget is spent opens no band (the
  window's status line still says "Buffering…"); it is counted in the next band's
  "Stalled N times in the last minute" (:class:`RecentStalls`).

Five stalls in a minute therefore produce at most two notices.
"""

from __future__ import annotations

from collections import deque

from player.core import thresholds as T


class NoticeBudget:
    """Counts the band's openings in the sliding window."""

    def __init__(
        self, max_per_window: int = T.NOTICE_MAX_PER_WINDOW, window_s: float = T.NOTICE_WINDOW_S
    ) -> None:
        self.max_per_window = max_per_window
        self.window_s = window_s
        self._opened: deque[float] = deque()
        self.openings = 0  # since the last reset

    def _trim(self, now: float) -> None:
        while self._opened and now - self._opened[0] >= self.window_s:
            self._opened.popleft()

    def has_room(self, now: float) -> bool:
        """May a new band open at ``now``?"""
        self._trim(now)
        return len(self._opened) < self.max_per_window

    def opened(self, now: float) -> None:
        self._trim(now)
        self._opened.append(now)
        self.openings += 1

    def reset(self) -> None:
        self._opened.clear()
        self.openings = 0


class RecentStalls:
    """When the stalls of the sliding window began: what "Stalled N times in the last
    minute" counts, whether or not each stall had a band of its own."""

    def __init__(self, window_s: float = T.NOTICE_WINDOW_S) -> None:
        self.window_s = window_s
        self._started: deque[float] = deque()

    def began(self, started_at: float) -> None:
        self._started.append(started_at)

    def count(self, now: float) -> int:
        """Stalls that began in the ``window_s`` up to ``now``."""
        while self._started and now - self._started[0] >= self.window_s:
            self._started.popleft()
        return len(self._started)

    def reset(self) -> None:
        self._started.clear()


def recently_stepped_down(step_downs: list[float], stall_started_at: float, now: float) -> bool:
    """Did the player step down a rendition shortly before the stall, or during it?"""
    return any(stall_started_at - T.STEP_DOWN_RECENT_S <= t <= now for t in step_downs)
