"""Evidence -> Verdict: which network segment a stall is to blame on (pure, table-driven).

- ``inputs``: the evidence (:class:`AttributionInput` and its parts), built from the model
  types by :func:`hop_evidence_from`; hops are placed by the one path classifier
  (:mod:`player.core.path_segments`).
- ``hop_stats``: per-hop RTT statistics and where inflation begins along the path (the
  module docstring explains how the path is read).
- ``findings``: :func:`analyse` reduces the evidence to :class:`Findings`.
- ``rules``: :data:`RULES`, explicit rows ``condition -> segment, base confidence, key``.
- ``confidence``: a row's base confidence scaled by sample counts and margins.
- ``lines``: which evidence lines a verdict shows (worded by ``wording.evidence``).
- ``verdict``: :func:`attribute` evaluates every row, resolves conflicts and writes the
  verdict; :func:`overall_verdict` / :func:`overall_from_stalls` for a whole session.
"""

from player.core.attribution.findings import Findings, analyse
from player.core.attribution.hop_stats import HopStats, Onset, find_onset, hop_stats, spread_stats
from player.core.attribution.inputs import (
    HOME_ORG,
    AttributionInput,
    DeviceEvidence,
    FetchEvidence,
    HopEvidence,
    ProbeStatus,
    TtfbSample,
    classify_path,
    hop_evidence_from,
)
from player.core.attribution.rules import RULES, RULES_BY_KEY, Rule
from player.core.attribution.verdict import (
    attribute,
    crowding_persisted,
    overall_from_stalls,
    overall_verdict,
)

__all__ = [
    "HOME_ORG",
    "RULES",
    "RULES_BY_KEY",
    "AttributionInput",
    "DeviceEvidence",
    "FetchEvidence",
    "Findings",
    "HopEvidence",
    "HopStats",
    "Onset",
    "ProbeStatus",
    "Rule",
    "TtfbSample",
    "analyse",
    "attribute",
    "classify_path",
    "crowding_persisted",
    "find_onset",
    "hop_evidence_from",
    "hop_stats",
    "overall_from_stalls",
    "overall_verdict",
    "spread_stats",
]
