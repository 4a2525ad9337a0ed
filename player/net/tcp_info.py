"""Linux ``TCP_INFO`` of a video transfer's socket: the receiver-side signals of our own flow.

One ``getsockopt(IPPROTO_TCP, TCP_INFO)`` when a transfer's first body byte arrives and one
when it ends (never per chunk) gives, per fetch, what the client's kernel knows about the
flow (:class:`player.core.model.FlowSignals`): the receiver's RTT estimate (``tcpi_rcv_rtt``,
from the TCP timestamps the server echoes: it includes any queue the video's data waits in),
the lowest RTT of the connection (``tcpi_min_rtt``, the handshake's and our requests'), the
smoothed RTT (``tcpi_rtt``), out-of-order packets received (``tcpi_rcv_ooopack``: a hole in
the data, i.e. a packet lost upstream), our own retransmissions (``tcpi_total_retrans``) and
the bytes received (``tcpi_bytes_received``).

The struct is parsed with :mod:`struct` at the offsets of ``struct tcp_info`` in
linux/include/uapi/linux/tcp.h (below, each with the kernel that added it). An older kernel
returns a shorter struct: the fields past its end stay None. Anything that goes wrong
(another OS, a closed socket, a TLS wrapper without ``getsockopt``) gives None: reading the
flow's signals never raises and is logged at debug level once.
"""

from __future__ import annotations

import logging
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Any

from player.core.model import FlowSignals

__all__ = ["FlowMeter", "TcpInfo", "parse_tcp_info", "read_tcp_info", "socket_of"]

log = logging.getLogger(__name__)

#: TCP_INFO from linux/include/uapi/linux/tcp.h; None elsewhere (another OS's option of
#: the same number, if any, is another struct: never parsed as this one)
TCP_INFO: int | None = getattr(socket, "TCP_INFO", 11) if sys.platform.startswith("linux") else None
#: bytes asked for: the whole struct of current kernels (6.x: 248-280); the kernel copies
#: min(asked, its sizeof) and a longer buffer is harmless
BUFFER_LEN = 512

# (name, struct format, byte offset) in struct tcp_info; offsets follow the uapi header's
# layout (8 x __u8, then __u32 fields from offset 8, __u64 fields 8-aligned).
_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("rtt_us", "I", 68),  # __u32 tcpi_rtt: smoothed RTT of our sent data, us (2.6)
    ("rttvar_us", "I", 72),  # __u32 tcpi_rttvar (2.6)
    ("rcv_rtt_us", "I", 92),  # __u32 tcpi_rcv_rtt: receiver's RTT estimate, us; 0 = none (2.6.x)
    ("total_retrans", "I", 100),  # __u32 tcpi_total_retrans: our retransmissions (2.6)
    ("bytes_received", "Q", 128),  # __u64 tcpi_bytes_received (4.1)
    ("min_rtt_us", "I", 148),  # __u32 tcpi_min_rtt (4.6)
    ("rcv_ooopack", "I", 224),  # __u32 tcpi_rcv_ooopack: out-of-order packets in (5.4)
)
_NO_RTT = 0xFFFFFFFF  # min_rtt before any sample is ~0U


@dataclass(frozen=True, slots=True)
class TcpInfo:
    """The fields of one ``TCP_INFO`` read that the flow signals use (None: not in the
    struct this kernel returned, or no estimate yet)."""

    rtt_us: int | None = None
    rttvar_us: int | None = None
    rcv_rtt_us: int | None = None
    total_retrans: int | None = None
    bytes_received: int | None = None
    min_rtt_us: int | None = None
    rcv_ooopack: int | None = None


def parse_tcp_info(raw: bytes) -> TcpInfo:
    """The fields of a ``struct tcp_info`` byte string; those past its end are None.

    A receiver RTT of 0 (no estimate yet) and a min RTT of ~0U (no sample) are None.
    """
    values: dict[str, int | None] = {}
    for name, fmt, off in _FIELDS:
        size = struct.calcsize("=" + fmt)
        values[name] = (
            struct.unpack_from("=" + fmt, raw, off)[0] if len(raw) >= off + size else None
        )
    if values["rcv_rtt_us"] == 0:
        values["rcv_rtt_us"] = None
    if values["min_rtt_us"] in (0, _NO_RTT):
        values["min_rtt_us"] = None
    return TcpInfo(**values)


_warned = False


def _debug_once(msg: str, *args: object) -> None:
    global _warned
    if not _warned:
        _warned = True
        log.debug(msg, *args)


def read_tcp_info(sock: Any) -> TcpInfo | None:
    """``TCP_INFO`` of ``sock`` (a socket, or anything with ``getsockopt``), None when it
    cannot be read; never raises."""
    if sock is None or TCP_INFO is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, BUFFER_LEN)
        if not isinstance(raw, bytes | bytearray) or len(raw) < 8:
            _debug_once("TCP_INFO not available (%r)", type(raw).__name__)
            return None
        return parse_tcp_info(bytes(raw))
    except (OSError, struct.error, AttributeError, TypeError, ValueError) as e:
        _debug_once("TCP_INFO not readable: %s", e)
        return None


def socket_of(resp: Any) -> Any:
    """The socket under a requests/urllib3 response, or None (never raises).

    urllib3 keeps the connection on ``raw.connection`` (``raw._connection`` in some
    versions) and the socket on ``connection.sock``; a TLS socket's ``getsockopt`` reaches
    the TCP socket under it."""
    try:
        raw = getattr(resp, "raw", None)
        conn = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
        return getattr(conn, "sock", None)
    except Exception:  # a half-closed response: no socket
        return None


#: A wait between two body reads this long is a pause (the sender idle, or a hole being
#: repaired), not the next packet: one full-size packet takes 23 ms at 500 kbit/s, so data
#: flowing at the lowest rendition's rate never leaves such gaps while a burst-and-wait
#: server (or an RTO) does. Below this, arrivals are a continuous flow.
PAUSE_S = 0.05


def _ms(us: int | None) -> float | None:
    return None if us is None else us / 1000.0


def _delta(end: int | None, start: int | None) -> int | None:
    if end is None or start is None or end < start:
        return None
    return end - start


class FlowMeter:
    """One transfer's flow signals: a ``TCP_INFO`` read at the first body byte
    (:meth:`first_byte`) and one at the end (:meth:`finish`); :meth:`arrived` only adds
    up the pauses between reads (no system call)."""

    __slots__ = ("_first", "_last", "_paused", "_sock", "_start", "_switched", "_waited")

    def __init__(self) -> None:
        self._sock: Any = None
        self._start: TcpInfo | None = None
        self._first: float | None = None
        self._last: float | None = None
        self._paused = 0.0
        self._waited = 0.0
        self._switched = False  # a resume moved the body to another connection

    def first_byte(self, sock: Any) -> None:
        """Read the start sample (the first byte of the body has arrived). The socket is
        kept for the end sample: urllib3 hands a connection back to its pool as soon as the
        body is read, before the transfer is closed (a closed socket gives None)."""
        self._sock = sock
        self._start = read_tcp_info(sock)

    def arrived(self, now: float, waited_s: float) -> None:
        """Body bytes arrived at ``now`` (monotonic seconds) after a read that waited
        ``waited_s`` for them. Only the wait inside the read counts as a pause: time the
        consumer took (the player not reading) leaves the data in the socket buffer."""
        if self._first is not None:
            self._waited += waited_s
            if waited_s >= PAUSE_S:
                self._paused += waited_s
        if self._first is None:
            self._first = now
        self._last = now

    def connection_changed(self, sock: Any = None) -> None:
        """A Range resume onto ``sock``: the old connection's counts cannot be finished;
        the end sample is read from the new one."""
        self._switched = True
        self._sock = sock

    def finish(self) -> FlowSignals | None:
        """The fetch's signals from the end sample (None when none could be read)."""
        end = read_tcp_info(self._sock) if self._start is not None else None
        self._sock = None
        if end is None:
            return None
        start = None if self._switched else self._start
        span = (self._last - self._first) if self._first is not None and self._last else 0.0
        return FlowSignals(
            rcv_rtt_start_ms=_ms(self._start.rcv_rtt_us) if self._start else None,
            rcv_rtt_end_ms=_ms(end.rcv_rtt_us),
            min_rtt_ms=_ms(end.min_rtt_us),
            rtt_ms=_ms(end.rtt_us),
            rttvar_ms=_ms(end.rttvar_us),
            ooo_packets=_delta(end.rcv_ooopack, start.rcv_ooopack if start else None),
            retransmits=_delta(end.total_retrans, start.total_retrans if start else None),
            bytes_received=_delta(end.bytes_received, start.bytes_received if start else None),
            pause_share=min(1.0, self._paused / span) if span > 0 else None,
            wait_share=min(1.0, self._waited / span) if span > 0 else None,
        )
