"""ControllerLoop's ``observe`` hook: called once per reconcile with the controller's
name, the time it took and whether it raised; fed to OrbitMetrics it makes the
reconcile histogram and error counter. Runs in virtual time (retries back off)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from metrics_builders import make_pod

from orbit.api import Pod
from orbit.clock import current_clock
from orbit.controllers import ControllerLoop, Key, Watched, own_key
from orbit.controllers._loop import RetryLater
from orbit.errors import Conflict
from orbit.metrics import OrbitMetrics
from orbit.simulation import SimulationLoop
from orbit.store import MemoryStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return "asyncio", {"loop_factory": SimulationLoop}


class Stubborn:
    """Reconciles pods; ``failures[name]`` reconciles of a pod fail first (a RetryLater,
    a Conflict, then any error, in turn), then it succeeds. ``all_done`` is set once
    ``expected`` pods have succeeded."""

    name = "stubborn-controller"

    def __init__(self, failures: dict[str, int], expected: int) -> None:
        self.failures = failures
        self.expected = expected
        self.done: list[str] = []
        self.all_done = anyio.Event()

    @property
    def watches(self) -> Sequence[Watched]:
        return (Watched(Pod, own_key),)

    def reconcile(self, key: Key) -> float | None:
        name = key[1]
        left = self.failures.get(name, 0)
        if left:
            self.failures[name] = left - 1
            errors = (RetryLater("quota"), Conflict("Pod", name, expected="1", actual="2"))
            raise (errors[left % 2] if left <= 2 else RuntimeError("boom"))
        self.done.append(name)
        if len(self.done) == self.expected:
            self.all_done.set()
        return None


async def run(reconciler: Stubborn, store: MemoryStore, *, observe: Any) -> int:
    """Run the loop until every pod is done; returns how many reconciles ran."""
    loop = ControllerLoop(store, current_clock(), reconciler, observe=observe)
    async with anyio.create_task_group() as group:
        await group.start(loop.run)
        with anyio.fail_after(600):
            await reconciler.all_done.wait()
        group.cancel_scope.cancel()
    return loop.reconciles


async def test_the_observer_sees_every_reconcile_and_every_failure() -> None:
    store = MemoryStore()
    for name in ("calm", "flaky", "wild"):
        store.create(make_pod(name))
    seen: list[tuple[str, float, bool]] = []
    reconciler = Stubborn({"flaky": 2, "wild": 3}, expected=3)
    reconciles = await run(reconciler, store, observe=lambda *args: seen.append(args))
    assert reconciles == len(seen) == 1 + 3 + 4
    assert {name for name, _, _ in seen} == {"stubborn-controller"}
    assert sum(failed for _, _, failed in seen) == 5
    assert all(seconds >= 0 for _, seconds, _ in seen)
    assert sorted(reconciler.done) == ["calm", "flaky", "wild"]


async def test_orbit_metrics_counts_reconciles_and_errors_per_controller() -> None:
    store = MemoryStore()
    for name in ("a", "b"):
        store.create(make_pod(name))
    metrics = OrbitMetrics(store)
    await run(Stubborn({"b": 2}, expected=2), store, observe=metrics.observe_reconcile)
    labels = {"controller": "stubborn-controller"}
    value = metrics.registry.get_sample_value
    assert value("orbit_controller_reconcile_duration_seconds_count", labels) == 4
    assert value("orbit_controller_reconcile_errors_total", labels) == 2


async def test_without_an_observer_the_loop_runs_as_before() -> None:
    store = MemoryStore()
    store.create(make_pod("a"))
    reconciler = Stubborn({"a": 1}, expected=1)
    assert await run(reconciler, store, observe=None) == 2
    assert reconciler.done == ["a"]
