"""Fixtures for the tests against a real Prometheus server (see prometheus_harness).

``prometheus`` starts Debian's ``/usr/bin/prometheus`` on a free loopback port with a
config the test controls, and stops it afterwards. The tests skip only when the binary
is absent (``.ci/run`` installs it: ``apt-get install prometheus``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_harness import PrometheusServer, prometheus_binary


@pytest.fixture
async def prometheus(tmp_path: Path) -> AsyncIterator[PrometheusServer]:
    """A running Prometheus scraping the targets ``set_targets`` lists, every second."""
    if prometheus_binary() is None:
        pytest.skip("Debian's prometheus is not installed (apt-get install prometheus)")
    server = PrometheusServer(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
