"""Every host an MPD can make VLC fetch from (pure), and the direct-mode policy check with
literal addresses (no DNS)."""

from __future__ import annotations

import pytest

from player.net.dash import MpdError
from player.net.dash.hosts import MAX_HOSTS, mpd_hosts
from player.net.gateway.dash_direct import direct_refusal
from player.net.url_policy import AddressPolicy
from tests.net.test_dash_mpd import mpd

URL = "http://203.0.113.7/show/stream.mpd"  # a documentation address: no DNS needed


def rep(inner: str = "", attrs: str = "") -> str:
    return (
        f'<AdaptationSet contentType="video"><Representation id="v" bandwidth="1"{attrs}>'
        f"{inner}</Representation></AdaptationSet>"
    )


def test_hosts_come_from_the_base_url_chain_templates_and_updates() -> None:
    text = mpd(
        "<Location>http://updates.example/live.mpd</Location>"
        "<BaseURL>http://cdn-a.example/</BaseURL><BaseURL>//cdn-b.example/x/</BaseURL>"
        "<Period><BaseURL>p/</BaseURL>"
        + rep(
            '<SegmentTemplate media="http://tpl.example/$Number$.m4s" initialization="init.mp4"/>'
        )
        + '</Period><Period xlink:href="http://remote.example/p.xml" '
        'xmlns:xlink="http://www.w3.org/1999/xlink"/>'
    )
    hosts = mpd_hosts(text, URL)
    assert len(hosts) == len(set(hosts))  # each once
    assert set(hosts) == {
        "203.0.113.7",  # the MPD's own (a BaseURL-less part resolves against it)
        "updates.example",
        "cdn-a.example",
        "cdn-b.example",
        "tpl.example",
        "remote.example",
    }


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("<BaseURL>file:///etc/</BaseURL><Period/>", "not an http"),
        (
            "<Period>"
            + rep('<SegmentTemplate media="http://$RepresentationID$.x/a"/>')
            + "</Period>",
            "not fixed",
        ),
        (
            "".join(f"<Location>http://h{i}.example/</Location>" for i in range(MAX_HOSTS + 1)),
            "hosts",
        ),
    ],
)
def test_unfixed_or_non_web_or_too_many_hosts_are_errors(body: str, needle: str) -> None:
    with pytest.raises(MpdError, match=needle):
        mpd_hosts(mpd(body), URL)


def test_the_direct_check_refuses_what_the_session_may_not_fetch() -> None:
    policy = AddressPolicy(URL)  # a public entry: public only
    ok = mpd("<Period>" + rep('<SegmentTemplate media="$Number$.m4s"/>') + "</Period>")
    assert direct_refusal(policy, ok, URL) is None
    private = ok.replace("<Period>", "<Period><BaseURL>http://10.1.2.3/</BaseURL>")
    assert "refused to fetch from 10.1.2.3" in (direct_refusal(policy, private, URL) or "")
    loopback_entry = "http://127.0.0.1:8000/s.mpd"  # opened on this machine: loopback is fine
    local = ok.replace("<Period>", "<Period><BaseURL>http://127.0.0.1:9/</BaseURL>")
    assert direct_refusal(AddressPolicy(loopback_entry), local, loopback_entry) is None
    assert direct_refusal(policy, local, URL) is not None
    assert direct_refusal(policy, "<MPD", URL) is not None  # unreadable: never handed on
