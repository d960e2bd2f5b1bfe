"""The public surface: every package's ``__all__`` is sorted and names exactly what the
package exports (httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import orbit
import orbit.admission
import orbit.api
import orbit.autoscaling
import orbit.control
import orbit.controllers
import orbit.metrics
import orbit.net
import orbit.node
import orbit.runtimes
import orbit.scheduling
import orbit.simulation
import orbit.store
import orbit.whatif

FIXED_TOP_LEVEL = {
    "Cluster",
    "load_manifests",
    "dump",
    "parse_quantity",
    "Quantity",
    "OrbitError",
    "ValidationError",
    "NotFound",
    "AlreadyExists",
    "Conflict",
}


PACKAGES = [
    orbit,
    orbit.admission,
    orbit.api,
    orbit.autoscaling,
    orbit.control,
    orbit.controllers,
    orbit.metrics,
    orbit.net,
    orbit.node,
    orbit.runtimes,
    orbit.scheduling,
    orbit.simulation,
    orbit.store,
    orbit.whatif,
]


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_is_sorted_and_complete(module: types.ModuleType) -> None:
    exported = module.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    lazy = getattr(module, "_LAZY", frozenset())
    assert set(exported) == public | lazy
    for name in exported:
        assert getattr(module, name) is not None


def test_names_fixed_by_the_foundation_issue_stay_exported() -> None:
    assert set(orbit.__all__) >= FIXED_TOP_LEVEL
    assert issubclass(orbit.ValidationError, ValueError)
    assert issubclass(orbit.NotFound, LookupError)
    for name in ("ValidationError", "NotFound", "AlreadyExists", "Conflict"):
        assert issubclass(getattr(orbit, name), orbit.OrbitError)


def test_the_docker_runtime_loads_on_first_use_only() -> None:
    """``import orbit`` must not import aiodocker: a process-only user never pays for it."""
    code = (
        "import orbit, sys\n"
        "assert 'aiodocker' not in sys.modules\n"
        "orbit.DockerRuntime\n"
        "assert 'aiodocker' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
