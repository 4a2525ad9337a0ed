"""Before VLC gets a DASH MPD to play itself: may it fetch every address the MPD names?

A DASH stream the gateway cannot serve is handed to VLC (``direct`` mode), and VLC then
fetches the segments without the session's address policy
(:mod:`player.net.url_policy`). So every host the MPD can lead to
(:func:`player.net.dash.hosts.mpd_hosts`) is resolved and checked with the session's
policy first; one refused host refuses the stream.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from player.net.dash import MpdError
from player.net.dash.hosts import mpd_hosts
from player.net.url_policy import AddressPolicy, AddressRefused

__all__ = ["direct_refusal"]

log = logging.getLogger(__name__)


def _addresses(host: str) -> list[str]:
    """``host``'s addresses (a literal is itself); [] when it does not resolve."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:  # VLC cannot fetch from it either
        return []
    return list(dict.fromkeys(str(i[4][0]) for i in infos))


def direct_refusal(policy: AddressPolicy | None, text: str, final_url: str) -> str | None:
    """Why VLC must not get this MPD to fetch itself (it would bypass the session's address
    policy: :mod:`player.net.url_policy`), or None when every host it names is allowed."""
    try:
        hosts = mpd_hosts(text, final_url)
    except MpdError as e:
        log.warning("DASH: MPD URLs cannot be checked: %s", e)
        return "its manifest names addresses that cannot be checked"
    if policy is None:
        return None
    for host in hosts:
        addrs = _addresses(host)
        if not addrs:
            continue
        try:
            policy.permitted(host, addrs)
        except AddressRefused as e:
            return e.reason
    return None
