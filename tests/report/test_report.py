"""The two emitters of a session report: the diagnose JSON contract and the text summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from player import report
from player.core.model import Evidence, Hop, QoE, Segment, SessionReport, Stall, Verdict

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "schemas" / "diagnose.schema.json").read_text())


def sample() -> SessionReport:
    v = Verdict(Segment.ISP, "Verizon", 0.8, "Your provider's network is slow.",
                [Evidence("hop_rtt", "hop 3 rose by 120 ms", 120.0)], rule="isp_queue")  # fmt: skip
    return SessionReport(
        url="https://cdn.example.invalid/master.m3u8",
        played_s=30.04,
        qoe=QoE(startup_s=1.2345, stall_count=1, stall_s=2.5, rebuffer_ratio=0.0833,
                avg_bitrate_kbps=850.0, switches=2, frames_displayed=700, frames_dropped=3),  # fmt: skip
        stalls=[Stall(12.0, 2.5, 11.2, v, 1.0, 2.0)],
        verdict=v,
        path=[Hop(1, "192.168.1.1", None, "home", Segment.HOME_NETWORK, 1.234, 2.0),
              Hop(2, None), Hop(3, "198.51.100.1", "ae1.bras1.verizon-gni.net", "Verizon", Segment.ISP, 12.5, 132.5)],  # fmt: skip
        fetches={"count": 20, "bytes": 3_500_000, "retries": 1, "resumed": 0, "errors": 0},
    )


def test_json_follows_the_contract() -> None:
    out = report.to_json(sample())
    jsonschema.validate(out, SCHEMA)
    assert out["verdict"]["segment"] == "isp" and out["verdict"]["culprit"] == "Verizon"
    assert out["qoe"]["startup_s"] == 1.234 and out["qoe"]["avg_bitrate_kbps"] == 850.0
    assert out["path"][1] == report.hop_json(Hop(2, None))
    assert out["path"][2]["rtt_loaded_ms"] == 132.5
    json.dumps(out)  # plain JSON types only


def test_ongoing_stall_without_verdict() -> None:
    out = report.stall_json(Stall(3.0))
    assert out["duration_s"] is None and out["verdict"]["segment"] == "unknown"


def test_text_summary() -> None:
    text = report.to_text(sample())
    assert text.startswith("Stallwatch diagnosis of https://cdn.example.invalid/master.m3u8")
    assert "stall 1: at 12.0 s for 2.5 s -> isp (80%)" in text
    assert "Verdict: isp — Verizon (confidence 80%)" in text and "  · hop 3 rose by 120 ms" in text
    assert "average bitrate 0.8 Mbit/s" in text  # the one bitrate formatter (core.units)
    assert "ae1.bras1.verizon-gni.net" in text and re.search(r"idle +12 ms +loaded +132 ms", text)
    assert "Fetches: 20 (3.5 MB), retries 1, resumed 0, errors 0" in text


def test_text_without_a_stall() -> None:
    text = report.to_text(SessionReport(url="clip.mp4", played_s=8.0))
    assert "Verdict: no stall; nothing to blame." in text and "Path:" not in text
