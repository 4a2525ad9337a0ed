"""The only serialisers of a session report: ``json`` (the diagnose contract) and ``text``."""

from player.report.json import hop_json, qoe_json, stall_json, to_json, verdict_json
from player.report.text import to_text

__all__ = ["hop_json", "qoe_json", "stall_json", "to_json", "to_text", "verdict_json"]
