"""The loopback origin server lives in the product (the demo serves its stream with it)."""

from player.net.loopback_origin import (  # noqa: F401
    Fault,
    OriginServer,
    make_self_signed_cert,
    server_ssl_context,
)
