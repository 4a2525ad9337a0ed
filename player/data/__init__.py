"""Package data read at run time (naming table, icons), found with importlib.resources.

Everything the product reads at run time lives here, so ``pip install .``, a wheel and every
package build carry it (a checkout's ``assets/`` holds only README material).
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)  # the PNG sizes desktop environments ask for


def resource(name: str) -> Traversable:
    """A file of the package data by its relative name, e.g. ``"icons/stallwatch-64.png"``."""
    return resources.files(__name__).joinpath(name)


def read_text(name: str) -> str:
    return resource(name).read_text(encoding="utf-8")


def read_bytes(name: str) -> bytes:
    return resource(name).read_bytes()


def icon_name(size: int) -> str:
    return f"icons/stallwatch-{size}.png"
