"""Fixtures for the node agent on ProcessRuntime: a real Cluster running real local
processes, with short backoffs and a state directory per test (removed afterwards)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import orbit
from orbit.node import Node, RestartBackoff

FAST = RestartBackoff(initial_s=0.2, max_s=0.4, reset_after_s=600)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[orbit.Cluster]:
    async with orbit.Cluster(
        nodes=[Node("local")], state_dir=tmp_path / "state", restart_backoff=FAST
    ) as running:
        yield running
