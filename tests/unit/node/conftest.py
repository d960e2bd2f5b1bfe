"""The node agent's unit tests run on orbit's SimulationLoop: time is virtual, so
backoffs, probe periods and grace periods are asserted exactly and cost nothing."""

from __future__ import annotations

from typing import Any

import pytest

from orbit.simulation import SimulationLoop


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return "asyncio", {"loop_factory": SimulationLoop}
