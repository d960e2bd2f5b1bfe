"""Shared test configuration: anyio's pytest plugin runs async tests on asyncio only."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
