"""The built-in demo: its media maker and its plain loopback origin with a scripted slowdown.

``Demo`` (``stream.py``) makes the stream once (``media.py``) and serves it with
``ThrottledOrigin`` (``origin.py``). The composition root (``player/app.py``) builds it;
the UI only receives its ``prepare`` callable.
"""

from player.demo.stream import DEFAULT_SCRIPT, SCRIPT_ENV, Demo, parse_script

__all__ = ["DEFAULT_SCRIPT", "SCRIPT_ENV", "Demo", "parse_script"]
