"""Two onsets on one path, and a far hop's wobble behind a policer (realistic testbed).

On the realistic tree (tests/testbed/realistic.py: a 30 ms long haul, 1/3/6 Mbit/s, a
client at 50-100 % CPU) the spread fallback named the wrong segment twice:

* server network's queue (180 ms of swing from hop 5 on) behind an ISP hop that swung
  17 ms: the first, small rise took the blame ("delays grow inside the ISP");
* an access policer with a 16 ms wobble at the 70 ms hops past the long haul: "the
  server's network is congested" at confidence 0.23-0.26, now below the bar for naming
  anyone (NAMED_MIN_CONFIDENCE).

Hand-built evidence, pure (no I/O).
"""

from __future__ import annotations

from player.core import thresholds as T
from player.core.attribution import (
    attribute,
)
from player.core.model import Segment
from tests.core.path_cases import long_haul_path, realistic_input, weak_sign


def test_a_large_queue_behind_a_small_rise_is_the_bottleneck() -> None:
    v = attribute(realistic_input(long_haul_path((3, (0.0, 24.0)), (5, (0.0, 180.0)))))
    assert v.segment is Segment.SERVER, (v.rule, [e.text for e in v.evidence])
    alone = attribute(realistic_input(long_haul_path((5, (0.0, 180.0)))))
    assert alone.segment is Segment.SERVER
    assert v.confidence <= alone.confidence  # the lesser rise in front adds no certainty


def test_a_queue_carried_on_with_some_wobble_stays_where_it_starts() -> None:
    # the access link's queue, carried by every later hop with up to 2x its swing on top
    v = attribute(realistic_input(long_haul_path((2, (0.0, 120.0)), (5, (0.0, 60.0)))))
    assert v.segment is Segment.ISP, (v.rule, [e.text for e in v.evidence])


def test_the_first_rise_stays_when_no_later_one_dominates() -> None:
    v = attribute(realistic_input(long_haul_path((3, (0.0, 40.0)), (5, (0.0, 80.0)))))
    assert v.segment is Segment.ISP, (v.rule, [e.text for e in v.evidence])


def test_a_weak_sign_names_no_one_and_says_where_it_pointed() -> None:
    # the realistic tree's policer: a 16 ms wobble at the hops past the long haul, read from
    # few samples, with a contradicting hop: "the server's network" at 0.23-0.26 before
    v = attribute(weak_sign())
    assert v.segment is Segment.UNKNOWN, (v.rule, v.confidence, [e.text for e in v.evidence])
    assert v.rule == "unknown_weak" and v.confidence == 0.0
    assert any("weak sign pointed at" in e.text for e in v.evidence)
    assert "could not tell" in v.message.lower()


def test_the_same_sign_with_full_evidence_is_still_said() -> None:
    v = attribute(realistic_input(long_haul_path((5, (0.0, 24.0)), n=7)))
    assert v.segment is Segment.SERVER
    assert v.confidence >= T.NAMED_MIN_CONFIDENCE
