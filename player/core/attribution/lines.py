"""Which evidence lines a verdict shows, and in which order (the words: wording.evidence)."""

from __future__ import annotations

from collections.abc import Sequence

from player.core import thresholds as T
from player.core.attribution.findings import Findings
from player.core.attribution.inputs import ProbeStatus
from player.core.crowded_bar import crowded_bar_met
from player.core.model import Evidence, Segment
from player.core.wording import evidence as say
from player.core.wording import flow as flow_words
from player.core.wording import host as host_words

# evidence kinds shown first, by the verdict's segment
LEAD_KINDS = {
    Segment.HOME_NETWORK: ("hop_rtt", "path", "throughput"),
    Segment.ISP: ("hop_rtt", "path", "throughput"),
    Segment.INTERCONNECT: ("hop_rtt", "path", "throughput"),
    Segment.SERVER: ("ttfb", flow_words.FLOW_KIND, "hop_rtt", "path"),
    Segment.DEVICE: ("frames", "cpu"),
    Segment.UNKNOWN: ("hop_rtt", "probe", "path", "ttfb", "throughput"),
    Segment.NONE: (),
}
SPEED_LEAD = (say.SPEED_KIND, "throughput", "ttfb")  # a stall blamed on the playback speed


def _onset_lines(f: Findings) -> list[Evidence]:
    o = f.onset
    if o is None:
        return []
    here = f.hops[o.pos]
    prev = f.hops[o.prev_pos] if o.prev_pos is not None else None
    if here.mode == "spread":
        text = say.swing_line(here.label, here.loaded_p10 or 0, here.loaded_p90 or 0)
    elif o.kind == "loaded":
        text = say.rise_line(here.label, here.idle_p50 or 0, here.loaded_p50 or 0)
    else:
        text = say.crowded_line(
            here.label, here.idle_p50 or 0, here.floor_ms or 0, here.idle_lo or 0, here.idle_hi or 0
        )
    if prev is not None and prev.mode == "spread" and prev.loaded_p50 is not None:
        text += say.steady_suffix(prev.label, prev.loaded_p50)
    elif prev is not None and prev.idle_p50 is not None:
        text += say.steady_suffix(prev.label, prev.idle_p50)
    out = [Evidence("hop_rtt", text, o.value_ms)]
    later = o.confirmed + o.contradicted
    if later:
        out.append(Evidence("path", say.carried_line(o.confirmed, later), float(o.confirmed)))
    if o.segment is None or f.isp_unplaced:  # behind unjudged hops: where it may be
        silent = [
            f.hops[k].label
            for k in range((o.prev_pos or -1) + 1, o.pos)
            if not (f.hops[k].delta_ms is not None or f.hops[k].excess_ms is not None)
        ]
        out.append(Evidence("path", say.behind_silent_line(silent, o.segments)))
    return out


def hop_lines(f: Findings) -> list[Evidence]:
    """The onset (or why it cannot be placed) and the isolated slow routers."""
    out = _onset_lines(f)
    for pos in f.isolated:
        s = f.hops[pos]
        text = say.isolated_line(s.label, s.idle_p50 or 0, s.loaded_p50 or 0)
        out.append(Evidence("hop_rtt", text, s.delta_ms))
    return out


def other_lines(f: Findings) -> list[Evidence]:
    """Throughput, first byte, device and what the probes could (not) do."""
    out: list[Evidence] = []
    if f.fast and f.stalling:
        out.append(Evidence(say.SPEED_KIND, say.speed_line(f.playback_rate), f.playback_rate))
    if f.throughput_bps is not None:
        text = say.throughput_line(f.throughput_bps, f.needed_bps)
        out.append(Evidence("throughput", text, f.throughput_bps))
    if f.ttfb_ms is not None:
        out.append(Evidence("ttfb", say.ttfb_line(f.ttfb_ms, f.ttfb_rtt_ms), f.ttfb_ms))
    if f.frames_dropped:
        out.append(Evidence("frames", say.frames_line(f.frames_dropped), float(f.frames_dropped)))
    cpu = say.cpu_line(f.system_cpu_pct, f.player_cpu_pct)
    if cpu:
        out.append(Evidence("cpu", cpu))
    if f.host is not None and (f.host_busy or f.host_quiet):
        kind = host_words.BUSY_KIND if f.host_busy else host_words.QUIET_KIND
        out.append(host_words.evidence_line(kind, f.host.other_bps, f.host.span_s))
    out += flow_lines(f)
    if f.probe_status is not ProbeStatus.OK:
        out.append(Evidence("probe", say.probe_line(f.probe_status, f.probe_reason)))
        return out
    if f.probe_reason:  # probes ran, but by a fallback method: say which and why
        out.append(Evidence("probe", say.probe_degraded_line(f.probe_reason)))
    if not f.hop_evidence:
        out.append(Evidence("probe", say.TOO_FEW_ANSWERS))
    elif f.onset is None and not f.isolated and f.stalling:
        out.append(Evidence("hop_rtt", say.FLAT_PATH))
    return out


def flow_lines(f: Findings) -> list[Evidence]:
    """What the video flow's own TCP signals showed (attribution.flow); none without them."""
    fl, kind = f.flow, flow_words.FLOW_KIND
    if f.local_path or fl.floor_ms is None:  # loopback: no network to queue in
        return []
    if fl.queued and fl.rtt_ms is not None:
        text = flow_words.queued_line(fl.floor_ms, fl.rtt_ms, fl.n_queued, fl.n)
        return [Evidence(kind, text, fl.rtt_ms)]
    if f.server_sends_slowly:
        text = flow_words.sends_slowly_line(fl.throughput_bps, f.needed_bps, not fl.sends_slowly)
        return [Evidence(kind, text, fl.throughput_bps)]
    if fl.policed:
        text = flow_words.policed_line(fl.throughput_bps, f.needed_bps, fl.n_lossy)
        return [Evidence(kind, text, fl.throughput_bps)]
    return []


_ROUTE_ORDER = (Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT, Segment.SERVER)
NAMED_SEGMENTS = (*_ROUTE_ORDER, Segment.DEVICE)


def _route_ruled_out(f: Findings) -> list[str]:
    """The route's parts before the onset that answered flat, each with its last flat hop
    (a queue there would have shown at the onset's previous hop already)."""
    o = f.onset
    if o is None or o.prev_pos is None:
        return []
    here = o.segment
    parts: dict[Segment, str] = {}
    for s in f.hops[: o.prev_pos + 1]:
        if s.segment in (here, Segment.UNKNOWN, Segment.NONE) or not s.answered:
            continue
        if s.inflated or s.crowded:
            continue
        rtt = s.idle_p50 if s.idle_p50 is not None else s.loaded_p50
        if rtt is not None:  # the last flat hop of each part speaks for it
            parts[s.segment] = say.steady_part(say.queue_words(s.segment), s.label, rtt)
    return [parts[seg] for seg in _ROUTE_ORDER if seg in parts]


def _ruled_out(f: Findings, rule_key: str, segment: Segment) -> list[str]:
    parts: list[str] = []
    flat_route = f.hop_evidence and f.onset is None and not f.isolated and not f.local_path
    if segment in (Segment.DEVICE, Segment.SERVER) and rule_key != "server_path":
        if flat_route:
            parts.append(say.flat_route_part())
    else:
        parts += _route_ruled_out(f)
    if f.isp_deep and f.onset is not None and f.onset.prev_pos is not None:
        prev = f.hops[f.onset.prev_pos]  # an ISP hop answered flat: the access link is clear
        rtt = prev.idle_p50 if prev.idle_p50 is not None else prev.loaded_p50
        if rtt is not None:
            parts.append(say.steady_part(say.access_queue_words(f.isp_org), prev.label, rtt))
    if segment in (Segment.ISP, Segment.HOME_NETWORK) and f.host_quiet and f.host is not None:
        parts.append(host_words.quiet_part(f.host.other_bps))
    if segment is not Segment.DEVICE and f.frames_displayed > 0:
        if not f.device_drops and not f.cpu_saturated:
            parts.append(say.device_part(f.frames_dropped, f.system_cpu_pct))
    if segment is not Segment.SERVER and f.ttfb_ms is not None and not f.server_slow:
        parts.append(say.server_part(f.ttfb_ms))
    fl = f.flow
    if segment is not Segment.SERVER and fl.queued and fl.floor_ms is not None and fl.rtt_ms:
        parts.append(flow_words.queued_part(fl.floor_ms, fl.rtt_ms))
    if rule_key == "server_sends_slowly" and fl.sends_slowly and fl.floor_ms is not None:
        parts.append(flow_words.flat_flow_part(fl.rtt_ms or fl.floor_ms))
    return parts


def _unsettled(f: Findings, conf: float) -> list[str]:
    """Why a queue inside the ISP is not called crowded (the bar's missing parts)."""
    o = f.onset
    missing = []
    if o is None or o.kind != "crowded":
        missing.append(say.ONLY_UNDER_LOAD)
    elif f.hops[o.pos].mode != "idle":
        missing.append(say.NO_IDLE_TIME)
    elif f.host_busy:
        missing.append(host_words.BUSY_MISSING)
    if not f.crowding_persisted:
        missing.append(say.NOT_PERSISTED)
    if not crowded_bar_met(conf):
        missing.append(say.below_bar(T.ISP_CROWDED_MIN_CONFIDENCE))
    return missing


def bounds_lines(f: Findings, rule_key: str, segment: Segment, conf: float) -> list[Evidence]:
    """What the measurements ruled out, and what they leave open, for a named verdict."""
    if segment not in NAMED_SEGMENTS:
        return []
    out: list[Evidence] = []
    line = say.ruled_out_line(_ruled_out(f, rule_key, segment))
    if line:
        out.append(Evidence(say.RULED_OUT_KIND, line))
    if rule_key == "server_local":  # loopback may relay from elsewhere: never "no network"
        local = say.SERVER_LOCAL_LINE if f.hop_evidence else say.SERVER_LOCAL_UNCHECKED_LINE
        out.append(Evidence(say.OPEN_KIND, local))
    elif (
        segment is Segment.SERVER
        and not f.hop_evidence
        and not f.local_path
        and not (rule_key == "server_sends_slowly" and f.flow.sends_slowly)  # its RTT: no queue
    ):
        out.append(Evidence(say.OPEN_KIND, say.not_checked_route_line()))
    if rule_key == "server_sends_slowly":
        out.append(Evidence(say.OPEN_KIND, flow_words.SENDS_SLOWLY_OPEN))
    seen_idle = f.onset is not None and f.onset.kind == "crowded"
    open_text = say.open_line(rule_key, f.isp_org, seen_idle, _unsettled(f, conf))
    if rule_key == "isp_access" and (f.host_busy or f.host_quiet):  # what was measured
        access = host_words.ACCESS_OPEN_BUSY if f.host_busy else host_words.ACCESS_OPEN_QUIET
        open_text = access.replace("{isp}", say.isp_culprit(f.isp_org))
    if open_text:
        out.append(Evidence(say.OPEN_KIND, open_text))
    return out


def order(lines: list[Evidence], first_kinds: Sequence[str]) -> list[Evidence]:
    """``lines`` with the kinds in ``first_kinds`` first, in that order (stable)."""
    rank = {k: i for i, k in enumerate(first_kinds)}
    return sorted(lines, key=lambda e: rank.get(e.kind, len(rank)))
