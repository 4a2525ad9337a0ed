"""The evidence lines under a notice and in "Why?", and the culprit names, in plain words.

Attribution decides which facts are shown; this module only words them. Never an address:
hops are named by their position and organisation ("2nd hop (Verizon)").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from player.core.model import Evidence, Segment, Verdict
from player.core.units import SUB_RESOLUTION_MS, fmt_bitrate, fmt_ms, ordinal
from player.core.wording import host
from player.core.wording import playback as pb  # the probe reasons' own words

# --- culprits (Verdict.culprit) -------------------------------------------------------
HOME_CULPRIT = "your home network"
DEVICE_CULPRIT = "this computer"
DEVICE_DECODING = "this computer's decoding"  # what the device numbers measure (not its traffic)
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
_FALLBACK = "hop probes used a fallback method"
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


_SEGMENT_LABELS = {  # a segment as a short label (the screenshot card's "Culprit" line)
    Segment.DEVICE: "this computer",
    Segment.HOME_NETWORK: "home network",
    Segment.ISP: "internet provider",
    Segment.INTERCONNECT: "link between networks",
    Segment.SERVER: "video server",
    Segment.UNKNOWN: "not identified",
}


def segment_label(seg: Segment) -> str:
    """'video server', 'home network', ..., 'not identified' ('' for none)."""
    return _SEGMENT_LABELS.get(seg, "")


def hop_label(hop: int, org: str | None, *, home: bool) -> str:
    """'1st hop (home router)', '3rd hop (home network)', '2nd hop (Verizon)', '5th hop'."""
    base = f"{ordinal(hop)} hop"
    if home:
        return f"{base} (home router)" if hop == 1 else f"{base} (home network)"
    if org:
        return f"{base} ({org})"
    return base


def _range(lo: float, hi: float) -> str:
    """'12-40 ms', '0-23 ms' (a low end under 0.1 ms reads as 0), 'under 0.1 ms'."""
    if hi < SUB_RESOLUTION_MS:
        return fmt_ms(hi)
    low = "0 ms" if lo < SUB_RESOLUTION_MS else fmt_ms(lo)
    return f"{low.removesuffix(' ms')}-{fmt_ms(hi)}"


# --- hop RTTs -------------------------------------------------------------------------
_SWING_MARK = "swung"  # in swing_line: how _plain tells the lines apart
_IDLE_MARK = "while idle"  # in crowded_line


def shows_idle_queue(text: str) -> bool:
    """Whether a hop line is a :func:`crowded_line` (a queue measured while idle)."""
    return _IDLE_MARK in text


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


# --- playback speed ---------------------------------------------------------------------
SPEED_KIND = "speed"  # the evidence line saying the player plays faster than normal


def rate_text(rate: float) -> str:
    """'2×', '1.5×', '1.25×'."""
    return f"{rate:g}\u00d7"


def speed_line(rate: float) -> str:
    """'Playing at 2× needs 2× the video's bitrate' (evidence kind SPEED_KIND, value rate)."""
    r = rate_text(rate)
    return f"Playing at {r} needs {r} the video's bitrate"


def verdict_rate(verdict: Verdict) -> float | None:
    """The faster-than-normal rate a verdict was made at (its speed line), else None."""
    for e in verdict.evidence:
        if e.kind == SPEED_KIND and e.value:
            return e.value
    return None


# --- fetches, device, probes ----------------------------------------------------------
def throughput_line(bps: float, needed_bps: float | None) -> str:
    if needed_bps:
        return f"throughput {fmt_bitrate(bps)} vs {fmt_bitrate(needed_bps)} needed"
    return f"throughput {fmt_bitrate(bps)}"


def ttfb_line(ttfb_ms: float, rtt_ms: float | None) -> str:
    """A reused connection has no connect time: never 'connect RTT 0 ms'."""
    if rtt_ms is None or rtt_ms <= 0:
        rtt = "no RTT measured"
    elif rtt_ms < 1:
        rtt = "connect RTT under 1 ms"
    else:
        rtt = f"connect RTT {fmt_ms(rtt_ms)}"
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


def plain_probe(text: str) -> str:
    """A "probe" evidence line in a viewer's words: what could not be measured, never how
    ('' for probes that ran by a fallback method: nothing is missing then)."""
    if text.startswith(_PROBE_STATUS["not_permitted"]):
        return PLAIN_NOT_PERMITTED
    if text.startswith(_PROBE_STATUS["silent"]):
        return PLAIN_SILENT
    if text.startswith(_FALLBACK):
        return ""
    if text == TOO_FEW_ANSWERS:
        return PLAIN_TOO_FEW
    for reason, plain in (
        (pb.PROBE_OFF, PLAIN_OFF),
        (pb.PROBE_LOCAL_MEDIA, PLAIN_LOCAL),
        (pb.PROBE_DISCOVERING, PLAIN_DISCOVERING),
    ):
        if text.endswith(reason):
            return plain
    return NOT_CHECKED


def probe_line(status: str, reason: str) -> str:
    """Why there is no hop evidence (``status``: a ProbeStatus value other than ok)."""
    what = _PROBE_STATUS[str(status)]
    return f"{what}: {reason}" if reason else what


def plain_probe_reason(reason: str) -> str:
    """A probe failure's technical reason in a person's words ('' when there is none)."""
    low = (reason or "").lower()
    if not low:
        return ""
    if "ping_group_range" in low or "icmp not permitted" in low or "operation not permitted" in low:
        return "this computer does not let ordinary programs send pings"
    if "permission" in low or "not permitted" in low:
        return "this computer does not allow the probes"
    if "timeout" in low or "timed out" in low or "no answer" in low:
        return "the routers did not answer in time"
    return "the probes could not run normally"


def probe_degraded_line(reason: str) -> str:
    """Probes ran, but by a slower fallback method: plain words first, then the technical
    reason for the report (the notice never shows this line: see :func:`overlay_line`)."""
    why = plain_probe_reason(reason)
    if not why:
        return _FALLBACK
    return f"{_FALLBACK}: {why} ({reason})"


# --- what was ruled out, and what the evidence does not settle ---------------------------
RULED_OUT_KIND = "ruled_out"  # evidence kind: the parts the measurements cleared
OPEN_KIND = "open"  # evidence kind: what the measurements cannot tell apart
# server_local: loopback is also an SSH/kubectl port-forward, stunnel, a local proxy or a VPN
# client, so the line never says that no network lies behind the server on this computer
SERVER_LOCAL_LINE = (
    "not told apart: the video's server on this computer (loopback) and whatever it relays "
    "from (a port-forward, a local proxy or VPN client); no network was seen between it and "
    "this player, but what lies behind it was not measured"
)
SERVER_LOCAL_UNCHECKED_LINE = (
    "not told apart: the video's server on this computer (loopback) and whatever it relays "
    "from (a port-forward, a local proxy or VPN client); the route to it was not checked"
)


def ruled_out_line(parts: Iterable[str]) -> str:
    """'ruled out: a queue inside your home network (1st hop (home router) steady at 1 ms);
    this computer's decoding (no pictures dropped)' ('' when nothing was ruled out). Each item
    says what was measured: a flat part rules out a queue there, not traffic from it."""
    items = [p for p in parts if p]
    return f"ruled out: {'; '.join(items)}" if items else ""


def steady_part(words: str, label: str, rtt_ms: float) -> str:
    """'a queue inside your home network (1st hop (home router) steady at 1 ms)'."""
    return f"{words} ({label} steady at {fmt_ms(rtt_ms)})"


_QUEUE_WORDS = {  # what a flat part rules out: a queue there, not its traffic's source
    Segment.HOME_NETWORK: "a queue inside your home network",
    Segment.ISP: "a queue inside your provider's network",
    Segment.INTERCONNECT: "a queue on the link between networks",
    Segment.SERVER: "a queue in the server's network",
}


def queue_words(seg: Segment) -> str:
    """'a queue inside your home network': what a part's flat delays rule out."""
    return _QUEUE_WORDS.get(seg, f"a queue in {segment_words(seg)}")


def flat_route_part() -> str:
    return "a queue on the route (delays along it stayed flat)"


def device_part(dropped: int, cpu_pct: float | None) -> str:
    cpu = f", system CPU {cpu_pct:.0f} %" if cpu_pct is not None else ""
    pictures = "no pictures dropped" if dropped == 0 else f"only {dropped} pictures dropped"
    return f"{DEVICE_DECODING} ({pictures}{cpu})"


def access_words(isp: str | None) -> str:
    """'your connection to Verizon' (the access link)."""
    return f"your connection to {isp}" if isp else "your internet connection"


def access_queue_words(isp: str | None) -> str:
    """'a queue on your connection to Verizon': what a flat access hop rules out."""
    return f"a queue on {access_words(isp)}"


ONLY_UNDER_LOAD = "seen only while this video downloaded"
NO_IDLE_TIME = "no idle time to compare"
NOT_PERSISTED = "not shown to persist across stalls"


def below_bar(bar: float) -> str:
    return f"confidence below {bar * 100:.0f} %"


def server_part(ttfb_ms: float) -> str:
    """A quick first byte rules out a slow-to-answer server, not one that sends slowly."""
    return f"a slow answer from {GENERIC_SERVER} (first byte after {fmt_ms(ttfb_ms)})"


def not_checked_route_line() -> str:
    return "not checked: the route (no hop evidence), so a queue on it is not ruled out"


# rule key -> what its evidence cannot tell apart (the sentence stays within it)
_OPEN = {
    "isp_access": (
        "not told apart: this video's download, other devices at home and other downloads "
        "on this computer all share the connection to {isp} (their traffic was not measured), "
        "and a router that limits incoming traffic queues it the same way"
    ),
    "isp_core": (
        "not settled: a queue inside {isp} past the access link, {seen}; not called crowded: "
        "{missing}"
    ),
    "isp_crowded": (
        "a queue inside {isp} past the access link, seen while idle and persisting across stalls"
    ),
    "home_slow": (
        "the queue is between this computer and the home router: Wi-Fi, a cable or the "
        "router itself"
    ),
    "home_crowded": (
        "not told apart: other traffic at home and Wi-Fi trouble (interference, a weak signal)"
    ),
    "interconnect_slow": (
        "the queue starts at the first router past {isp}'s last router (the border is read "
        "from router names): on the link between the networks or just past it"
    ),
    "interconnect_crowded": (
        "the queue starts at the first router past {isp}'s last router (the border is read "
        "from router names), seen while idle: on the link between the networks or just past it"
    ),
    "server_path": "the queue starts inside the video's network, past the link into it",
}


def open_line(rule_key: str, isp: str | None, seen_idle: bool, missing: Iterable[str] = ()) -> str:
    """What the rule's evidence leaves open ('' for rules without such a line); ``missing``:
    the parts of the bar for "crowded" that were not met (isp_core)."""
    text = _OPEN.get(rule_key, "")
    seen = "seen while idle" if seen_idle else ONLY_UNDER_LOAD
    return (
        text.replace("{isp}", isp_culprit(isp))
        .replace("{seen}", seen)
        .replace("{missing}", ", ".join(missing) or "below the bar")
    )


# --- notes ----------------------------------------------------------------------------
def conflict_note(rival_doc: str, rival_segment: Segment) -> str:
    return f"conflicting evidence: also {rival_doc} ({segment_words(rival_segment)})"


def weak_note(segment: Segment) -> str:
    return f"a weak sign pointed at {segment_words(segment)}, too weak to say so"


def stalls_note(count: int, total: int) -> str:
    return f"{count} of {total} stalls point here"


# --- the one line under the notice -----------------------------------------------------
_BITRATE = r"([0-9.]+ [kM]bit/s)"
_THROUGHPUT = re.compile(rf"throughput {_BITRATE}(?: vs {_BITRATE} needed)?")
_WHERE = {  # where a rising delay was seen, by the verdict's segment
    Segment.HOME_NETWORK: "in your home network",
    Segment.ISP: "inside {culprit}",
    Segment.INTERCONNECT: "on {culprit}",
    Segment.SERVER: "near {culprit}",
}
_OVERLAY_KINDS = {  # which evidence the overlay line prefers, by segment
    Segment.HOME_NETWORK: ("hop_rtt", "throughput"),
    Segment.ISP: ("hop_rtt", "throughput"),
    Segment.INTERCONNECT: ("hop_rtt", "throughput"),
    Segment.SERVER: ("ttfb", "hop_rtt", "throughput"),
    Segment.DEVICE: ("frames", "cpu"),
    # "could not tell": first why (the speed, or what could not be measured), then facts
    Segment.UNKNOWN: (SPEED_KIND, "probe", "throughput", "ttfb", "hop_rtt"),
}
# rules whose own evidence is not the segment's usual lead: the line shows what they rest on
_OVERLAY_BY_RULE = {
    "server_path": ("hop_rtt", "throughput", "ttfb"),  # a queue in the server's network
    "server_local": ("throughput", "ttfb"),  # a server on this computer sending too little
    "server_sends_slowly": ("throughput", "ttfb"),  # slow data, no queue (attribution.flow)
}


def _overlay_kinds(verdict: Verdict) -> tuple[str, ...]:
    return _OVERLAY_BY_RULE.get(verdict.rule) or _OVERLAY_KINDS.get(verdict.segment, ())


NOTHING_POINTS = "The measurements do not point at one part of the network."
NOT_CHECKED = "The route to the server could not be checked from this computer."
# What could not be measured, in plain words (never the probe method or its error): the
# technical reason stays in the report's evidence text for experts.
PLAIN_NOT_PERMITTED = (
    "This computer does not allow the network test we use, so the route could not be checked."
)
PLAIN_SILENT = "No router on the route answered our network test, so it could not be checked."
PLAIN_TOO_FEW = "Too few routers on the route answered our network test to check it."
PLAIN_OFF = "Network checks are switched off in the settings, so the route was not checked."
PLAIN_LOCAL = "The video is a file on this computer: there is no network route to check."
PLAIN_DISCOVERING = "The route to the server is still being found."


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else fmt_ms(ms)


def _plain(e: Evidence, verdict: Verdict) -> str:
    """One evidence fact as a viewer reads it ('' when it has no plain form)."""
    culprit = verdict.culprit or segment_words(verdict.segment)
    if e.kind == "ttfb" and e.value:
        return f"The server took {_seconds(e.value)} to start sending each piece of video."
    if e.kind == "throughput":
        m = _THROUGHPUT.search(e.text)
        if m and m.group(2):
            rate = verdict_rate(verdict)
            at = f" at {rate_text(rate)}" if rate else ""
            return f"Video arrived at {m.group(1)}; this quality{at} needs {m.group(2)}."
        if m:
            return f"Video arrived at {m.group(1)}."
        return ""
    if e.kind == "hop_rtt":
        if e.text == FLAT_PATH:
            return "Delays along the route stayed flat while the video loaded."
        if e.value is None or "not a queue" in e.text:
            return ""
        where = _WHERE.get(verdict.segment, "along the route").format(culprit=culprit)
        if verdict.rule == "isp_access":  # the access link: the line, not the ISP's network
            where = (
                f"on {access_words(verdict.culprit if verdict.culprit != GENERIC_ISP else None)}"
            )
        elif verdict.rule == "isp_unplaced":  # an unjudged ISP hop: not "inside" for sure
            where = f"on the part of the route run by {culprit}"
        if _IDLE_MARK in e.text:  # crowded_line: measured between our downloads
            return f"Delay {where} was {fmt_ms(e.value)} above its lowest even between downloads."
        if _SWING_MARK in e.text:  # swing_line: no idle time to compare
            return f"Delay {where} swung by {fmt_ms(e.value)} while the video loaded."
        return f"Delay {where} grew by {fmt_ms(e.value)} while the video loaded."
    if e.kind == "frames" and e.value:
        return f"{e.value:.0f} pictures were dropped while plenty of video was buffered."
    if e.kind == "cpu":
        return "This computer's processor was busy."
    if e.kind in host.KINDS:
        return host.plain(e)
    if e.kind == "probe":
        return plain_probe(e.text)
    if e.kind == SPEED_KIND and e.value:
        return f"{speed_line(e.value)}."
    return ""


def plain_lines(verdict: Verdict, limit: int = 2) -> list[str]:
    """Up to ``limit`` plain evidence lines of different kinds, strongest first (the
    screenshot's card; the first is :func:`overlay_line`)."""
    out: list[str] = []
    kinds = _overlay_kinds(verdict)
    for kind in kinds:
        for e in verdict.evidence:
            if e.kind == kind and (text := _plain(e, verdict)):
                out.append(text)
                break
        if len(out) >= limit:
            break
    return out


def overlay_line(verdict: Verdict) -> str:
    """The one plain-language evidence line under the notice: no addresses, no probe
    jargon, no round-trip time of a reused connection ('' when nothing plain fits)."""
    kinds = _overlay_kinds(verdict)
    for kind in kinds:
        for e in verdict.evidence:
            if e.kind == kind:
                text = _plain(e, verdict)
                if text:
                    return text
    return NOTHING_POINTS if verdict.segment is Segment.UNKNOWN else ""
