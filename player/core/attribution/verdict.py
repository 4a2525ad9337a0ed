"""The verdict: the best-scoring row with its culprit and evidence; a session's overall one."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from player.core import thresholds as T
from player.core.attribution.confidence import cap, score
from player.core.attribution.findings import Findings, analyse
from player.core.attribution.inputs import AttributionInput
from player.core.attribution.lines import (
    LEAD_KINDS,
    SPEED_LEAD,
    bounds_lines,
    hop_lines,
    order,
    other_lines,
)
from player.core.attribution.rules import NAMED, RULES, RULES_BY_KEY, Rule
from player.core.crowded_bar import CROWDED_RULE, apply_crowded_bar, crowded_bar_met
from player.core.model import Evidence, OnsetFacts, Segment, Stall, Verdict
from player.core.wording import evidence as say
from player.core.wording import notice_text

log = logging.getLogger(__name__)


def culprit(rule: Rule, f: Findings) -> str | None:
    """Who is to blame, in words ("Verizon", "your home network"); None for unknown/none."""
    seg = rule.segment
    if seg is Segment.HOME_NETWORK:
        return say.HOME_CULPRIT
    if seg is Segment.DEVICE:
        return say.DEVICE_CULPRIT
    if seg is Segment.ISP:
        return say.isp_culprit(f.isp_org)
    if seg is Segment.INTERCONNECT:
        assert f.onset is not None
        return say.interconnect_culprit(f.isp_org, _far_side(f, f.onset.pos))
    if seg is Segment.SERVER:
        return say.server_culprit(f.server_name)
    return None


def _far_side(f: Findings, pos: int) -> str | None:
    """The network on the far side of an interconnect onset: the first org from the onset
    on that is not the ISP's (a peer's interface may carry the ISP's name), else the
    server's name."""
    for h in f.hops[pos:]:
        if h.org and h.org != f.isp_org:
            return h.org
    return f.server_name


def _bar(rule: Rule, conf: float) -> tuple[Rule, float]:
    """Below its confidence bar, "crowded" says what was measured instead (isp_core, with
    that row's base confidence in place of the crowded row's): :mod:`player.core.crowded_bar`."""
    key, conf = apply_crowded_bar(rule.key, conf)
    return RULES_BY_KEY[key], conf


def attribute(inp: AttributionInput, *, adjusting: bool = True) -> Verdict:
    """Evaluate the rule table on ``inp`` and return the verdict with evidence lines.

    ``adjusting`` tells the wording whether the player is adapting its rendition
    (Auto) so that "Adjusting video ..." is only said when true.
    """
    f = analyse(inp)
    matches = [r for r in RULES if r.segment in NAMED and r.condition(f)]
    scored = sorted(((score(r, f), r) for r in matches), key=lambda x: -x[0])
    lines = hop_lines(f) + other_lines(f)
    extra: list[Evidence] = []

    if scored:
        conf, rule = scored[0]
        rivals = [(c, r) for c, r in scored[1:] if r.segment is not rule.segment]
        if rivals:
            rival_conf, rival = rivals[0]
            extra.append(Evidence("note", say.conflict_note(rival.doc, rival.segment)))
            if rival_conf >= conf - T.CONFLICT_TIE_MARGIN:
                rule = RULES_BY_KEY["unknown_conflict"]
                conf = 0.0
            else:
                conf *= T.CONFLICT_FACTOR
        rule, conf = _bar(rule, conf)
        if rule.segment in NAMED and conf < T.NAMED_MIN_CONFIDENCE:
            extra.append(Evidence("note", say.weak_note(rule.segment)))
            rule, conf = RULES_BY_KEY["unknown_weak"], 0.0
    else:
        rule = next((r for r in RULES if r.segment not in NAMED and r.condition(f)), None)
        if rule is None:  # stalling, evidence present, nothing matched
            rule = RULES_BY_KEY["unknown_flat"]
        conf = cap(rule, f, rule.base)

    lead = SPEED_LEAD if rule.key == "speed_shortfall" else LEAD_KINDS.get(rule.segment, ())
    evidence = (
        extra + order(lines, lead)
        if rule.segment is Segment.UNKNOWN
        else (order(lines, lead) + extra)
    )
    if rule.segment is Segment.NONE:
        evidence = [e for e in evidence if e.kind in ("frames", "cpu")]
    evidence += bounds_lines(f, rule.key, rule.segment, conf)
    verdict = Verdict(
        segment=rule.segment,
        culprit=culprit(rule, f),
        confidence=round(conf, 3),
        evidence=evidence,
        rule=rule.key,
        onset=f.onset_facts(),
    )
    verdict.message = notice_text(verdict, adjusting=adjusting)
    log.debug("verdict %s (%s) conf %.2f", rule.segment.value, rule.key, conf)
    return verdict


# Rules whose stalls say the same sentence, so they vote together inside a segment's
# bucket; any other rule is its own family. The access link (isp_access), a queue inside
# the ISP (isp_core, and isp_crowded: the same queue above the bar) and an unplaced one
# (isp_unplaced) are different claims about the same ISP and never pool their votes.
_FAMILY = {
    "isp_crowded": "isp_inside",
    "isp_core": "isp_inside",
    "device_drops": "device",
    "device_drops_cpu": "device",
    "device_cpu": "device",
}


def _family(v: Verdict) -> str:
    if v.segment is Segment.UNKNOWN and v.rule != "speed_shortfall":
        return "unknown"  # every "could not tell" says the same
    return _FAMILY.get(v.rule, v.rule)


def overall_verdict(
    stall_verdicts: Sequence[Verdict], weights: Sequence[float] | None = None
) -> Verdict:
    """The dominant cause across a session's stalls; ``none`` without stalls.

    Each verdict votes with ``weight x max(confidence, UNKNOWN_VOTE)`` (weights default to
    1; use stall durations to let long stalls count more). The (segment, culprit) with the
    most votes is the session's; inside it, the rule family (:data:`_FAMILY`: the access
    link, inside the ISP, ...) with the most votes says the sentence, from that family's
    best stall, at that stall's confidence scaled by the family's share of all votes, so a
    split session reads as less sure and one family's sentence never speaks for another's
    stalls. "Crowded" needs the crowded stalls' own share to clear the bar
    (:mod:`player.core.crowded_bar`); else the family says what was measured (isp_core).
    """
    pairs = [
        (v, 1.0 if weights is None else max(0.0, float(w)))
        for v, w in zip(stall_verdicts, weights or [1.0] * len(stall_verdicts), strict=True)
        if v.segment is not Segment.NONE
    ]
    if not pairs:
        return Verdict(Segment.NONE, None, 1.0, "", [], rule="none")
    voted = [(v, w * max(v.confidence, T.UNKNOWN_VOTE)) for v, w in pairs]
    total = sum(vote for _, vote in voted)
    buckets: dict[tuple[Segment, str | None], float] = {}
    for v, vote in voted:
        buckets[(v.segment, v.culprit)] = buckets.get((v.segment, v.culprit), 0.0) + vote
    key = max(buckets, key=lambda k: (buckets[k], k[0] is not Segment.UNKNOWN))
    mine = [(v, vote) for v, vote in voted if (v.segment, v.culprit) == key]
    families: dict[str, float] = {}
    for v, vote in mine:
        families[_family(v)] = families.get(_family(v), 0.0) + vote
    family = max(families, key=lambda k: families[k])
    members = [(v, vote) for v, vote in mine if _family(v) == family]
    top, conf, rule = _family_top(members, families[family], total)
    count = len(members)
    evidence = list(top.evidence)
    if len(pairs) > 1:
        evidence.insert(0, Evidence("note", say.stalls_note(count, len(pairs)), float(count)))
    verdict = Verdict(
        segment=top.segment,
        culprit=top.culprit,
        confidence=round(conf, 3),
        evidence=evidence,
        rule=rule,
        onset=top.onset,
    )
    verdict.message = notice_text(verdict)
    return verdict


def _family_top(
    members: Sequence[tuple[Verdict, float]], family_votes: float, total: float
) -> tuple[Verdict, float, str]:
    """The winning family's verdict to show, its session confidence and rule key."""

    def best(vs: Sequence[tuple[Verdict, float]]) -> Verdict:
        return max((v for v, _ in vs), key=lambda v: v.confidence)

    share = family_votes / total if total > 0 else 0.0
    crowded = [(v, vote) for v, vote in members if v.rule == CROWDED_RULE]
    if not crowded:
        top = best(members)
        return top, top.confidence * share, top.rule
    top = best(crowded)  # "crowded" on the crowded stalls' own share of the votes
    conf = top.confidence * sum(vote for _, vote in crowded) / total if total > 0 else 0.0
    if crowded_bar_met(conf):
        return top, conf, CROWDED_RULE
    core = [(v, vote) for v, vote in members if v.rule != CROWDED_RULE]
    if core:  # the family's measured sentence, from a stall that made it
        top = best(core)
        return top, top.confidence * share, top.rule
    rule, conf = apply_crowded_bar(CROWDED_RULE, top.confidence * share)
    return top, conf, rule


def crowding_persisted(earlier: Sequence[Verdict], onset: OnsetFacts | None) -> bool:
    """Whether an earlier stall's verdict of this open already showed the same queue while
    idle: inside the same ISP (the same org, known) past its access link, at the same hop
    or a neighbouring one (``CROWDING_SAME_QUEUE_HOPS``). ``onset``: the facts of the stall
    being judged (:attr:`Verdict.onset`). The caller's value for
    ``AttributionInput.crowding_persisted`` at that stall. Only structured facts are
    compared, never evidence wording; nothing from stored history is consulted."""
    if not _idle_queue_inside(onset):
        return False
    assert onset is not None
    return any(
        v.segment is Segment.ISP
        and v.rule in ("isp_core", CROWDED_RULE)
        and _idle_queue_inside(v.onset)
        and v.onset is not None
        and v.onset.org == onset.org
        and abs(v.onset.hop - onset.hop) <= T.CROWDING_SAME_QUEUE_HOPS
        for v in earlier
    )


def _idle_queue_inside(o: OnsetFacts | None) -> bool:
    """A queue seen while idle inside a named ISP past its access link."""
    return (
        o is not None
        and o.segment is Segment.ISP
        and o.isp_deep
        and o.kind == "crowded"
        and o.mode == "idle"
        and o.org is not None
    )


def overall_from_stalls(stalls: Sequence[Stall]) -> Verdict:
    """:func:`overall_verdict` over stalls that carry a verdict, weighted by duration."""
    with_verdict = [s for s in stalls if s.verdict is not None]
    return overall_verdict(
        [s.verdict for s in with_verdict],  # type: ignore[misc]
        [max(s.duration_s or 0.0, T.MIN_STALL_WEIGHT_S) for s in with_verdict],
    )
