"""The play queue: an ordered list of sources and where playback is in it (pure, no Qt).

The position is either *on* an item (the one playing, or the one that played last) or
*between* items (before the first, or where the current item was removed): ``next`` then
plays the item after the position, ``previous`` the one before it. The end of the queue
is not a wrap-around: ``next`` on the last item returns None and the position stays, so
``previous`` still works and items added later play next.

Each item has an id that stays the same while items around it are added or removed, so
a view can say which row is which after an edit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

# How long an item may make no progress (stalled, or still starting) before the queue
# gives up on it and plays the next one. A minute: the stall notice and its verdict come
# within seconds, a viewer who wants to wait longer can press Previous, and an unattended
# queue (a playlist running in the background) must not hang on one dead stream for ever.
STALL_GIVE_UP_S = 60.0


@dataclass(frozen=True, slots=True)
class QueueItem:
    source: str
    id: int


@dataclass(slots=True)
class PlayQueue:
    """Items and a position; every command returns the item to play now (or None)."""

    _items: list[QueueItem] = field(default_factory=list)
    _index: int = 0  # on an item: its index; between items: the index of the one after
    _on_item: bool = False
    _ids: itertools.count = field(default_factory=itertools.count)

    # -- views --------------------------------------------------------------------------
    @property
    def items(self) -> tuple[QueueItem, ...]:
        return tuple(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def current(self) -> QueueItem | None:
        return self._items[self._index] if self._on_item else None

    @property
    def current_index(self) -> int | None:
        return self._index if self._on_item else None

    def _next_index(self) -> int:
        return self._index + 1 if self._on_item else self._index

    @property
    def has_next(self) -> bool:
        return self._next_index() < len(self._items)

    @property
    def has_previous(self) -> bool:
        return 0 <= self._index - 1 < len(self._items)

    # -- commands -----------------------------------------------------------------------
    def enqueue(self, sources: Iterable[str], play_now: bool = False) -> QueueItem | None:
        """Add ``sources`` (blank ones skipped). Without ``play_now`` they go to the end;
        with it they go right after the position and the first of them is returned to
        play now (the queued items after it follow them)."""
        new = [QueueItem(s, next(self._ids)) for s in (s.strip() for s in sources) if s]
        if not new:
            return None
        if not play_now:
            self._items.extend(new)
            return None
        at = self._next_index()
        self._items[at:at] = new
        return self._go(at)

    def next(self) -> QueueItem | None:
        """The item after the position, now current; None at the end (position kept)."""
        at = self._next_index()
        return self._go(at) if at < len(self._items) else None

    def previous(self) -> QueueItem | None:
        """The item before the position, now current; None at the start (position kept)."""
        at = self._index - 1
        return self._go(at) if 0 <= at < len(self._items) else None

    def select(self, item_id: int) -> QueueItem | None:
        """Make the item with ``item_id`` current (a double-click in the panel)."""
        at = self._find(item_id)
        return self._go(at) if at is not None else None

    def remove(self, item_id: int) -> bool:
        """Remove one item. Removing the current one leaves the position between its
        neighbours (what plays on stays as it is; ``next`` plays the item after it)."""
        at = self._find(item_id)
        if at is None:
            return False
        del self._items[at]
        if at < self._index:
            self._index -= 1
        elif at == self._index and self._on_item:
            self._on_item = False  # between the neighbours: _index names the one after
        return True

    def clear(self) -> None:
        self._items.clear()
        self._index, self._on_item = 0, False

    # -- internals ----------------------------------------------------------------------
    def _go(self, at: int) -> QueueItem:
        self._index, self._on_item = at, True
        return self._items[at]

    def _find(self, item_id: int) -> int | None:
        return next((i for i, it in enumerate(self._items) if it.id == item_id), None)
