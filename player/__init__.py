"""Stallwatch: a video player that names the bottleneck."""

__version__ = "0.1.0"
