"""The resume rule (player/core/resume.py)."""

from __future__ import annotations

import pytest

from player.core.resume import END_MARGIN_S, MIN_POSITION_S, ResumeAction, resume_action


@pytest.mark.parametrize(
    ("position", "length", "seekable", "action"),
    [
        (600.0, 3600.0, True, ResumeAction.REMEMBER),
        (MIN_POSITION_S + 0.1, 3600.0, True, ResumeAction.REMEMBER),
        (MIN_POSITION_S, 3600.0, True, ResumeAction.KEEP),  # only peeked in
        (5.0, 3600.0, True, ResumeAction.KEEP),
        (3600.0 - END_MARGIN_S, 3600.0, True, ResumeAction.FORGET),  # the credits: done
        (3599.0, 3600.0, True, ResumeAction.FORGET),
        (600.0, None, True, ResumeAction.KEEP),  # live: no length
        (600.0, 0.0, True, ResumeAction.KEEP),
        (600.0, 3600.0, False, ResumeAction.KEEP),  # cannot seek there
        (None, 3600.0, True, ResumeAction.KEEP),
        (40.0, 50.0, True, ResumeAction.FORGET),  # short clip: the end margin wins
    ],
)
def test_resume_action(position, length, seekable, action) -> None:  # noqa: ANN001
    assert resume_action(position, length, seekable) is action
