"""The play queue model (player/core/queue.py): pure, so every case runs without Qt or libVLC."""

from __future__ import annotations

from player.core.queue import PlayQueue


def sources(q: PlayQueue) -> list[str]:
    return [it.source for it in q.items]


def test_next_walks_the_items_in_order_and_stops_at_the_end() -> None:
    q = PlayQueue()
    assert q.enqueue(["a", "b", "c"]) is None  # queued, nothing to play yet
    assert q.current is None and q.has_next and not q.has_previous
    assert [q.next().source, q.next().source, q.next().source] == ["a", "b", "c"]
    assert not q.has_next
    assert q.next() is None  # the end: no wrap-around
    assert q.current.source == "c"  # the position stays on the last item
    assert q.previous().source == "b"


def test_previous_at_the_start_returns_none_and_keeps_the_position() -> None:
    q = PlayQueue()
    q.enqueue(["a", "b"])
    assert q.previous() is None  # nothing played yet
    assert q.next().source == "a"
    assert not q.has_previous
    assert q.previous() is None
    assert q.current.source == "a"
    assert q.has_next


def test_empty_queue() -> None:
    q = PlayQueue()
    assert q.next() is None and q.previous() is None and q.current is None
    assert not q.has_next and not q.has_previous
    assert q.enqueue(["", "  "], play_now=True) is None  # blank sources are not items
    assert len(q) == 0


def test_play_now_inserts_after_the_current_item_and_returns_the_first_new_one() -> None:
    q = PlayQueue()
    q.enqueue(["a", "b"], play_now=True)
    assert q.current.source == "a"
    item = q.enqueue(["x", "y"], play_now=True)
    assert item is not None and item.source == "x" and q.current == item
    assert sources(q) == ["a", "x", "y", "b"]
    assert [q.next().source, q.next().source] == ["y", "b"]  # what was queued still follows


def test_enqueue_while_playing_appends_without_changing_the_current_item() -> None:
    q = PlayQueue()
    first = q.enqueue(["a"], play_now=True)
    assert q.enqueue(["b", "c"]) is None
    assert q.current == first
    assert sources(q) == ["a", "b", "c"]
    assert q.next().source == "b"


def test_items_added_after_the_end_play_next() -> None:
    q = PlayQueue()
    q.enqueue(["a"], play_now=True)
    assert q.next() is None
    q.enqueue(["b"])
    assert q.has_next
    assert q.next().source == "b"


def test_remove_the_current_item_leaves_the_position_between_its_neighbours() -> None:
    q = PlayQueue()
    q.enqueue(["a", "b", "c"])
    q.next()
    b = q.next()
    assert q.remove(b.id)
    assert q.current is None and q.current_index is None
    assert sources(q) == ["a", "c"]
    assert q.has_next and q.has_previous
    assert q.next().source == "c"
    # and the other way round
    q2 = PlayQueue()
    q2.enqueue(["a", "b", "c"])
    q2.next()
    q2.remove(q2.next().id)
    assert q2.previous().source == "a"


def test_remove_the_last_current_item_then_previous_and_next() -> None:
    q = PlayQueue()
    q.enqueue(["a", "b"])
    q.next()
    q.remove(q.next().id)
    assert not q.has_next and q.has_previous
    assert q.next() is None
    assert q.previous().source == "a"


def test_remove_before_the_current_item_keeps_the_current_item() -> None:
    q = PlayQueue()
    q.enqueue(["a", "b", "c"])
    a = q.next()
    q.next()
    assert q.remove(a.id)
    assert q.current.source == "b" and q.current_index == 0
    assert not q.remove(a.id)  # already gone
    assert q.next().source == "c"


def test_select_by_id_survives_edits_and_clear_resets() -> None:
    q = PlayQueue()
    q.enqueue(["a", "a", "b"])  # the same source twice is two items
    ids = [it.id for it in q.items]
    assert len(set(ids)) == 3
    q.remove(ids[0])
    assert q.select(ids[2]).source == "b"
    assert q.current_index == 1
    assert q.select(ids[0]) is None  # removed
    q.clear()
    assert len(q) == 0 and q.current is None and q.next() is None
    q.enqueue(["z"])
    assert q.next().source == "z"
