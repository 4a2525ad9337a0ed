"""Every constant and threshold of the pure core, each with the reason for its value.

Times are seconds unless a name ends in ``_MS``; rates are bits per second.
Change a value here, not in the modules, and re-run ``pytest tests/core``.
"""

from __future__ import annotations

# =========================================================================== buffer health

# A freeze is "no new picture for max(FREEZE_MIN_S, FACTOR x median frame interval)".
# 0.35 s is ~8 frames at 24 fps and ~21 at 60 fps, far above decoder jitter, and leaves
# room for 10 Hz sampling so a stall is reported within 0.5 s of the picture freezing
# (see FRAME_TIME_UNCERTAINTY_S).
FREEZE_MIN_S = 0.35
# 2.5 missed frame intervals: a 1 fps slideshow waits 2.5 s, so a still that is simply
# shown for its full second is not a stall, while one late frame is tolerated.
FREEZE_FRAME_INTERVAL_FACTOR = 2.5
# Upper bound for very low frame rates (e.g. one picture every 5 s) so a stall is still
# reported eventually; beyond this the gateway/playhead evidence is what matters.
FREEZE_MAX_S = 8.0
# Until the frame rate is known (fewer than FRAME_INTERVAL_MIN_OBS intervals: the first
# ~0.3 s of 24 fps video, the first 3 s of a 1 fps slideshow) assume a slideshow could be
# playing: 2.5 s = the 1 fps threshold. A starved gateway shortens it (see below).
FREEZE_UNKNOWN_RATE_S = 2.5
# When the gateway is starved (buffer ahead <= STARVED_BUFFER_S) a frozen picture is
# almost surely a stall: wait only 1.5 frame intervals (still >= FREEZE_MIN_S).
STARVED_FREEZE_FACTOR = 1.5
# Buffer ahead at or below which the gateway counts as starved. The playhead lags by up
# to one coarse step, so the computed buffer over-estimates: 0.5 s really means "empty".
STARVED_BUFFER_S = 0.5
# A new picture seen by a sample appeared at most this long before it (one sample period
# at the slowest 10 Hz feed). The freeze clock starts at that earliest moment, so with
# FREEZE_MIN_S the worst-case report comes 0.35 + 0.1 - 1 frame < 0.5 s after the freeze,
# and at least 0.25 s of frozen picture (6 frames at 24 fps) is needed to report one.
FRAME_TIME_UNCERTAINTY_S = 0.1
# Recent frame intervals kept for the median (~1 s of 24 fps samples, ~24 s of 1 fps).
FRAME_INTERVAL_WINDOW = 24
# Intervals needed before the median is trusted.
FRAME_INTERVAL_MIN_OBS = 3
# Distinct pictures that mark the end of startup. libVLC displays the first decoded
# picture (preroll) and may then hold it while its cache fills; a freeze right after
# it (seen: 0.55 s with playhead 0) is still startup, not a stall.
STARTUP_PICTURES = 2
# A freeze with at least this much media buffered is a player glitch (e.g. VLC recreating
# its video output on a rendition switch: ~1.2 s frozen with a full buffer), not a stall.
# At a real network stall VLC has drained its cache and the coarse playhead adds at most
# ~1.1 s of apparent buffer (delivered media counts whole segments only, so it never
# over-counts), so 2 s separates the two; 3 s misread a switch glitch ~2 s after start,
# when the player had only two segments, as a stall.
HEALTHY_BUFFER_S = 2.0
# A glitch turns into a stall only when the buffer falls clearly lower (hysteresis: one
# coarse playhead step must not flip a glitch into a stall).
GLITCH_PROMOTE_BUFFER_S = 1.2
# New pictures needed to declare a stall over (hysteresis against a lone late frame);
# at 24 fps two pictures take 83 ms, so the end is still reported within 0.5 s.
STALL_EXIT_FRAMES = 2
# At or above this frame interval (<= 10 fps) a single new picture ends a stall, or the
# end would be reported a whole frame interval late.
LOW_FPS_INTERVAL_S = 0.1
# Smallest playhead change treated as movement (get_time has ms resolution; filters
# rounding noise, far below its 0.26 s minimum step).
PLAYHEAD_MIN_ADVANCE_S = 0.05
# Without a frame counter: the playhead must stand still longer than its largest coarse
# step (1.1 s measured) before a stall is declared.
PLAYHEAD_FREEZE_S = 1.5
# While the picture is frozen, a playhead that moves this far (about two coarse steps)
# shows the media clock is running: the input is not starved, so it is not a stall.
PLAYHEAD_RUNNING_ADVANCE_S = 2.0

# =========================================================================== ABR

# Throughput samples in the prediction window (RobustMPC and FESTIVE use 5: reacts within
# a few segments yet one outlier moves the harmonic mean little).
ABR_WINDOW = 5
# The prediction is divided by 1 + the largest overestimate among this many recent ones
# (RobustMPC's window): one collapse keeps the ABR careful for ~5 segments, then it trusts
# a steady link again.
ABR_ERROR_WINDOW = 5
# The largest overshoot the discount counts (the prediction is never cut below 1/(1+this)
# of the window's mean): a collapse (9 -> 1.8 Mbit/s, overshoot 4) would otherwise divide
# the next five predictions by 5 on top of the slow samples the window already holds,
# and keep a recovered link at the lowest rendition for five segments. A deeper collapse
# during a download is the abandon rule's (player/core/abandon.py), not the prediction's.
ABR_MAX_OVERSHOOT = 1.0
# Segments planned ahead (RobustMPC's horizon, 5): long enough that a switch must pay for
# itself (and that a dip is seen coming in the buffer), short enough that the throughput
# prediction still means something at its end.
ABR_HORIZON_SEGMENTS = 5
# A planned second of rebuffering costs this many times the top rendition's Mbit/s (the
# plan scores Mbit/s per segment): the QoE_lin paper's mu is its ladder's top rate
# (4.3 Mbit/s), i.e. weight 1.0, which scales with any ladder (the benchmark scores with
# a fixed 4.3; on its 6 Mbit/s ladder ours is the stricter).
ABR_REBUFFER_WEIGHT = 1.0
# Reservoir: the buffer the controller protects (BBA's "reservoir"). At least 6 s or
# 1.5 segments, whichever is longer, so one slow segment cannot empty it.
ABR_RESERVOIR_MIN_S = 6.0
ABR_RESERVOIR_SEGMENTS = 1.5
# Below this buffer the throughput estimate is evidently stale: go to the lowest rendition.
# The plan also counts the buffer under it as empty (libVLC drains its demuxer at each
# discontinuity, and the buffer reading lags by a sampling tick).
ABR_PANIC_BUFFER_S = 2.0
# A second of buffer that a plan leaves under the reservoir (or under the buffer it
# started with, if lower) at its horizon costs this many planned stall seconds: a stall
# deferred past the horizon is still a stall. Without it a 5-segment plan drains a deep
# buffer on a link just under its rendition and meets the next dip at the panic level;
# 1.0 (vs 0.5, 0.3) was the one weight with no stall on 24 seeded bursty/LTE-like traces
# outside the benchmark's five in simulate() at a 15 s buffer.
ABR_TERMINAL_WEIGHT = 1.0
# An up-step needs enough buffer (above the panic level) to survive the throughput
# dropping to 1/2 of the prediction while the bigger segment downloads. At startup's
# shallow buffer this is what keeps the first climbs careful (at 4 s a rendition must fit
# twice into the prediction); it replaces the old fixed 2.0 startup margin, chosen when
# libVLC alone held ~3.5 s: with the gateway's read-ahead the buffer is real.
ABR_UP_DROP_TOLERANCE = 0.5
# ... or the deepest recent collapse, when deeper: an up-step must survive the throughput
# falling to 1 / (1 + the largest overshoot) among this many recent samples. Longer than
# the discount's window on purpose: low renditions' segments arrive in a fraction of a
# second, so five samples forget a collapse within seconds of the link coming back; 15
# segments are ~30 s of media, the time over which a link that collapsed once (a train's
# tunnels, a shared cell's bursts, the benchmark's sawtooth) is likely to do it again.
ABR_VOLATILITY_WINDOW = 15
# Abandoning a segment download (player/core/abandon.py): no verdict before this much of
# it has passed (s): a first-byte wait plus a TCP burst or two say nothing about the rate.
# 0.5 s is a quarter of a 2 s segment, early enough to re-fetch one at the lowest rendition.
ABR_ABANDON_MIN_ELAPSED_S = 0.5
# The judged rate is the lower of the whole transfer's and the rate over this last window
# (s): the lifetime average of a segment that began on a fast link hides a collapse for
# seconds; one second is several TCP round trips on any real path, so not a single burst.
ABR_ABANDON_RATE_WINDOW_S = 1.0
# Simulator: VLC's adaptive module buffers about 30 s ahead for VOD.
SIM_MAX_BUFFER_S = 30.0

# =========================================================================== attribution

# Samples needed at a hop before its RTTs are judged: three idle and three loaded is the
# least that gives a median and a quartile that one outlier cannot move.
MIN_IDLE_SAMPLES = 3
MIN_LOADED_SAMPLES = 3
# "Crowded while idle" compares the idle median with the hop's floor; with fewer than five
# idle samples the median is too close to the floor to mean anything.
MIN_IDLE_SAMPLES_CROWD = 5
# The loaded RTT that is compared with the idle median is this quantile of the loaded
# samples: a queue lifts the whole distribution, a router's occasional slow reply only
# its top, so the lower quartile sees the first and ignores the second.
LOADED_QUANTILE = 0.25
# Inflation under load = loaded 25th percentile - idle median, counted when it exceeds
#   max(INFLATION_ABS_MS, INFLATION_REL x idle median, INFLATION_JITTER_K x idle sigma).
# 5 ms absolute: above timer/scheduling noise of unprivileged probes, yet a BBR sender's
# +15-30 ms queue over a 1 ms home hop counts (loss-based senders give hundreds of ms).
INFLATION_ABS_MS = 5.0
# 30 % of the baseline: a 40 ms hop needs +12 ms, so a far hop's natural wobble is not
# taken for a queue while a BBR queue (+15 ms and up) still is.
INFLATION_REL = 0.3
# Three robust sigmas of the idle jitter: a Wi-Fi hop that wobbles by 10 ms needs +30 ms.
INFLATION_JITTER_K = 3.0
# Crowded while idle: idle median - floor >= max(CROWD_ABS_MS, CROWD_REL x floor). The
# floor is propagation + an empty queue; a link others keep busy has a median far above
# it. 10 ms absolute (twice the load threshold: idle probes see no queue of ours, so a
# smaller excess is within the jitter of a quiet Wi-Fi link) and 50 % relative.
CROWD_ABS_MS = 10.0
CROWD_REL = 0.5
# Fallback without idle samples (our download never paused): a hop's loaded RTTs must
# swing (p90 - p10) by max(SPREAD_ABS_MS, INFLATION_REL x the previous hop's floor) to show
# a varying queue. 10 ms: twice the load threshold, since a spread of a handful of samples
# also holds scheduling noise of a busy client; a loss-based sender's queue swings by
# hundreds of ms, a BBR sender's by tens. Needs MIN_SPREAD_SAMPLES loaded samples (p10 and
# p90 of fewer are the extremes themselves).
SPREAD_ABS_MS = 10.0
MIN_SPREAD_SAMPLES = 6
# A later hop whose rise tops everything before it by this multiple of the first onset's
# rise sits behind a second, larger queue: the bottleneck's (attribution.hop_stats.
# dominant_onset). 3x: queues add up along the path, so noise or a lesser queue in front
# of the real one shows as a fraction of it, while hops carrying one queue show it with
# their own jitter on top (CARRY_FRACTION's half below, up to about twice above); 3x
# leaves room for that on both sides (seen on the realistic tree: 17 ms of swing in front
# of a 180 ms queue).
DOMINANT_STEP_K = 3.0
# A rise is "carried" by a later hop that shows at least half of it (queues add up along
# the path; later hops' own jitter can hide a little of it).
CARRY_FRACTION = 0.5
# An onset needs at least half of the later answering hops to carry it; otherwise it is a
# router answering slowly from its control plane, not a queue.
CARRY_MIN_FRACTION = 0.5
# A router slow to answer in front of a real queue: the next hop is inflated too, but by
# less than a quarter of this hop's rise. A queue on the link into this hop would reach the
# next hop whole (queues add up along the path), so the rise is this router's own slowness
# and the queue cannot be moved onto it; with no flat hop between, the queue's link cannot
# be placed (unknown). A quarter, not CARRY_FRACTION: a BBR queue of tens of ms read from a
# few samples can show half at the next hop, a control-plane delay of hundreds of ms on
# top of a 40 ms queue shows far less. Idle-based statistics only (the spread fallback's
# swings are too noisy for a ratio).
SLOW_ALONE_FRACTION = 0.25
# Losses under load (attribution.hop_stats.loss_run_start) are supporting evidence only:
# a queue that overflows on the link into hop k drops probes of every hop from k on, and
# a hop whose answers it dropped keeps no RTT to show the rise. Such a hop (too few loaded
# RTTs to judge) counts as carrying an RTT onset that the losses start at -- never as an
# onset itself: a router that drops probes (rate-limiting its control plane) with no RTT
# rise cannot move a queue onto itself, nor can a policer that drops without queueing.
# A hop's loss share is judged from this many probes (one lost in five is already 20 %).
LOSS_MIN_PROBES = 5
# Lossy under load: at least a fifth of its loaded probes unanswered (a tail-drop queue
# filled by a loss-based sender overflows at every sawtooth peak, a large share of the
# time) ...
LOSS_LOADED_MIN = 0.2
# ... and 15 points more than it loses idle: a router rate-limiting its answers drops as
# many of them idle as loaded, our download does not change its probe rate.
LOSS_RISE_MIN = 0.15
# The losses must run over this many hops to the end of the path, with the hop before the
# run losing no more than that: one hop losing alone cannot be told from its own control
# plane.
LOSS_RUN_MIN_HOPS = 2
# Slow first byte: median TTFB >= 400 ms (well past any usual RTT + request handling) and
# TTFB - RTT - path queue >= max(300 ms, 4 x RTT) ("much larger than the connect RTT").
SERVER_TTFB_MIN_MS = 400.0
SERVER_TTFB_EXCESS_MS = 300.0
SERVER_TTFB_RTT_FACTOR = 4.0
# With no RTT to compare (reused connections, no hop answers) the server may simply be
# far away: only a first byte more than a second late is blamed on it.
SERVER_TTFB_NO_RTT_MS = 1000.0
# Device: pictures dropped while the buffer was healthy, at least 10 and 2 % of the shown
# ones (a few drops at a scene cut are normal); CPU at or above 90 % is saturated.
DEVICE_MIN_DROPPED = 10
DEVICE_DROP_FRACTION = 0.02
CPU_SATURATED_PCT = 90.0
# Playback speed: at a rate r the player consumes r seconds of video per second, so it
# needs r x the video's bitrate. A rate within 2 % of 1 is normal speed (libVLC hands the
# rate back as a float, and its own rate steps are far coarser than 2 %). At a faster rate
# a stall is blamed on no network segment unless the downloads were below the video's
# bitrate at normal speed: a link that carries 1x is not at fault for failing 2x.
# Such a stall's verdict names no segment (``unknown``, no confidence, as every unknown
# row); its notice says the speed, for sure when a throughput was measured, else "probably".
RATE_NORMAL_TOLERANCE = 0.02
# This computer's other traffic (core.host_traffic): what its network interfaces received
# (loopback excluded) beyond the video's bytes and the probes', over the last 10 s before
# the stall (10 samples of the 1 s device tick: one segment's burst cannot fill it alone).
# Interface counters include TCP/IP and Ethernet headers (~4.6 % on a 1500-byte MTU) and
# TLS framing; 6 % is allowed for them. "Busy" needs at least 500 kbit/s and a quarter of
# the video's own rate (retransmitted duplicates, a few % even on a lossy link, stay
# below); "quiet" at most 200 kbit/s or a tenth of the video's rate (background sync,
# DNS, the desktop). In between, nothing is said either way.
HOST_TRAFFIC_WINDOW_S = 10.0
HOST_TRAFFIC_MIN_SPAN_S = 3.0  # fewer seconds of counters than this: not judged
HOST_RX_OVERHEAD = 1.06
HOST_OTHER_BUSY_BPS = 500_000.0
HOST_OTHER_BUSY_FRACTION = 0.25
HOST_OTHER_QUIET_BPS = 200_000.0
HOST_OTHER_QUIET_FRACTION = 0.10
# The interface must have received at least 95 % of what the player read in the window
# (the player's bytes pass through it; a little slack for bytes buffered in the kernel at
# the window's edges). Less means the interface does not carry the video (a local route,
# another interface, another address family): nothing is judged.
HOST_RX_CONSISTENT_FRACTION = 0.95
# Multicast and broadcast floods (IPTV on a LAN) are not downloads: before "busy" is said,
# every multicast packet counted is taken off at the largest Ethernet frame (1514 bytes),
# so only what multicast cannot explain remains. "Quiet" is judged on the whole count.
MULTICAST_MAX_FRAME_BYTES = 1514
# Below this an "other" rate reads as "next to nothing" (bits/s; wording.host).
HOST_NEXT_TO_NOTHING_BPS = 50_000.0
# The video flow's own TCP signals (model.FlowSignals, Linux TCP_INFO; attribution.flow).
# The floor is the lowest RTT the flow showed in this open's fetches (the fetch log's
# window): the handshake's min_rtt or a receiver RTT estimate. A fetch's flow QUEUED when
# its receiver RTT at the end of the body is above the floor by at least
# max(40 ms, 0.5 x floor, 2 x the kernel's RTT mean deviation): Linux TCP timestamps tick
# in milliseconds and a receiver delays its ACKs up to 40 ms (TCP_ATO_MIN), which the
# server's echo carries, so a smaller rise is no queue; half the floor, because long paths
# vary by that much unloaded; 2 x rttvar scales the bar to the connection's own jitter.
# It is FLAT at most 20 ms (0.25 x floor, 1 x rttvar) above: no queue worth the name; in
# between nothing is said. A receiver RTT taken across the sender's pauses includes the
# pause, so a body that spent at least half its time waiting for data (FLOW_PAUSED_SHARE;
# the queue of the namespace test spent <= 22 %, a paced server 98 %) is PAUSED: its RTT
# says nothing about a queue.
FLOW_RISE_MIN_MS = 40.0
FLOW_RISE_REL = 0.5
FLOW_RISE_JITTER_K = 2.0
FLOW_FLAT_MAX_MS = 20.0
FLOW_FLAT_REL = 0.25
FLOW_FLAT_JITTER_K = 1.0
FLOW_PAUSED_SHARE = 0.5
# "Our flow queued": at least 2 fetches queued and more than half of those judged (one
# slow-start burst is not a standing queue).
FLOW_MIN_QUEUED = 2
# "The server sends slowly into an empty network" (application-limited) and "a rate limit
# that drops packets" (a policer) need this many recent fetches, each below
# FLOW_SHORTFALL x the bitrate needed (a clear shortfall, not rounding) and each lasting at
# least FLOW_MIN_RTTS floors: slow start doubles the window every RTT, so a body shorter
# than ~10 RTTs can be limited by the window's growth (a long path), not by the sender.
FLOW_MIN_FETCHES = 3
FLOW_SHORTFALL = 0.9
FLOW_MIN_RTTS = 10.0
# ... and the player must have waited for the data most of the body's time (wait_share):
# when the data waited for the player instead (a busy computer reading late), the window
# this computer advertises set the pace, not the sender. A sender- or network-paced body
# keeps the reader waiting ~all the time (>= 0.95 in the namespace test).
FLOW_SENDER_PACED_WAIT = 0.5
# A policer's plateau: the lossy fetches' throughputs within a factor 2.5 of each other.
# Behind one rate limit the rate per download still varies with how the sender recovers
# from the drops (1.8-3.8 Mbit/s behind a 4 Mbit/s policer in tests/net/test_tcp_info_netns);
# a wider spread is not one steady limit.
FLOW_PLATEAU_RATIO = 2.5
# Base confidence of each row of attribution.RULES, before sample-count and margin
# scaling. Path rows are high because a located queue is direct evidence; "crowded"
# rows higher still because inflation while idle cannot be our own flow. Interconnect is
# a notch lower than ISP (the org boundary from reverse DNS can be off by a hop); a queue
# only at the server's hops lower again (servers often answer probes from a slow path).
# Device with CPU saturation is near-certain, drops alone less so, CPU alone is weak.
# A server on this computer (loopback) that delivers less than the video needs is the
# server, or whatever it relays from, by elimination (no router seen between): a notch below
# a measured slow first byte; capped at MISSING_EVIDENCE_CAP when no hop answered (a
# loopback host alone is also a port-forward, a local proxy or VPN client).
# Unknown rows carry no confidence (they name nothing); "none" is a fact, not a guess.
RULE_BASE_CONFIDENCE: dict[str, float] = {
    "device_drops_cpu": 0.9,
    "device_drops": 0.7,
    "home_crowded": 0.8,
    "home_slow": 0.8,
    "isp_access": 0.8,
    "isp_crowded": 0.85,
    "isp_core": 0.8,
    # a queue in the ISP's part of the route that an unjudged ISP hop (silent, too few
    # answers) keeps from being placed on the access link or deeper inside: the segment is as
    # certain as isp_access's (every hop it may sit behind is the ISP's), only "why" is not
    "isp_unplaced": 0.8,
    "interconnect_crowded": 0.8,
    "interconnect_slow": 0.75,
    "server_path": 0.65,
    "server_ttfb": 0.8,
    "server_local": 0.7,
    # the flow's own signals: the server's data came slowly, with no queue and no loss on
    # the way (attribution.flow); the notice stays soft (< SOFT_CONFIDENCE): a server's
    # application and a limit in its own network that does not queue are not told apart
    "server_sends_slowly": 0.55,
    "device_cpu": 0.45,
    "speed_shortfall": 0.0,
    "unknown_conflict": 0.0,
    "unknown_ambiguous": 0.0,
    "unknown_inconsistent": 0.0,
    "unknown_no_probes": 0.0,
    "unknown_flat": 0.0,
    "unknown_weak": 0.0,
    "none": 1.0,
}
# "The {ISP} network is crowded" is the sentence of the 2014 cease-and-desist letter (the
# seeds): it is said only for a queue inside the ISP's own network, past its access link
# (a flat answering ISP hop before the onset), seen while idle (not in the spread fallback),
# persisting across stalls (AttributionInput.crowding_persisted), and at this confidence or
# more. 0.7 = the crowded row's base 0.85 x a quality of 0.82: full samples and a margin of
# about 1.8 x the crowd threshold, with no contradicting or isolated hop, no gradual rise
# and no conflict (each of those factors alone takes such a verdict below it). Below the bar the notice says what was measured and that
# the cause is not settled. The wording checks the same bar (an overall verdict's share
# can lower a stall's confidence below it).
ISP_CROWDED_MIN_CONFIDENCE = 0.7
# "The same queue" at an earlier stall (crowding_persisted): the onset seen while idle inside
# the same ISP (same org) at the same hop or this many hops from it. A route's hop count can
# shift by one between stalls (a load-balanced path, an extra hop answering), so the same
# queue can show at a neighbouring TTL; further away it is another link.
CROWDING_SAME_QUEUE_HOPS = 1
# Confidence = base (per rule) x sample factor x margin factor x consistency factors.
# Sample factor rises linearly from CONF_SAMPLE_FLOOR (no samples) to 1 at FULL samples.
CONF_SAMPLE_FLOOR = 0.5
CONF_FULL_SAMPLES = 10
CONF_FULL_TTFB_SAMPLES = 3
# Margin factor: CONF_MARGIN_FLOOR just over the threshold, 1 at CONF_FULL_MARGIN x it.
CONF_MARGIN_FLOOR = 0.7
CONF_FULL_MARGIN = 3.0
# Onset at the last answering hop: nothing later confirms it.
CONF_UNCONFIRMED_FACTOR = 0.75
# Rise spread over several hops instead of a step at the onset.
CONF_GRADUAL_FACTOR = 0.6
# Some hop showed an inflation that later hops did not (contradictory evidence).
CONF_ISOLATED_FACTOR = 0.75
# Spread fallback: the segment is located, but crowded and too slow cannot be told apart.
CONF_SPREAD_FACTOR = 0.85
# Self-induced inflation although throughput covered the needed bitrate.
CONF_NO_SHORTFALL_FACTOR = 0.8
# Two rules for different segments both match: the winner's confidence is scaled by
# CONFLICT_FACTOR, and within CONFLICT_TIE_MARGIN of each other the verdict is unknown.
CONFLICT_FACTOR = 0.7
CONFLICT_TIE_MARGIN = 0.15
# Missing evidence (no hop probes for a server verdict, CPU alone for a device verdict)
# caps the confidence below one half.
MISSING_EVIDENCE_CAP = 0.45
# overall_verdict: an unknown verdict (confidence 0) still casts this much of a vote, so
# a session of mostly undiagnosable stalls is reported as unknown.
UNKNOWN_VOTE = 0.3
# Shortest stall weight in overall_from_stalls (a stall still ongoing has no duration).
MIN_STALL_WEIGHT_S = 0.5

# =========================================================================== wording

# Below this confidence the notice says "probably" / "seems".
SOFT_CONFIDENCE = 0.6
# Below this confidence no one is named: the notice says it could not tell, and the
# evidence says what pointed where (attribution.verdict). 0.3 is a path row's base (0.65-
# 0.8) with more than the bare minimum against it: a swing or rise just over its bar
# (CONF_MARGIN_FLOOR 0.7) without idle samples (CONF_SPREAD_FACTOR 0.85) is 0.39-0.48 with
# full samples, and one more weakening (few samples, a contradicting or isolated hop)
# takes it under 0.3 -- a sentence naming a company on such evidence is stronger than it.
# (Seen: 0.23-0.26 for "the server's network is congested" behind an access policer, on
# a 16 ms wobble of the hops past a 30 ms long haul.)
NAMED_MIN_CONFIDENCE = 0.3
# A sentence naming the link between two networks is firm only from this confidence, the
# same bar as "crowded" inside an ISP (ISP_CROWDED_MIN_CONFIDENCE): the border between the
# networks is read from router names (reverse DNS / RDAP can be off by a hop) and the queue
# may be just past the link, so like "crowded" it is a claim about named companies. 0.7 =
# the interconnect_slow base 0.75 x a quality of 0.93 (full samples, a clear margin, later
# hops confirming); a verdict short of any of these says "seems to".
INTERCONNECT_FIRM_CONFIDENCE = 0.7
# Longest evidence line under the notice (fits one line of a 720p overlay).
SUMMARY_MAX_CHARS = 110

# =========================================================================== "Why?" window

# Confidence in words. At 0.8 the verdict rests on a located queue with enough samples and
# a clear margin (the path rows' base confidence): "fairly sure", never "certain", since a
# hop's reverse-DNS owner can be off by one. From SOFT_CONFIDENCE (where the notice starts
# to say "probably") up to that: "probably". Above zero but below SOFT_CONFIDENCE the
# evidence is thin or contradictory: "not sure". Zero means no segment was named.
CONFIDENCE_FAIRLY_SURE = 0.8
# A hop's loaded round trip counts as "rose under load" in the explanation when it
# exceeds its idle one by the attribution's own thresholds (INFLATION_ABS_MS and
# INFLATION_REL above): the window never calls suspect what attribution would call noise.
# Hop rows shown in the "Why?" table and the statistics panel: a long path (30 hops) is
# cut to its first rows, which hold the home network, the ISP and the interconnect.
EXPLAIN_MAX_HOPS = 30
# Recent downloads listed in the statistics panel's "last segments" table: about half a
# minute of 4-6 s segments, what led up to a stall.
EXPLAIN_LAST_FETCHES = 6

# ================================================================================ notices

# How long the notice stays after a stall ends before it starts to fade. The view fades it
# over ~0.3 s, so it is gone within 3 s of the recovery: long enough to read a one-line
# sentence (~2 s at 250 words a minute), short enough not to cover the video for long.
NOTICE_LINGER_S = 2.5
# The band fades out over this long once the session hides it: a fade reads as "resolved"
# where a cut reads as a glitch, and LINGER + FADE stays within the 3 s the notice may
# outlive the stall.
NOTICE_FADE_S = 0.3
# The band may open at most NOTICE_MAX_PER_WINDOW times in NOTICE_WINDOW_S: five stalls
# in a minute are one problem, and a band popping up five times is a storm that hides the
# video more than the stalls do. Two openings let the viewer see that it happened again.
NOTICE_WINDOW_S = 60.0
NOTICE_MAX_PER_WINDOW = 2
# A rendition step-down this long before a stall (or during it) counts as the player
# adapting to it ("Adjusting video for smoother playback."): ABR decides on the segment
# being fetched, ~2-3 segments (4-10 s) before that segment plays.
STEP_DOWN_RECENT_S = 10.0
# While a stall's verdict is still "unknown" the notice says "Buffering…" for this long
# before it says that we could not tell: path probes need ~1-2 s of loaded samples.
UNKNOWN_PATIENCE_S = 2.0

# ============================================================================== idle gaps

# A deliberate idle gap (player/core/idle_gap.py): once no download of ours is in flight the
# gateway starts no new segment fetch for this long, so the path is probed without our flow
# on it. Two probe rounds fit: one at once and one FAST_INTERVAL_S (0.5 s) later, each
# answered within the prober's 0.45 s timeout, with its 0.1 s pacing tick to spare (below
# MIN_IDLE_SAMPLES_CROWD idle rounds the pacer sends one every tick: up to ~6 per gap).
IDLE_GAP_S = 1.2
# A requested gap waits this long for the downloads in flight to end (nothing is held
# meanwhile), then it is given up: on a link that is barely fast enough a segment takes
# about its own duration to arrive, and 8 s covers 6 s segments with a third to spare.
IDLE_GAP_ARM_S = 8.0
# Only with this many segments in the buffer on top of the gap itself: after a gap the
# next download may be a slow one (the reason the link leaves no idle moment), and three
# segments leave room for two of them taking twice their duration.
IDLE_GAP_BUFFER_SEGMENTS = 3
# ... and never with less than this in the buffer (2 s segments: 3 x 2 = 6 s is thin; the
# ABR's low reservoir is 6 s, a gap must not take the buffer near it).
IDLE_GAP_MIN_BUFFER_S = 8.0
# No gap in the first seconds of playing: the buffer is still being built and the evidence
# from start-up (the pacer's fast rounds) is still coming in.
IDLE_GAP_FIRST_AFTER_S = 10.0
# Gaps at least this far apart (playing time): one gap every ten seconds at most, and
# IDLE_GAP_MAX_SHARE keeps them rarer still.
IDLE_GAP_MIN_INTERVAL_S = 10.0
# Gaps (counting the one asked for) take at most this share of the playing time: 1.2 s in
# 20 s. A link barely fast enough has a few percent to spare, and a gap costs the buffer
# only its own length (the buffer check above); at 6 % the first gap comes after 20 s.
IDLE_GAP_MAX_SHARE = 0.06
# Gaps stop once the pacer has this many idle rounds: the minimum that judges crowding
# while idle (MIN_IDLE_SAMPLES_CROWD); more come from the idle moments playback leaves.
IDLE_GAP_WANTED_ROUNDS = MIN_IDLE_SAMPLES_CROWD
# At most this many gaps per open: a path whose hops never answer or a budget that never
# pays a round gets no idle sample from a ninth gap either.
IDLE_GAP_MAX_COUNT = 8
