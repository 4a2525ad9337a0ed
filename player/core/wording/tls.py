"""The words of the certificate exception: the offer after a failed verification, the
persistent warning while an origin is not verified, and what it cannot cover.

``label`` is a :attr:`~player.core.tls_origin.TlsOrigin.label` (``host:port``).
"""

from __future__ import annotations

OPEN_ANYWAY = "Open anyway (not secure)"
NOT_NOW = "Don't open"


def not_verified(label: str) -> str:
    """The short warning: the status bar, the Why? and statistics titles, the report."""
    return f"Certificate not verified for {label}"


def offer(label: str) -> str:
    """Shown with the "Open anyway (not secure)" button after a verification failure."""
    return (
        f"Stallwatch could not verify the certificate of {label}, so it cannot be sure the "
        "video comes from that server or that nobody changes it on the way. Open it anyway "
        "only if you trust this server and the network you are on: the exception covers "
        f"{label} only, until Stallwatch quits."
    )


def active(label: str) -> str:
    """The persistent band while the current video comes from an unverified origin."""
    return (
        f"{not_verified(label)}: you chose to open it anyway. Others on the network could "
        "read or change what this server sends. Other servers are still verified."
    )


def part_failed(name: str, label: str) -> str:
    """A playlist named a server whose certificate failed verification (the source's own
    server passed): nothing of it could be fetched."""
    return (
        f"Could not play {name}: the secure connection to {label}, which serves part of it, "
        "failed: its certificate could not be verified."
    )


def direct_only(label: str) -> str:
    """libVLC fetches this stream itself: the exception cannot reach its requests."""
    return (
        f"The certificate exception for {label} applies only to what Stallwatch's gateway "
        "fetches; libVLC fetches this stream itself and checks certificates itself, so it "
        "may refuse it."
    )


def cli_hint(origin_url: str) -> str:
    """``diagnose``'s hint after a verification failure."""
    return f"To open it anyway (not secure), add --insecure-tls-origin {origin_url}"


def report_line(labels: list[str]) -> str:
    """The text report's line for the origins that were not verified."""
    return f"Certificates NOT verified (opened anyway): {', '.join(labels)}"
