"""Routes.allow_segments (virtual mode names every segment of every rendition up front)
leaves the allowlist exactly as one Routes.allow per segment did, eviction included."""

from __future__ import annotations

import pytest

from player.net.gateway import routes as routes_mod
from player.net.gateway.ledger import MediaRun
from player.net.gateway.routes import Routes
from player.net.manifests import MediaSegment, UriRole


def segments(n: int, names: int, seq0: int = 0, path: str = "") -> list[MediaSegment]:
    """``n`` segments over ``names`` distinct URLs (repeats re-insert an entry)."""
    return [
        MediaSegment(seq0 + i, f"http://o.example/{path}s{i % names}.ts", 1.0 + i % 3, float(i))
        for i in range(n)
    ]


def allowlists(renditions: list[list[MediaSegment]]) -> tuple[list, list]:
    """The allowlist (in order) after allow() per segment, and after allow_segments()."""
    out = []
    for bulk in (False, True):
        r = Routes(lambda: "http://127.0.0.1:1/S")
        sess = r.new_session("http://o.example/master.m3u8", None, "m", MediaRun())
        r.allow(sess, "http://o.example/key.bin", UriRole.KEY)  # an older, other entry
        r.allow(sess, "http://o.example/s1.ts", UriRole.PART)  # to be re-inserted
        for i, segs in enumerate(renditions):
            if bulk:
                r.allow_segments(sess, i, segs)
            else:
                for s in segs:
                    r.allow(
                        sess, s.uri, UriRole.SEGMENT, rendition=i, seq=s.seq, duration=s.duration
                    )
        out.append(list(sess.allowed.items()))
    return out[0], out[1]


def test_allow_segments_is_allow_for_each_segment() -> None:
    renditions = [segments(2_345, 2_000), segments(1_200, 50, 7), segments(90, 90, 0, "v2/")]
    one_by_one, bulk = allowlists(renditions)
    assert bulk == one_by_one
    assert len(bulk) == 2 + 2_000 + 90  # the master, the key; rendition 1 renames rendition 0's


def test_allow_segments_evicts_as_allow_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes_mod, "MAX_ALLOWED", 700)  # small, so these segments pass it
    one_by_one, bulk = allowlists([segments(1_900, 1_900), segments(300, 300, seq0=5)])
    assert bulk == one_by_one
    assert len(bulk) <= 700 and ("http://o.example/key.bin" in dict(bulk))
