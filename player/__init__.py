"""Stallwatch: a video player that names the bottleneck."""

# The one version source: pyproject.toml reads it (setuptools `attr:`), packaging/ reads it
# through the installed metadata or this attribute, `stallwatch --version` prints it.
__version__ = "0.1.0"

# Reverse-DNS application id (freedesktop/AppStream): the desktop file's and the icon's name,
# the metainfo <id> and QGuiApplication.setDesktopFileName, so the window matches its entry.
APP_ID = "io.github.stallwatch.Stallwatch"
