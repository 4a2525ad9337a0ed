"""The rule table: explicit rows ``condition -> segment, base confidence, message key``.

Every row is evaluated on the :class:`~player.core.attribution.findings.Findings`; the
rows naming a segment compete (see ``verdict.py``), the ``unknown`` rows are fallbacks
used only when none of them matched. A row's key is also its wording template's key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from player.core import thresholds as T
from player.core.attribution.findings import Findings
from player.core.model import Segment


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table: when ``condition`` holds, blame ``segment``."""

    key: str  # also the wording template key
    segment: Segment
    base: float  # confidence before sample-count / margin scaling
    condition: Callable[[Findings], bool]
    doc: str


def _network(f: Findings) -> bool:
    # a stall while playing faster than normal is not the network's fault unless the
    # downloads fell short of even the normal-speed bitrate (thresholds: playback speed)
    return f.stalling and not f.speed_limited


def _path(seg: Segment, kind: str) -> Callable[[Findings], bool]:
    def cond(f: Findings) -> bool:
        return _network(f) and f.onset_segment is seg and f.onset_kind == kind

    return cond


def _isp(f: Findings) -> bool:
    return _network(f) and f.onset_segment is Segment.ISP


def _row(key: str, segment: Segment, condition: Callable[[Findings], bool], doc: str) -> Rule:
    """A table row whose base confidence lives in thresholds.RULE_BASE_CONFIDENCE."""
    return Rule(key, segment, T.RULE_BASE_CONFIDENCE[key], condition, doc)


def _device_ok(f: Findings) -> bool:
    # during a stall a located network cause is the better explanation of an empty
    # buffer; device trouble is then only mentioned in the evidence
    return not (f.stalling and f.network_cause)


RULES: tuple[Rule, ...] = (
    _row(
        "device_drops_cpu",
        Segment.DEVICE,
        lambda f: f.device_drops and f.cpu_saturated and _device_ok(f),
        "pictures dropped with a healthy buffer and the CPU saturated",
    ),
    _row(
        "device_drops",
        Segment.DEVICE,
        lambda f: f.device_drops and not f.cpu_saturated and _device_ok(f),
        "pictures dropped with a healthy buffer",
    ),
    _row(
        "home_crowded",
        Segment.HOME_NETWORK,
        _path(Segment.HOME_NETWORK, "crowded"),
        "first hop (home router) already inflated while idle",
    ),
    _row(
        "home_slow",
        Segment.HOME_NETWORK,
        _path(Segment.HOME_NETWORK, "loaded"),
        "first hop (home router) inflates under our load",
    ),
    _row(
        "isp_access",
        Segment.ISP,
        lambda f: _isp(f) and f.isp_access,
        "first inflated hop is the ISP's first (access) hop: the connection to the ISP is "
        "full, by our download or by other traffic from home",
    ),
    _row(
        "isp_unplaced",
        Segment.ISP,
        lambda f: _isp(f) and f.isp_unplaced,
        "a queue in the ISP's part of the route behind an ISP hop that could not be judged "
        "(silent or too few answers): the access link or a link inside the ISP, not told apart",
    ),
    _row(
        "isp_crowded",
        Segment.ISP,
        lambda f: _isp(f) and f.isp_crowded_shown,
        "a queue inside the ISP past its access link, inflated while idle, persisting across "
        "stalls (and, when chosen, at the crowded bar: player.core.crowded_bar)",
    ),
    _row(
        "isp_core",
        Segment.ISP,
        lambda f: _isp(f) and f.isp_deep and not f.isp_crowded_shown,
        "a queue inside the ISP past its access link, below the bar for calling it crowded",
    ),
    _row(
        "interconnect_crowded",
        Segment.INTERCONNECT,
        _path(Segment.INTERCONNECT, "crowded"),
        "first inflated hop is past the ISP's border, inflated while idle",
    ),
    _row(
        "interconnect_slow",
        Segment.INTERCONNECT,
        _path(Segment.INTERCONNECT, "loaded"),
        "first inflated hop is past the ISP's border, inflated under our load",
    ),
    _row(
        "server_path",
        Segment.SERVER,
        lambda f: _network(f) and f.onset_segment is Segment.SERVER,
        "inflation confined to the server's own hops",
    ),
    _row(
        "server_ttfb",
        Segment.SERVER,
        # the video's own data queued on the way (attribution.flow): a slow answer then
        # waited in that queue too, so the server is not named for it
        lambda f: _network(f) and f.server_slow and not f.flow.queued,
        "slow first byte, far above the connect RTT and any path queue",
    ),
    _row(
        "server_local",
        Segment.SERVER,
        lambda f: _network(f) and f.local_path and f.shortfall is True and not f.cpu_saturated,
        "the server is on this computer (loopback: no network between) and delivers less "
        "than the video needs, with the processor not saturated",
    ),
    _row(
        "server_sends_slowly",
        Segment.SERVER,
        lambda f: _network(f) and f.server_sends_slowly and not f.flow.queued,
        "the video's data came slower than it needs over several downloads with no queue and "
        "no loss on the way (the flow's own TCP signals), from a server not on this computer",
    ),
    _row(
        "device_cpu",
        Segment.DEVICE,
        lambda f: (
            f.stalling
            and f.cpu_saturated
            and not f.device_drops
            and not f.network_cause
            and f.shortfall is not True
        ),
        "CPU saturated during the stall, no network cause found, and the downloads were not "
        "shown to fall short (when they did, the empty buffer is not a decoding problem)",
    ),
    # ---- fallbacks: only when no row above matched
    _row(
        "speed_shortfall",
        Segment.UNKNOWN,  # no network segment is to blame: the chosen speed needs more
        lambda f: f.speed_limited,
        "playing faster than normal needs more data than arrives; the downloads were not "
        "shown to fall short of the normal-speed bitrate",
    ),
    _row(
        "unknown_conflict",
        Segment.UNKNOWN,
        lambda f: False,
        "two segments explain the stall about equally well (chosen by conflict resolution)",
    ),
    _row(
        "unknown_weak",
        Segment.UNKNOWN,
        lambda f: False,
        "the best explanation is too weak to name anyone (below NAMED_MIN_CONFIDENCE)",
    ),
    _row(
        "unknown_ambiguous",
        Segment.UNKNOWN,
        lambda f: f.stalling and f.onset is not None and f.onset_segment is None,
        "inflation starts where no one segment can be named (behind a silent hop between "
        "two segments, or at a hop that cannot be placed)",
    ),
    _row(
        "unknown_inconsistent",
        Segment.UNKNOWN,
        lambda f: f.stalling and f.onset is None and bool(f.isolated),
        "inflation at a hop that later hops do not show",
    ),
    _row(
        "unknown_no_probes",
        Segment.UNKNOWN,
        lambda f: f.stalling and not f.hop_evidence,
        "no hop evidence (probes not permitted, silent or not run)",
    ),
    _row(
        "unknown_flat",
        Segment.UNKNOWN,
        lambda f: f.stalling and f.hop_evidence and not f.network_cause,
        "hops answered but none inflated, first byte not slow",
    ),
    _row("none", Segment.NONE, lambda f: not f.stalling, "no stall: nothing to blame"),
)
RULES_BY_KEY = {r.key: r for r in RULES}
# the segments a verdict can name; rows of the other segments are fallbacks
NAMED = (Segment.DEVICE, Segment.HOME_NETWORK, Segment.ISP, Segment.INTERCONNECT, Segment.SERVER)
