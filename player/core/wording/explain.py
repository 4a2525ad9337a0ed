"""The sentences of the "Why?" window: the path's parts, their state, what was ruled out.

Plain words for a person who is not a network engineer: no probe names, no addresses, no
"RTT" or "TTL". Every number goes through :mod:`player.core.units`.
"""

from __future__ import annotations

from player.core import thresholds as T
from player.core.model import Segment
from player.core.units import fmt_bitrate, fmt_ms
from player.core.wording import playback as say

FINE = "fine"
SUSPECT = "suspect"
NOT_MEASURED = "not measured"

# The five parts in the order of the path, with the name a box on the drawing carries.
PART_LABELS = {
    Segment.DEVICE: "This computer",
    Segment.HOME_NETWORK: "Home network / Wi-Fi",
    Segment.ISP: "Internet provider",
    Segment.INTERCONNECT: "Between networks",
    Segment.SERVER: "Video server",
}
# What was ruled out, in the words of the list Verizon's 2014 letter said a notice could
# not have checked (Wi-Fi and home network, the device, the ISP, the interconnect, the server).
RULED_OUT_LABELS = {
    Segment.HOME_NETWORK: "Wi-Fi and home network",
    Segment.DEVICE: "This computer's decoding",  # what its numbers measure, not its traffic
    Segment.ISP: "Your internet provider",
    Segment.INTERCONNECT: "The link between networks",
    Segment.SERVER: "The video's server",
}
RULED_OUT_STATUS = {FINE: "ruled out", SUSPECT: "suspected", NOT_MEASURED: "not checked"}
# What the verdict's rule lets a row say instead (each no firmer than the notice's sentence):
# isp_access: the connection to the ISP is full, by traffic that was not measured, so home
# shows only that no queue is inside it; isp_core: a queue inside the ISP, cause not settled.
FULL = "full"
FULL_SOFT = "probably full"
NOT_SETTLED = "not settled"
NO_QUEUE = "no queue here"

HOME_ROUTER = "your router"
HOME_DEVICE = "a device in your home"
UNNAMED_ROUTER = "a router"
SILENT_ROUTER = "(did not answer)"
UNKNOWN_NETWORK = "unknown network"

# -- why a part was not measured ---------------------------------------------------------
NOT_PERMITTED = "this system does not allow the checks we use to time the route"
NO_ANSWER = "no router on the route answered our checks"
CHECKS_OFF = "network checks are switched off in the settings"
LOCAL_MEDIA = "the video is a file on this computer: there is no network to check"
DISCOVERING = "the route is still being found"
NOT_RUN = "the route was not checked"
NOT_ON_ROUTE = "none of the routers on the route belongs to this part"
SAME_COMPUTER = (
    "the video's server is on this computer (loopback): this part is not on the route to it, "
    "though what that server relays from (a port-forward, a local proxy or VPN client) was "
    "not measured"
)
PART_SILENT = "the routers of this part did not answer"
NO_DEVICE_NUMBERS = "no pictures have been shown yet"
NO_DOWNLOAD = "no download has finished yet"
_BY_REASON = {say.PROBE_OFF: CHECKS_OFF, say.PROBE_LOCAL_MEDIA: LOCAL_MEDIA, say.PROBE_DISCOVERING: DISCOVERING}


def not_measured_reason(probe_status: str, probe_reason: str) -> str:
    """Why the route's parts could not be timed, from the probe layer's status and reason."""
    if probe_status == "not_permitted":
        return NOT_PERMITTED
    if probe_status == "silent":
        return NO_ANSWER
    return _BY_REASON.get(probe_reason, NOT_RUN)


TINY_MS = 0.1  # below this a round trip is this computer talking to itself: not "0 ms"


def ms(value: float) -> str:
    """A duration in milliseconds; never "0 ms" for a measured, very short one."""
    if 0 <= value < TINY_MS:
        return f"under {fmt_ms(TINY_MS)}"
    return f"{value / 1000:.1f} s" if value >= 1000 else fmt_ms(value)


# -- what a part's numbers say -------------------------------------------------------------
def rose_reason(idle_ms: float, loaded_ms: float) -> str:
    return f"its delay rose from {ms(idle_ms)} to {ms(loaded_ms)} while the video downloaded"


def steady_reason(idle_ms: float | None, loaded_ms: float | None) -> str:
    if idle_ms is not None and loaded_ms is not None:
        return f"its delay stayed steady ({ms(idle_ms)} quiet, {ms(loaded_ms)} while downloading)"
    value = idle_ms if idle_ms is not None else loaded_ms
    return f"it answered in {ms(value)} with no sign of a queue" if value is not None else "it answered"


def carried_reason(idle_ms: float, loaded_ms: float) -> str:
    return (
        f"its delay rose ({ms(idle_ms)} to {ms(loaded_ms)}), but the rise starts earlier on "
        "the route and is only carried through here"
    )


BLAMED = "the slowdown starts here"
BLAMED_SOFT = "the slowdown seems to start here, but the evidence is thin"
# the rules whose verdict says more (or less) than "starts here", in their own words
ACCESS_BOX = "Connection to your provider"
ACCESS_CAUSES = (
    "what fills it (other devices at home, this computer's other downloads, a limit set in "
    "your router or the line itself) was not measured"
)
CORE_HEAD = "delays grew inside this network, beyond your connection to it"
CORE_HEAD_SOFT = "delays seem to grow inside this network, beyond your connection to it"
CORE_TAIL = "what causes them is not settled"
LINK_BLAMED = (
    "the slowdown starts at or just past the link between the networks (the border is read "
    "from router names)"
)
LINK_BLAMED_SOFT = (
    "the slowdown seems to start at or just past the link between the networks (the border "
    "is read from router names)"
)
SERVER_LOCAL = (
    "the video's server on this computer, or whatever it relays from (a port-forward, a local "
    "proxy or VPN client), sent less than the video needs"
)
SERVER_LOCAL_SOFT = (
    "the video's server on this computer, or whatever it relays from (a port-forward, a local "
    "proxy or VPN client), seems to send less than the video needs"
)


def access_label(isp: str | None) -> str:
    """'Your connection to Verizon' (a ruled-out row's label for the access link)."""
    return f"Your connection to {isp}" if isp else "Your internet connection"


def access_full(isp: str | None, soft: bool) -> str:
    """'your connection to Verizon is full' (the cause: :data:`ACCESS_CAUSES`)."""
    where = access_label(isp)
    return f"{where[:1].lower()}{where[1:]} {'seems to be full' if soft else 'is full'}"


def home_no_queue(reason: str) -> str:
    """A flat home network under an access-link verdict: no queue inside it, but its devices'
    traffic (which may be what fills the connection) was not measured."""
    return (
        f"no queue inside your home network: {reason}; but the traffic of its other devices was "
        "not measured and may be what fills your connection"
    )
UNSURE_RISE = "its delay rose while the video downloaded, though not clearly enough to blame it"


def device_fine(dropped: int, cpu_pct: float | None) -> str:
    pictures = "no pictures dropped" if dropped == 0 else f"only {dropped} pictures dropped"
    if cpu_pct is not None and cpu_pct >= T.CPU_SATURATED_PCT:
        return f"the processor was busy ({cpu_pct:.0f} %), yet {pictures}: it kept up with the video"
    if cpu_pct is None:
        return f"{pictures}: it kept up with the video"
    return f"{pictures}, processor at {cpu_pct:.0f} %: it kept up with the video"


def device_suspect(dropped: int, cpu_pct: float | None) -> str:
    cpu = "" if cpu_pct is None else f", processor at {cpu_pct:.0f} %"
    return f"it dropped {dropped} pictures while enough video was buffered{cpu}"


def server_fine(ttfb_ms: float) -> str:
    return f"it answered requests in {ms(ttfb_ms)}"


def server_slow(ttfb_ms: float) -> str:
    return f"it took {ms(ttfb_ms)} to start sending, which is slow"


# -- throughput and the first byte ---------------------------------------------------------
def throughput_sentence(bps: float | None, needed_bps: float | None) -> str:
    if bps is None:
        return "No download has been timed yet."
    if needed_bps is None or needed_bps <= 0:
        return f"Downloads ran at {fmt_bitrate(bps)}."
    share = bps / needed_bps
    if share < 1:
        return (
            f"Downloads ran at {fmt_bitrate(bps)}; the video needs {fmt_bitrate(needed_bps)}: "
            f"only {share * 100:.0f} % of it."
        )
    return f"Downloads ran at {fmt_bitrate(bps)}; the video needs {fmt_bitrate(needed_bps)} ({share:.1f}x enough)."


def ttfb_sentence(ttfb_ms: float | None, connect_ms: float | None, all_reused: bool) -> str:
    """Time to first byte; a reused connection has no connect time (never "0 ms")."""
    if ttfb_ms is None:
        return "No request has been answered yet."
    first = f"The server started sending {ms(ttfb_ms)} after each request"
    if connect_ms is not None:
        return f"{first}; connecting to it took {ms(connect_ms)}."
    if all_reused:
        return f"{first}, on a connection already open (so there is no connect time to compare)."
    return f"{first}."


# -- the verdict in words --------------------------------------------------------------------
NO_STALL = "No stall so far: there is nothing to explain."
NOTHING_NAMED = "We could not tell which part is to blame."


def confidence_words(segment: Segment, confidence: float) -> str:
    """How sure the verdict is, in words (thresholds.CONFIDENCE_FAIRLY_SURE, SOFT_CONFIDENCE)."""
    if segment is Segment.NONE:
        return "nothing to judge"
    if segment is Segment.UNKNOWN or confidence <= 0:
        return "could not tell"
    if confidence >= T.CONFIDENCE_FAIRLY_SURE:
        return "fairly sure"
    if confidence >= T.SOFT_CONFIDENCE:
        return "probably"
    return "not sure"


def confidence_sentence(segment: Segment, confidence: float) -> str:
    words = confidence_words(segment, confidence)
    if segment is Segment.NONE:
        return "Confidence: nothing to judge, playback has not stalled."
    if words == "could not tell":
        return "Confidence: we could not tell, so no part is blamed."
    return f"Confidence: {words} ({confidence * 100:.0f} %)."
