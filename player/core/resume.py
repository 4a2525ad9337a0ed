"""When a position is worth offering again: the resume rule (pure).

A position is remembered only where resuming saves the viewer something and the item can
be resumed at all: a known length (files and VOD streams; a live stream has none), a
seekable input, past the first :data:`MIN_POSITION_S` and before the last
:data:`END_MARGIN_S`. Near the end counts as finished: the point is forgotten.
"""

from __future__ import annotations

from enum import Enum

# Starting over costs less than half a minute: not worth a prompt (and a viewer who only
# peeked into a video does not want to be asked about it the next time).
MIN_POSITION_S = 30.0
# The last half-minute is usually credits: stopping there means "done", not "later".
END_MARGIN_S = 30.0


class ResumeAction(Enum):
    REMEMBER = "remember"  # keep this position for the next open
    FORGET = "forget"  # finished (or close enough): drop any remembered position
    KEEP = "keep"  # nothing new worth keeping: leave what is remembered as it is


def resume_action(position_s: float | None, length_s: float | None, seekable: bool) -> ResumeAction:
    """What to do with the position an item is left at (stopped, switched away, quit)."""
    if not length_s or length_s <= 0 or not seekable or position_s is None:
        return ResumeAction.KEEP  # live, not seekable or not started: nothing to resume
    if position_s >= length_s - END_MARGIN_S:
        return ResumeAction.FORGET
    if position_s <= MIN_POSITION_S:
        return ResumeAction.KEEP
    return ResumeAction.REMEMBER
