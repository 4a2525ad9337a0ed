"""Certificate verification stays on except for the exact origin the viewer exempted.

Real HTTPS servers on loopback with certificates from a CA made by the test (trustme), so
verification fails for real; the same servers verify for real with that CA's bundle.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from urllib3.exceptions import InsecureRequestWarning

from player.core.tls_origin import TlsOrigin
from player.net.events import CertificateNotVerified
from player.net.fetch import Fetcher, FetchFailed
from player.net.preflight import preflight
from player.net.tls_policy import TlsExemptions
from tests.support.hostile import HostileOrigin
from tests.support.local_ca import LocalCA

PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg.ts\n#EXT-X-ENDLIST\n"


@pytest.fixture
def ca(tmp_path: Path) -> LocalCA:
    return LocalCA(tmp_path / "ca")


@pytest.fixture
def two(ca: LocalCA) -> Iterator[tuple[HostileOrigin, HostileOrigin]]:
    """Two HTTPS origins on 127.0.0.1 (two ports), certificates from the untrusted CA."""
    with (
        HostileOrigin(ssl_context=ca.server_context()) as a,
        HostileOrigin(ssl_context=ca.server_context()) as b,
    ):
        for o in (a, b):
            o.route("/index.m3u8", body=PLAYLIST)
        yield a, b


def origin_of(o: HostileOrigin) -> TlsOrigin:
    origin = TlsOrigin.of(o.url(""))
    assert origin is not None
    return origin


def test_only_the_exempted_origin_skips_verification(two, ca: LocalCA) -> None:  # noqa: ANN001
    a, b = two
    events: list[object] = []
    f = Fetcher(on_event=events.append, tls=TlsExemptions([origin_of(a)]))
    try:
        assert f.get_bytes(a.url("index.m3u8"))[0] == PLAYLIST
        assert f.get_bytes(a.url("index.m3u8"))[0] == PLAYLIST
        # the same host on another port is another origin: verified, and it fails
        with pytest.raises(FetchFailed) as failed:
            f.get_bytes(b.url("index.m3u8"))
        assert failed.value.reason == "TLS error"
        assert failed.value.fetch is not None and failed.value.fetch.retries == 0  # permanent
    finally:
        f.close()
    assert not b.seen("/index.m3u8")  # the handshake failed: nothing was sent to b
    reported = [e for e in events if isinstance(e, CertificateNotVerified)]
    assert reported == [CertificateNotVerified(origin_of(a).label)]  # once per origin
    trusting = Fetcher(verify=str(ca.bundle))  # b's failure is verification, nothing else
    try:
        assert trusting.get_bytes(b.url("index.m3u8"))[0] == PLAYLIST
    finally:
        trusting.close()


def test_a_redirect_from_the_exempted_origin_to_another_is_verified(two) -> None:  # noqa: ANN001
    a, b = two
    a.route("/go.m3u8", status=302, headers={"Location": b.url("index.m3u8")})
    with HostileOrigin() as plain:
        plain.route("/to-a.m3u8", status=302, headers={"Location": a.url("index.m3u8")})
        f = Fetcher(tls=TlsExemptions([origin_of(a)]))
        try:
            with pytest.raises(FetchFailed, match="TLS error"):
                f.get_bytes(a.url("go.m3u8"))
            # the other way round: a hop *to* the exempted origin is not verified
            assert f.get_bytes(plain.url("to-a.m3u8"))[0] == PLAYLIST
        finally:
            f.close()
    assert a.seen("/go.m3u8") and not b.seen("/index.m3u8")


def test_an_unverified_connection_is_not_reused_once_the_exception_is_gone(two) -> None:  # noqa: ANN001
    a, _b = two
    tls = TlsExemptions([origin_of(a)])
    f = Fetcher(tls=tls)
    try:
        first = f.get_bytes(a.url("index.m3u8"))[1]
        again = f.get_bytes(a.url("index.m3u8"))[1]
        assert again.fetch.reused_connection and not first.fetch.reused_connection
        tls.revoke(origin_of(a))
        with pytest.raises(FetchFailed, match="TLS error"):  # a new, verified connection
            f.get_bytes(a.url("index.m3u8"))
    finally:
        f.close()
    assert len(a.seen("/index.m3u8")) == 2


def test_preflight_names_the_origin_that_failed_and_what_it_skipped(two) -> None:  # noqa: ANN001
    a, b = two
    failed = preflight(a.url("index.m3u8"), timeout=5)
    assert not failed.ok and failed.tls_origin == origin_of(a).url
    assert "secure connection" in failed.message and "certificate" in failed.message
    assert failed.unverified == ()
    tls = TlsExemptions([origin_of(a)])
    ok = preflight(a.url("index.m3u8"), timeout=5, tls=tls)
    assert ok.ok and ok.kind == "hls" and ok.unverified == (origin_of(a).label,)
    # a redirect from the exempted origin to b: b failed, and b is the origin to offer
    a.route("/go.m3u8", status=302, headers={"Location": b.url("index.m3u8")})
    hop = preflight(a.url("go.m3u8"), timeout=5, tls=tls)
    assert not hop.ok and hop.tls_origin == origin_of(b).url


def test_other_failures_offer_no_exception(tmp_path: Path) -> None:
    with HostileOrigin() as plain:
        r = preflight(plain.url("missing.m3u8"), timeout=5)
    assert not r.ok and r.tls_origin is None


@pytest.mark.parametrize(
    "url",
    [
        "https://exempt.example:8443\\@other.example/x",  # urllib3 and a naive parse could differ
        "https://exempt.example:8443@other.example/x",  # userinfo: the host is other.example
        "https://other.example/?https://exempt.example:8443/",
        "https://exempt.example.other.example:8443/",
    ],
)
def test_an_odd_spelling_never_stretches_an_exception(url: str) -> None:
    tls = TlsExemptions([TlsOrigin("exempt.example", 8443)])
    assert tls.covers(url) is None
    assert tls.covers("https://EXEMPT.example:8443/live/master.m3u8") == TlsOrigin(
        "exempt.example", 8443
    )


def test_an_exemption_for_a_unicode_host_covers_its_requests() -> None:
    # urllib3 connects to the IDNA form; the exemption is kept in that form too
    tls = TlsExemptions([TlsOrigin.of("https://Bücher.example:8443/")])
    want = TlsOrigin("xn--bcher-kva.example", 8443)
    assert tls.covers("https://bücher.example:8443/live/master.m3u8") == want
    assert tls.covers("https://xn--bcher-kva.example:8443/seg.ts") == want
    assert tls.covers("https://bucher.example:8443/") is None
    assert tls.covers("https://bücher.example/") is None  # another port


def _insecure(seen: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in seen if issubclass(w.category, InsecureRequestWarning)]


def test_urllib3_is_quiet_for_the_exempted_host_only(two, caplog) -> None:  # noqa: ANN001
    """A stray unverified request elsewhere (not through the exemption) still warns."""
    a, b = two
    other_host = b.url("index.m3u8").replace("127.0.0.1", "localhost", 1)
    assert "localhost" in other_host
    caplog.set_level(logging.WARNING, logger="player.net.tls_policy")
    with warnings.catch_warnings(record=True) as seen:
        # record each one (no once-per-place registry); after ours, so ours still apply
        warnings.filterwarnings("always", category=InsecureRequestWarning, append=True)
        requests.get(a.url("index.m3u8"), verify=False, timeout=10).close()
        assert len(_insecure(seen)) == 1 and "'127.0.0.1'" in _insecure(seen)[0]  # before
        del seen[:]
        tls = TlsExemptions([origin_of(a)])
        tls.exempt(origin_of(a))  # twice: one filter, one log line
        f = Fetcher(tls=tls)
        try:
            assert f.get_bytes(a.url("index.m3u8"))[0] == PLAYLIST
            assert f.get_bytes(a.url("index.m3u8"))[0] == PLAYLIST
        finally:
            f.close()
        assert _insecure(seen) == []  # the exempted origin: our own line instead
        requests.get(other_host, verify=False, timeout=10).close()
        assert len(_insecure(seen)) == 1 and "'localhost'" in _insecure(seen)[0]
    off = [r for r in caplog.records if "verification is OFF" in r.getMessage()]
    assert [r.getMessage() for r in off] == [
        f"certificate verification is OFF for {origin_of(a).label} (the viewer's choice)"
    ]
