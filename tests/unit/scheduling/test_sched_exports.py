"""orbit.scheduling's public surface: ``__all__`` sorted and complete (httpx style)."""

from __future__ import annotations

import types

import pytest

import orbit.scheduling
import orbit.scheduling.plugins


@pytest.mark.parametrize(
    "module", [orbit.scheduling, orbit.scheduling.plugins], ids=lambda m: m.__name__
)
def test_all_is_sorted_and_complete(module: types.ModuleType) -> None:
    exported = module.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(exported) == public
