"""A certificate authority made by the test (trustme): nobody trusts it unless told to.

Servers get certificates for ``127.0.0.1``/``localhost``/``::1`` signed by it, so a client
with the system's trust store sees a real verification failure ("unable to get local
issuer certificate"), and a client given :attr:`LocalCA.bundle` verifies them for real.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


class LocalCA:
    """One CA per test; ``server_context()`` for an origin, ``bundle`` for a trusting client."""

    def __init__(self, directory: Path) -> None:
        self._ca = trustme.CA(organization_name="Stallwatch tests (not trusted)")
        directory.mkdir(parents=True, exist_ok=True)
        self.bundle = directory / "local-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.bundle))

    def server_context(self, *names: str) -> ssl.SSLContext:
        """A server context whose certificate (for ``names``, default loopback) this CA signed."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ca.issue_cert(*(names or LOOPBACK_NAMES)).configure_cert(ctx)
        return ctx
