"""The one bar for "The {ISP} network is crowded" (``thresholds.ISP_CROWDED_MIN_CONFIDENCE``).

A stall's verdict (attribution.verdict), a session's overall verdict, the evidence line
that lists the bar's missing parts (attribution.lines) and the notice's wording
(wording.notices) all check it here, so they cannot drift apart. Below the bar a
"crowded" verdict says what was measured instead: the ``isp_core`` row ("delays grew
inside the network ... not settled"). Pure; imports nothing but the thresholds, so the
wording can use it without importing the attribution package.
"""

from __future__ import annotations

from player.core import thresholds as T

CROWDED_RULE = "isp_crowded"
BELOW_BAR_RULE = "isp_core"  # what a "crowded" verdict below the bar says instead


def crowded_bar_met(confidence: float) -> bool:
    """Whether ``confidence`` is high enough for the word "crowded"."""
    return confidence >= T.ISP_CROWDED_MIN_CONFIDENCE


def below_crowded_bar(rule_key: str, confidence: float) -> bool:
    """A "crowded" verdict whose confidence is below the bar (it must not say "crowded")."""
    return rule_key == CROWDED_RULE and not crowded_bar_met(confidence)


def apply_crowded_bar(rule_key: str, confidence: float) -> tuple[str, float]:
    """``(rule_key, confidence)`` as the verdict may state it: a "crowded" verdict below
    the bar becomes ``isp_core``, its confidence rescaled from the crowded row's base to
    that row's (the same measurement, judged by the row that claims less)."""
    if not below_crowded_bar(rule_key, confidence):
        return rule_key, confidence
    base = T.RULE_BASE_CONFIDENCE
    return BELOW_BAR_RULE, confidence * base[BELOW_BAR_RULE] / base[CROWDED_RULE]
