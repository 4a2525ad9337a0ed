"""Fixtures for the namespace testbed (root only; everything torn down even on failure)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import start_agent
from .topology import Topology, reference_topology, tools_available

HTTP_PORT = 8080


def _require_testbed() -> None:
    ok, why = tools_available()
    if not ok:
        pytest.skip(why)


@pytest.fixture(scope="module")
def topo_module() -> Iterator[Topology]:
    """The reference topology, built once per test module."""
    _require_testbed()
    topo = reference_topology()
    try:
        topo.build()
        yield topo
    finally:
        topo.teardown()


@pytest.fixture
def topo(topo_module: Topology) -> Iterator[Topology]:
    """The module's topology, with bottlenecks and silent routers removed after the test."""
    try:
        yield topo_module
    finally:
        topo_module.reset()
        topo_module.set_ping_group_range("client", 1, 0)


@pytest.fixture(scope="module")
def http_server(topo_module: Topology) -> str:
    """Base URL of a cubic HTTP server in the server namespace (``/bytes/<n>``)."""
    start_agent(
        topo_module,
        "server",
        "serve",
        "--port",
        str(HTTP_PORT),
        "--cc",
        "cubic",
        "--max-seconds",
        "600",
    )
    return f"http://{topo_module.addr('server')}:{HTTP_PORT}"
