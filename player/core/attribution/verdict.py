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
from player.core.model import Evidence, Segment, Stall, Verdict
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
    that row's base confidence in place of the crowded row's)."""
    if rule.key == "isp_crowded" and conf < T.ISP_CROWDED_MIN_CONFIDENCE:
        core = RULES_BY_KEY["isp_core"]
        return core, conf * core.base / rule.base
    return rule, conf


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
    )
    verdict.message = notice_text(verdict, adjusting=adjusting)
    log.debug("verdict %s (%s) conf %.2f", rule.segment.value, rule.key, conf)
    return verdict


def overall_verdict(
    stall_verdicts: Sequence[Verdict], weights: Sequence[float] | None = None
) -> Verdict:
    """The dominant cause across a session's stalls; ``none`` without stalls.

    Each verdict votes with ``weight x max(confidence, UNKNOWN_VOTE)`` for its
    (segment, culprit) (weights default to 1; use stall durations to let long
    stalls count more). The winner's confidence is its best instance's,
    scaled by its share of the votes, so a split session reads as less sure.
    """
    pairs = [
        (v, 1.0 if weights is None else max(0.0, float(w)))
        for v, w in zip(stall_verdicts, weights or [1.0] * len(stall_verdicts), strict=True)
        if v.segment is not Segment.NONE
    ]
    if not pairs:
        return Verdict(Segment.NONE, None, 1.0, "", [], rule="none")
    votes: dict[tuple[Segment, str | None], float] = {}
    best: dict[tuple[Segment, str | None], Verdict] = {}
    for v, w in pairs:
        key = (v.segment, v.culprit)
        votes[key] = votes.get(key, 0.0) + w * max(v.confidence, T.UNKNOWN_VOTE)
        if key not in best or v.confidence > best[key].confidence:
            best[key] = v
    total = sum(votes.values())
    key = max(votes, key=lambda k: (votes[k], k[0] is not Segment.UNKNOWN))
    top = best[key]
    share = votes[key] / total if total > 0 else 0.0
    count = sum(1 for v, _ in pairs if (v.segment, v.culprit) == key)
    evidence = list(top.evidence)
    if len(pairs) > 1:
        evidence.insert(0, Evidence("note", say.stalls_note(count, len(pairs)), float(count)))
    verdict = Verdict(
        segment=top.segment,
        culprit=top.culprit,
        confidence=round(top.confidence * share, 3),
        evidence=evidence,
        rule=top.rule,
    )
    verdict.message = notice_text(verdict)
    return verdict


def crowding_persisted(earlier: Sequence[Verdict], culprit: str | None) -> bool:
    """Whether an earlier stall's verdict (this session, or a stored one of the same path)
    already showed a queue inside ``culprit``'s network past its access link while idle:
    the caller's value for ``AttributionInput.crowding_persisted`` at the next stall."""
    return any(
        v.segment is Segment.ISP
        and v.rule in ("isp_core", "isp_crowded")
        and v.culprit == culprit
        and any(e.kind == "hop_rtt" and say.shows_idle_queue(e.text) for e in v.evidence)
        for v in earlier
    )


def overall_from_stalls(stalls: Sequence[Stall]) -> Verdict:
    """:func:`overall_verdict` over stalls that carry a verdict, weighted by duration."""
    with_verdict = [s for s in stalls if s.verdict is not None]
    return overall_verdict(
        [s.verdict for s in with_verdict],  # type: ignore[misc]
        [max(s.duration_s or 0.0, T.MIN_STALL_WEIGHT_S) for s in with_verdict],
    )
