"""When the stall notice may appear and disappear: repeated stalls merge, never a storm.

Pure and clock-free (times are passed in). The rule:

- the band opens at most ``NOTICE_MAX_PER_WINDOW`` times in any ``NOTICE_WINDOW_S``;
- a stall that begins while the band is up joins it (same notice, one more stall);
- the band is hidden after a recovery only when a new stall could open it again, so
  every stall is still announced: during a storm the second band simply stays up.

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

    def may_hide(self, now: float) -> bool:
        """Hide the band now? Only if the next stall could open it again."""
        return self.has_room(now)

    def reset(self) -> None:
        self._opened.clear()
        self.openings = 0


def recently_stepped_down(step_downs: list[float], stall_started_at: float, now: float) -> bool:
    """Did the player step down a rendition shortly before the stall, or during it?"""
    return any(stall_started_at - T.STEP_DOWN_RECENT_S <= t <= now for t in step_downs)
