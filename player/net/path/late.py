"""The hop prober's late samples: losses taken back when their answers come after the round.

A round gives up on a probe at its timeout and the prober records the probe's sample as
unanswered. Behind a deep queue (1-3 s of bufferbloat on a slow access link) the answer
comes later; its flow keeps it (:class:`player.net.path.flows.LateLedger`). Whenever it
arrives within ``flows.LATE_HORIZON_S`` of the send, the sample recorded as lost takes
its true RTT (the kernel's receive time minus the send time): one probe, one sample --
never a loss and an RTT -- with the idle/loaded label of the moment it was sent. Until
then the sample is *pending*; a probe never answered within the horizon stays a loss.

Used by the probe thread alone, except :meth:`LateSamples.pending`, which the caller
reads under the lock it holds while it mutates the samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from player.core.model import ProbeSample
from player.net.path import flows
from player.net.path.sockets import ProbeReply, ProbeSpec

HopRtt = Callable[[ProbeSpec, ProbeReply, str | None], float | None]


class LateSamples:
    """Samples recorded as unanswered whose probe may still answer, and their ledger."""

    def __init__(self) -> None:
        self.ledger = flows.LateLedger()  # pass to every round: engine.run_probes(late=)
        self._awaiting: dict[flows.LateTicket, ProbeSample] = {}
        self.taken_back = 0  # losses that became RTTs

    def begin_round(self) -> None:
        self.ledger.begin_round()

    def expect(self, key: int, sample: ProbeSample) -> None:
        """``sample`` (spec key ``key``) was recorded unanswered in the round just run:
        its answer may still come if the round gave up on its probe (a ticket)."""
        ticket = self.ledger.timed_out.get(key)
        if ticket is not None:
            self._awaiting[ticket] = sample

    def arrivals(self, *, poll: bool) -> list[tuple[flows.LateTicket, ProbeReply]]:
        """The late answers claimed since the last call (``poll``: read the flows first,
        between rounds). No lock of the caller's is needed (socket reads)."""
        if not self._awaiting:
            return []
        if poll:
            self.ledger.poll()
        return self.ledger.take()

    def apply(
        self,
        arrived: list[tuple[flows.LateTicket, ProbeReply]],
        known: Mapping[int, str | None],
        hop_rtt: HopRtt,
    ) -> int:
        """Give the awaiting samples their late RTTs (``hop_rtt`` judges that the answer
        measures the hop: the known router's); drop the stale ones (losses for good).
        The caller holds the lock that guards the samples. Returns the bytes received."""
        rcvd = 0
        for ticket, reply in arrived:
            sample = self._awaiting.pop(ticket, None)
            if sample is None:
                continue
            rcvd += reply.received_bytes
            rtt = hop_rtt(ticket.spec, reply, known.get(ticket.spec.key))
            if rtt is not None:
                sample.rtt_ms = rtt  # the loss recorded at the timeout is taken back
                self.taken_back += 1
        now = time.monotonic()
        for ticket in [t for t in self._awaiting if t.stale(now)]:
            del self._awaiting[ticket]  # never answered within the horizon: a loss
        return rcvd

    def pending(self) -> list[ProbeSample]:
        """The samples still awaiting a late answer (under the caller's lock)."""
        return [s for s in self._awaiting.values() if s.rtt_ms is None]
