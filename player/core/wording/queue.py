"""What the viewer reads about the play queue and the resume offer."""

from __future__ import annotations

from player.core.units import fmt_clock

END_OF_QUEUE = "End of the queue."
NOTHING_BEFORE = "This is the first item in the queue."
RESUME = "Resume"
START_OVER = "Start over"
QUEUE_TITLE = "Queue"
EMPTY_QUEUE = "The queue is empty: open or drop several files, or pass them on the command line."


def resume_question(position_s: float) -> str:
    return f"Resume from {fmt_clock(position_s)}?"


def gave_up(seconds: float) -> str:
    return f"No progress for {seconds:.0f} s: playing the next item in the queue."


def skipping(reason: str) -> str:
    """The status line while a failed item's error is shown, before the next one plays."""
    return f"{reason} Playing the next item in the queue…"


def queue_position(index: int, count: int) -> str:
    return f"Item {index + 1} of {count}"
