"""Words for this computer's other traffic (core.host_traffic): evidence lines and the
sentence of a full connection's notice that says what may fill it. "Received", never
"downloaded from the internet": the interface counts a LAN transfer as well."""

from __future__ import annotations

from collections.abc import Sequence

from player.core import thresholds as T
from player.core.model import Evidence
from player.core.units import fmt_bitrate

BUSY_KIND = "host_busy"  # evidence kind: this computer received much besides the video
QUIET_KIND = "host_quiet"  # evidence kind: it received little besides the video
KINDS = (BUSY_KIND, QUIET_KIND)

# The sentence after "Your connection to {isp} is full right now." by what was measured:
# unmeasured, the three usual fillers; this computer quiet, the two that remain; busy, the
# measured fact (other devices may add to it, unseen).
OTHERS_UNMEASURED = (
    "It may be other devices at home, other downloads on this computer or a limit set in your "
    "router."
)
OTHERS_QUIET = "It may be other devices at home or a limit set in your router."


def others_busy(other_bps: float) -> str:
    """The measured fact, and that it need not be all (other devices are not seen)."""
    return (
        f"This computer was also receiving other data ({fmt_bitrate(other_bps)} besides this "
        "video); other devices at home or a limit set in your router may add to it."
    )


def busy_short(other_bps: float) -> str:
    return f"This computer was also receiving other data ({fmt_bitrate(other_bps)} besides this video)."


def evidence_line(kind: str, other_bps: float, window_s: float) -> Evidence:
    """The technical line for the report and "Why?"."""
    text = (
        f"the network interface toward the video's server received {fmt_bitrate(other_bps)} "
        f"besides this video over the {window_s:.0f} s before the stall"
    )
    return Evidence(kind, text, other_bps)


def quiet_part(other_bps: float) -> str:
    """A ruled-out item: this computer's other downloads."""
    amount = (
        "next to nothing"
        if other_bps < T.HOST_NEXT_TO_NOTHING_BPS
        else f"only {fmt_bitrate(other_bps)}"
    )
    return f"other downloads on this computer ({amount} besides this video)"


BUSY_MISSING = "this computer was receiving other data, so no time was idle"

ACCESS_OPEN_QUIET = (
    "not told apart: this video's download and other devices at home share the connection "
    "to {isp} (their traffic was not measured; this computer's other downloads were, and were "
    "small), and a router that limits incoming traffic queues it the same way"
)
ACCESS_OPEN_BUSY = (
    "not told apart: this video's download, this computer's other traffic (measured) and "
    "other devices at home (not measured) share the connection to {isp}, and a router that "
    "limits incoming traffic queues it the same way"
)


def busy_sentence(evidence: Sequence[Evidence], *, short: bool = False) -> str:
    """'This computer was also receiving ...' when the evidence measured it busy, else ''."""
    for e in evidence:
        if e.kind == BUSY_KIND and e.value:
            return busy_short(e.value) if short else others_busy(e.value)
    return ""


def others_sentence(evidence: Sequence[Evidence]) -> str:
    """The notice's "what may fill it" sentence for a verdict's evidence."""
    if busy := busy_sentence(evidence):
        return busy
    if any(e.kind == QUIET_KIND for e in evidence):
        return OTHERS_QUIET
    return OTHERS_UNMEASURED


def plain(e: Evidence) -> str:
    """The viewer's line for a host evidence item ('' for others)."""
    if e.kind == BUSY_KIND and e.value:
        return f"This computer was also receiving other data at {fmt_bitrate(e.value)}."
    if e.kind == QUIET_KIND:
        return "This computer received little besides this video."
    return ""
