"""The evidence lines under a notice and in "Why?", and the culprit names, in plain words.

Attribution decides which facts are shown; this module only words them. Never an address:
hops are named by their position and organisation ("2nd hop (Verizon)").
"""

from __future__ import annotations

from collections.abc import Iterable

from player.core.model import Segment
from player.core.units import fmt_bitrate, fmt_ms, ordinal

# --- culprits (Verdict.culprit) -------------------------------------------------------
HOME_CULPRIT = "your home network"
DEVICE_CULPRIT = "this computer"
GENERIC_ISP = "your internet provider"  # the ISP when no hop names it
GENERIC_SERVER = "the video's server"
GENERIC_SERVER_NETWORK = "the video's network"

_SEGMENT_WORDS = {
    Segment.HOME_NETWORK: "your home network",
    Segment.ISP: "your provider's network",
    Segment.INTERCONNECT: "the link between networks",
    Segment.SERVER: "the server's network",
}
_PROBE_STATUS = {  # ProbeStatus value -> what went wrong
    "not_permitted": "hop probes not permitted",
    "silent": "no hop answered the probes",
    "not_run": "hop probes did not run",
}
TOO_FEW_ANSWERS = "too few hop answers to judge RTT inflation"
FLAT_PATH = "RTTs along the path stayed flat under load"


def isp_culprit(isp_org: str | None) -> str:
    return isp_org or GENERIC_ISP


def interconnect_culprit(isp_org: str | None, other: str | None) -> str:
    """'the link between Verizon and Netflix'."""
    return f"the link between {isp_culprit(isp_org)} and {other or GENERIC_SERVER_NETWORK}"


def server_culprit(server_name: str | None) -> str:
    return server_name or GENERIC_SERVER


def segment_words(seg: Segment) -> str:
    """'your provider's network', ...; 'an unidentified network' for anything else."""
    return _SEGMENT_WORDS.get(seg, "an unidentified network")


def hop_label(hop: int, org: str | None, *, home: bool) -> str:
    """'1st hop (home router)', '3rd hop (home network)', '2nd hop (Verizon)', '5th hop'."""
    base = f"{ordinal(hop)} hop"
    if home:
        return f"{base} (home router)" if hop == 1 else f"{base} (home network)"
    if org:
        return f"{base} ({org})"
    return base


def _range(lo: float, hi: float) -> str:
    """'12-40 ms'."""
    return f"{fmt_ms(lo).removesuffix(' ms')}-{fmt_ms(hi)}"


# --- hop RTTs -------------------------------------------------------------------------
def swing_line(label: str, p10_ms: float, p90_ms: float) -> str:
    return (
        f"RTT to {label} swung {_range(p10_ms, p90_ms)} under load"
        " (a queue; no idle time to compare)"
    )


def rise_line(label: str, idle_ms: float, loaded_ms: float) -> str:
    return f"RTT to {label} rose {fmt_ms(idle_ms)} -> {fmt_ms(loaded_ms)} under load"


def crowded_line(label: str, idle_ms: float, floor_ms: float, lo_ms: float, hi_ms: float) -> str:
    return (
        f"RTT to {label} already {fmt_ms(idle_ms)} while idle, over a {fmt_ms(floor_ms)} floor "
        f"(ranging {_range(lo_ms, hi_ms)})"
    )


def steady_suffix(label: str, rtt_ms: float) -> str:
    """Appended to an onset line: the last flat hop before it."""
    return f"; {label} steady at {fmt_ms(rtt_ms)}"


def carried_line(confirmed: int, later: int) -> str:
    return f"{confirmed} of {later} later answering hops show the same rise"


def behind_silent_line(silent_labels: Iterable[str], segments: Iterable[Segment]) -> str:
    """The queue cannot be placed: it starts behind hops that did not answer enough."""
    silent = ", ".join(silent_labels)
    names = " or ".join(sorted({segment_words(s) for s in segments}))
    return (
        f"the rise starts behind {silent or 'hops without enough answers'}: "
        f"the queue may be in {names}"
    )


def isolated_line(label: str, idle_ms: float, loaded_ms: float) -> str:
    return (
        f"RTT to {label} rose {fmt_ms(idle_ms)} -> {fmt_ms(loaded_ms)}"
        " but later hops did not: a router slow to answer, not a queue"
    )


# --- fetches, device, probes ----------------------------------------------------------
def throughput_line(bps: float, needed_bps: float | None) -> str:
    if needed_bps:
        return f"throughput {fmt_bitrate(bps)} vs {fmt_bitrate(needed_bps)} needed"
    return f"throughput {fmt_bitrate(bps)}"


def ttfb_line(ttfb_ms: float, rtt_ms: float | None) -> str:
    rtt = f"connect RTT {fmt_ms(rtt_ms)}" if rtt_ms else "no RTT measured"
    return f"time to first byte {fmt_ms(ttfb_ms)} with {rtt}"


def frames_line(dropped: int) -> str:
    return f"{dropped} pictures dropped while the buffer was healthy"


def cpu_line(system_pct: float | None, player_pct_of_machine: float | None) -> str:
    """'system CPU 97 %, player CPU 75 % of the machine' ('' when neither is known)."""
    parts = []
    if system_pct is not None:
        parts.append(f"system CPU {system_pct:.0f} %")
    if player_pct_of_machine is not None:
        parts.append(f"player CPU {player_pct_of_machine:.0f} % of the machine")
    return ", ".join(parts)


def probe_line(status: str, reason: str) -> str:
    """Why there is no hop evidence (``status``: a ProbeStatus value other than ok)."""
    what = _PROBE_STATUS[str(status)]
    return f"{what}: {reason}" if reason else what


def probe_degraded_line(reason: str) -> str:
    """Probes ran, but by a fallback method: which and why."""
    return f"hop probes degraded: {reason}"


# --- notes ----------------------------------------------------------------------------
def conflict_note(rival_doc: str, rival_segment: Segment) -> str:
    return f"conflicting evidence: also {rival_doc} ({segment_words(rival_segment)})"


def stalls_note(count: int, total: int) -> str:
    return f"{count} of {total} stalls point here"
