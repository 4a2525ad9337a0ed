"""The one rule for what a source is called on screen (title, status line, queue, MPRIS)."""

from __future__ import annotations

from player.session.media import title_for


def test_titles_never_show_credentials() -> None:
    assert title_for("http://bob:pw@h.example/") == "h.example"
    assert title_for("http://bob:pw@h.example:8443/") == "h.example:8443"
    assert title_for("http://bob:pw@h.example/index.m3u8") == "index.m3u8"
    assert title_for("/videos/me@home.mp4") == "me@home.mp4"
    assert "hunter2" not in title_for("http://bob:hunter2@[::1/x")
