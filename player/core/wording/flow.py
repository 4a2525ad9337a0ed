"""The words for what the video flow's own TCP signals show (attribution.flow).

Each sentence says only what the flow showed: a queue somewhere on the video's path (not
where), a server whose data came slowly with no queue and no loss on the way (not why), a
rate limit that drops packets somewhere on the route (not whose). None names a network
segment.
"""

from __future__ import annotations

from player.core.units import fmt_bitrate, fmt_ms

FLOW_KIND = "flow"  # evidence kind of these lines

# (sure, soft) notice of the server_sends_slowly row, for wording.notices' template table
# (until it is registered there, the notice falls back to the server's generic sentence,
# which the row's soft confidence keeps at "seems to be responding slowly")
SENDS_SLOWLY_TEMPLATES = (
    "The video's server{paren} sends the video slowly; the network to it was not queueing.",
    "The video's server{paren} seems to send the video slowly; the network to it was not queueing.",
)

SENDS_SLOWLY_SENTENCE = (
    "The video's server seems to send the video slowly; the network to it was not queueing."
)
# the same for the "Why?" window's server box (wording.explain's heads are clauses)
SENDS_SLOWLY_HEAD = (
    "the video's server seems to send the video slowly; the network to it was not queueing"
)


def queued_line(floor_ms: float, rtt_ms: float, n_queued: int, n: int) -> str:
    """(a) 'this video's own data waited in a queue on the way: its round trip rose from
    1 ms to 300 ms while it downloaded (2 of 3 downloads)'."""
    return (
        "this video's own data waited in a queue on the way: its round trip rose from "
        f"{fmt_ms(floor_ms)} to {fmt_ms(rtt_ms)} while it downloaded "
        f"({n_queued} of {n} downloads)"
    )


def queued_part(floor_ms: float, rtt_ms: float) -> str:
    """(a) in the ruled-out line: a server that only sends slowly would not fill a queue."""
    return (
        "a server that only sends slowly (this video's own data queued on the way: its round "
        f"trip rose from {fmt_ms(floor_ms)} to {fmt_ms(rtt_ms)})"
    )


def flat_flow_part(rtt_ms: float) -> str:
    """(b) in the ruled-out line: the flow's own round trip shows no queue on its path."""
    return f"a queue on the video's path (its own round trip stayed at {fmt_ms(rtt_ms)})"


def sends_slowly_line(bps: float | None, needed_bps: float | None, bursts: bool) -> str:
    """(b) what the flow showed of a server that sends slowly into an empty network."""
    rate = (
        f" ({fmt_bitrate(bps)} vs {fmt_bitrate(needed_bps)} needed)" if bps and needed_bps else ""
    )
    if bursts:
        return (
            f"The video's server seems to send the video slowly, in bursts with pauses{rate}; "
            "the route to it answered steadily and no packet was lost on the way."
        )
    return (
        f"{SENDS_SLOWLY_SENTENCE} Its data came{rate} with the round trip at its lowest and "
        "no packet lost on the way."
    )


SENDS_SLOWLY_OPEN = (
    "not told apart: the server's own software and a limit in the server's network that "
    "does not queue; the data came slowly with no queue and no loss on the way"
)


def policed_line(bps: float | None, needed_bps: float | None, n: int) -> str:
    """(c) a plateau with losses and no queueing delay: a policer (or a lossy link), on no
    named segment."""
    rate = f" at about {fmt_bitrate(bps)}" if bps else ""
    need = f", below the {fmt_bitrate(needed_bps)} needed" if needed_bps else ""
    return (
        f"the video's data arrived at a steady rate{rate}{need}, with packets lost on the way "
        f"and no queueing delay ({n} downloads): a rate limit that drops packets (or a link "
        "that loses them), somewhere on the route: your provider, your home router or the "
        "server's network"
    )
