"""The session's side of the certificate exception (fakes: no sockets; the real TLS is in
tests/net/test_tls_policy.py and tests/faults/test_tls.py).

The fake network stands in for the gateway and preflight; what is real here is the
session's handling: the exempted origins it was given, the events it emits, what its
report records, and what it says when libVLC would fetch the stream itself.
"""

from __future__ import annotations

import dataclasses

from player.core.tls_origin import TlsOrigin
from player.net.events import CertificateNotVerified
from player.net.preflight import PreflightResult
from player.net.tls_policy import TlsExemptions
from player.session import CertificateUnverified, PlaybackFailed, Session, SessionEvent, StreamNote
from player.session.factories import SessionFactories, real_gateway, real_preflight, with_tls
from tests.support.fakes import FakeClock, FakeNetwork, FakePlayer

URL = "https://cdn.example:8443/show/master.m3u8"
ORIGIN = TlsOrigin("cdn.example", 8443)


def drain(session: Session) -> list[SessionEvent]:
    session.tick()
    seen = []
    while not session.events.empty():
        seen.append(session.events.get_nowait())
    return seen


def rig(**kw: object) -> tuple[Session, FakeNetwork]:
    clock = FakeClock()
    net = FakeNetwork(clock)
    return Session(FakePlayer(clock), factories=net.factories(), probe_path=False, **kw), net  # type: ignore[arg-type]


def test_the_gateways_unverified_origin_is_an_event_and_in_the_report() -> None:
    session, net = rig(tls=TlsExemptions([ORIGIN]))
    session.open(URL)
    drain(session)
    net.gateways[-1].on_event(CertificateNotVerified(ORIGIN.label))
    net.gateways[-1].on_event(CertificateNotVerified(ORIGIN.label))  # a second fetcher's
    seen = drain(session)
    assert [e.origin for e in seen if isinstance(e, CertificateUnverified)] == [ORIGIN.label]
    assert session.tls_unverified == [ORIGIN.label]
    assert session.report().tls_unverified == [ORIGIN.label]
    session.open("https://other.example/x.m3u8")  # the next open starts verified
    drain(session)
    assert session.tls_unverified == [] and session.report().tls_unverified == []


def test_a_certificate_failure_carries_the_origin_to_offer() -> None:
    clock = FakeClock()
    net = FakeNetwork(clock)
    message = "The secure connection to cdn.example failed: certificate verify failed."

    def refuse(source: str, timeout: float) -> PreflightResult:
        return PreflightResult(False, "unknown", message, tls_origin=ORIGIN.url)

    factories = dataclasses.replace(net.factories(), preflight=refuse)
    session = Session(FakePlayer(clock), factories=factories, probe_path=False)
    session.open(URL)
    failed = [e for e in drain(session) if isinstance(e, PlaybackFailed)]
    assert [(e.message, e.tls_origin, e.source) for e in failed] == [(message, ORIGIN.url, URL)]
    assert not net.gateways  # nothing was fetched


def test_without_the_gateway_the_exception_cannot_apply_and_the_viewer_is_told() -> None:
    session, _net = rig(tls=TlsExemptions([ORIGIN]), use_gateway=False)
    session.open(URL)
    notes = [e.message for e in drain(session) if isinstance(e, StreamNote)]
    assert any(
        "applies only to what Stallwatch's gateway fetches" in n and ORIGIN.label in n
        for n in notes
    ), notes


def test_skip_tls_verification_adds_exactly_that_origin() -> None:
    session, _net = rig()
    assert session.tls.origins() == []
    session.skip_tls_verification(ORIGIN)
    assert session.tls.origins() == [ORIGIN]
    assert session.tls.covers(URL) == ORIGIN
    assert session.tls.covers("https://cdn.example/show/master.m3u8") is None  # port 443
    assert session.tls.covers("http://cdn.example:8443/x") is None


def test_the_real_factories_get_the_sessions_exemptions_and_fakes_stay_fakes() -> None:
    tls = TlsExemptions()
    real = with_tls(SessionFactories(), tls)
    assert real.gateway is not real_gateway and real.preflight is not real_preflight
    fakes = FakeNetwork(FakeClock()).factories()
    assert with_tls(fakes, tls) is fakes


def test_a_rendition_hosts_certificate_failure_is_named_and_offered() -> None:
    """Before anything plays, the gateway fails a rendition's playlist on another https
    server with "TLS error"; libVLC's error that follows names that server and offers it."""
    from player.net.events import UpstreamError
    from player.playback.vlc import EventKind

    clock = FakeClock()
    net = FakeNetwork(clock)
    player = FakePlayer(clock)
    session = Session(player, factories=net.factories(), probe_path=False)
    session.open("http://plain.example/master.m3u8")
    drain(session)
    rendition_url = "https://renditions.example:8443/v0/index.m3u8?token=secret"
    net.gateways[-1].on_event(UpstreamError(rendition_url, None, "TLS error"))
    player.emit(EventKind.ERROR)
    failed = [e for e in drain(session) if isinstance(e, PlaybackFailed)]
    assert len(failed) == 1
    assert failed[0].tls_origin == "https://renditions.example:8443"
    assert "secure connection to renditions.example:8443" in failed[0].message
    assert "secret" not in failed[0].message
