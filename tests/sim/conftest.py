"""Tests in virtual time: async tests run on orbit's SimulationLoop, so sleeps jump.

``@pytest.mark.anyio`` tests here get anyio's asyncio backend on a
:class:`orbit.simulation.SimulationLoop` (virtual clock at 0.0, seed 0) instead of an
ordinary loop; sync tests may call :func:`orbit.simulation.simulate` themselves.
"""

from __future__ import annotations

from typing import Any

import pytest

from orbit.simulation import SimulationLoop


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return "asyncio", {"loop_factory": SimulationLoop}
